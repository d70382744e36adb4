"""Hostile input on every page, form and API list: never a server error, never a Python message (issue 13, item 4).

Bad input is a field error, a clamped value (a page past the end shows the last page) or a 400/404, and the
answer never shows Python's own words ("invalid literal for int()", a traceback, an exception's name).

The routes come from walking the URL conf, so a new page is fuzzed without being listed here; a parameterised
route needs an entry in ``ROUTE_KWARGS`` (a test fails until it has one). Objects are the write-endpoint
``Scenario``'s (tests/test_write_endpoints.py), built through the real services; the forms posted are that
file's page ``ENDPOINTS`` with their valid payloads, each field in turn replaced by junk, dropped, or joined
by fields the form does not have.

Bounded: each request list is drawn from all the hostile cases by a seeded ``random.Random``, so every run sends
the same requests (about 2,000 in all, well under a minute on SQLite). A failure lists every bad answer with
the request that caused it, and the exception for a 500.
"""
from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import get_resolver, resolve, reverse
from rest_framework.test import APIClient

from portal.gitops import services as gitops_services
from portal.gitops.forms import BulkDecisionForm, DecisionForm
from portal.gitops.views import ApprovalQueueView, ChangeSetActionView
from portal.gitops.models import Approval, Environment
from portal.models import AuditEvent
from portal.views.pages import TeamMemberForm, TeamMemberView
from tests.test_write_endpoints import (  # noqa: F401 (fixtures: the scenario, and the fake Grafana on loopback allowed)
    ENDPOINTS, PRIVATE, Prepared, Scenario, _grafana_on_loopback_allowed, _walk, scenario,
)
from van.forms import AppVersionForm, RuleForm
from van.views import AppVersionView, RuleEditView

pytestmark = pytest.mark.django_db

# Fixed, so CI sends the same requests every run; WAYLINE_FUZZ_SEED=<n> explores others.
SEED = int(os.environ.get("WAYLINE_FUZZ_SEED", "13"))
SKIPPED_PREFIXES = ("admin/",)  # Django's admin: its own forms, staff only

# --- what is sent ---------------------------------------------------------------------------------

LONG_WORD = "w" * 10_000
HUGE = "99999999999999999999999"
NUMBERS = ["abc", "-1", "0", HUGE, "1e9", "2147483648", "9223372036854775808", "-9223372036854775809", "1.5", "NaN", "٣"]
TEXTS = ["", " ", LONG_WORD, "\x00", "a\x00b", "ünïcødé ☃ 𝔘𝔫𝔦", "\u202e\u200bx", "' OR 1=1 --", "%_%\\", "../../etc/passwd",
         "<script>alert(1)</script>", '{"a": [1, {"b": null}]}', "[" * 2000, "null", "on"]
LISTS = [["a", "b"], ["1", "abc"], ["", HUGE]]
JUNK = [*NUMBERS, *TEXTS, *LISTS]
SORTS = ["junk", "-", "--name", "name,kind", "-password", "pk__in", "__class__", "document__data", LONG_WORD, "ünï"]
PAGE_PARAMS = ("page", "per_page", "page_size")
SORT_PARAMS = ("sort", "order", "ordering")
# Read by one page or another: a repository's history (path, page), a status partial (detail), CSV export.
OTHER_PARAMS = ("q", "path", "detail", "export")
API_PARAMS = ("limit", "offset", "cursor", "filter", "fields", "orderField", "facet", "fullTextFilterTerm",
              "fullTextFilterFields", "totalItems", "source_ref", "type", "target_ref")
EXTRA_FIELDS = {"id": HUGE, "pk": "-1", "owner": "admin", "is_superuser": "on", "csrfmiddlewaretoken": "x", "__class__": "x"}

# Python's words, which must never reach a user (a 500 page in production says none of them either).
PYTHON_WORDS = re.compile(
    r"Traceback|invalid literal|ValueError|KeyError|TypeError|AttributeError|IndexError|OverflowError|"
    r"\bException\b|<module>|IntegrityError|OperationalError|DataError|DoesNotExist|NoneType|"
    r"object has no attribute|site-packages|File \"/"
)


# --- objects for parameterised routes -------------------------------------------------------------


def _entity(s: Scenario) -> dict:
    entity = s.entity(PRIVATE)
    return {"kind": entity.kind.lower(), "namespace": entity.namespace, "name": entity.name}


def _approval(s: Scenario) -> Approval:
    """A decision (a rejection of the raw Prod change by its approver), for the approvals API."""
    def build():
        cs = s.awaiting_change()
        return gitops_services.changeset_reject(actor=s.approver, changeset=cs, comment="no", revision=cs.revision)
    return s._once("approval", build)


# URL name -> the kwargs of a real object of the private (payments) variant, which both fuzzing users see.
def _pin(s: Scenario) -> dict:
    """A dashboard pin on the private app (made directly: the fuzz needs no Grafana to post junk at unpin)."""
    from django.contrib.contenttypes.models import ContentType

    from addons.models import DashboardPin

    app = s.app(PRIVATE)
    pin, _ = DashboardPin.objects.get_or_create(van=s.van(PRIVATE), target_type=ContentType.objects.get_for_model(app),
                                                target_id=app.pk, uid="fuzz", defaults={"title": "Fuzz", "path": "/d/fuzz/fuzz"})
    return {"pin_pk": pin.pk}


ROUTE_KWARGS = {
    "addons:grafana_settings": lambda s: {"pk": s.van(PRIVATE).pk},
    "addons:van_addons": lambda s: {"pk": s.van(PRIVATE).pk},
    "addons:addon_enable": lambda s: {"pk": s.addon_off(PRIVATE).pk},
    "addons:addon_disable": lambda s: {"pk": s.addon(PRIVATE).pk},
    "addons:addon_settings": lambda s: {"pk": s.addon(PRIVATE).pk},
    "addons:van_addon_add": lambda s: {"pk": s.van(PRIVATE).pk, "slug": "crossplane"},
    "addons:custom_addon_upgrade": lambda s: {"slug": s.custom_addon().slug},
    "addons:van_claims": lambda s: {"pk": s.van(PRIVATE).pk},
    "addons:claim_edit": lambda s: {"pk": s.claim(PRIVATE).pk},
    "addons:app_pipeline": lambda s: {"pk": s.ci_app(PRIVATE).pk},
    "addons:pipeline_delete": lambda s: {"pk": s.pipeline(PRIVATE).pk},
    "addons:pipeline_secrets_rotate": lambda s: {"pk": s.pipeline(PRIVATE).pk},
    "ci-pipeline-detail": lambda s: {"pk": s.pipeline(PRIVATE).pk},
    "scaffolder-parameter-schema": lambda s: {"namespace": "default", "kind": "Template", "name": "no-such-template"},
    "addons:claim_delete": lambda s: {"pk": s.claim(PRIVATE).pk},
    "claim-detail": lambda s: {"pk": s.claim(PRIVATE).pk},
    "sealed-secret-detail": lambda s: {"pk": s.sealed_secret(PRIVATE).pk},
    "addon-installation-seal": lambda s: {"pk": s.sealing_addon(PRIVATE).pk},
    "addons:secret_seal": lambda s: {"pk": s.van(PRIVATE).addons.get(slug="sealed-secrets").pk},
    "addon-detail": lambda s: {"slug": "grafana"},
    "custom-addon-detail": lambda s: {"pk": s.custom_addon().pk},
    "addon-installation-detail": lambda s: {"pk": s.addon(PRIVATE).pk},
    "addon-installation-enable": lambda s: {"pk": s.addon_off(PRIVATE).pk},
    "addon-installation-disable": lambda s: {"pk": s.addon(PRIVATE).pk},
    "addons:dashboard_pick": lambda s: {"kind": "app", "pk": s.app(PRIVATE).pk},
    "addons:dashboard_pin": lambda s: {"kind": "app", "pk": s.app(PRIVATE).pk},
    "addons:dashboard_unpin": _pin,
    "portal:team": lambda s: {"slug": s.payments.slug},
    "portal:team_edit": lambda s: {"slug": s.payments.slug},
    "portal:team_members": lambda s: {"slug": s.payments.slug},
    "catalog:location": lambda s: {"pk": s.location(PRIVATE).pk},
    "catalog:template_run": lambda s: {"namespace": "default", "name": s.scaffolder_template().rsplit("/", 1)[1]},
    "catalog:run": lambda s: {"uid": s.run(PRIVATE).uid},
    "catalog:run_cancel": lambda s: {"uid": s.run(PRIVATE).uid},
    "catalog:run_retry": lambda s: {"uid": s.failed_run(PRIVATE).uid},
    "scaffolder-task": lambda s: {"task_id": str(s.run(PRIVATE).uid)},
    "scaffolder-task-cancel": lambda s: {"task_id": str(s.run(PRIVATE).uid)},
    "scaffolder-task-retry": lambda s: {"task_id": str(s.failed_run(PRIVATE).uid)},
    "scaffolder-task-events": lambda s: {"task_id": str(s.run(PRIVATE).uid)},
    "scaffolder-task-eventstream": lambda s: {"task_id": str(s.run(PRIVATE).uid)},
    "catalog:location_refresh": lambda s: {"pk": s.location(PRIVATE).pk},
    "catalog:location_delete": lambda s: {"pk": s.location(PRIVATE).pk},
    "catalog:entity_edit": lambda s: {"pk": s.entity(PRIVATE).pk},
    "catalog:entity": _entity,
    "catalog:entity_status": _entity,
    "catalog:entity_dashboards": _entity,
    "catalog:entity_workloads": _entity,
    "van:van": lambda s: {"pk": s.van(PRIVATE).pk},
    "van:van_edit": lambda s: {"pk": s.van(PRIVATE).pk},
    "van:van_status": lambda s: {"pk": s.van(PRIVATE).pk},
    "van:rule_add": lambda s: {"van_pk": s.van(PRIVATE).pk},
    "van:cluster": lambda s: {"pk": s.van(PRIVATE).clusters.get(role="hub").pk},
    "van:cluster_status": lambda s: {"pk": s.van(PRIVATE).clusters.get(role="hub").pk},
    "van:cluster_edit": lambda s: {"pk": s.van(PRIVATE).clusters.get(role="hub").pk},
    "van:app": lambda s: {"pk": s.app(PRIVATE).pk},
    "van:app_status": lambda s: {"pk": s.app(PRIVATE).pk},
    "van:app_edit": lambda s: {"pk": s.app(PRIVATE).pk},
    "van:app_version": lambda s: {"pk": s.app(PRIVATE).pk},
    "van:app_rollback": lambda s: {"pk": s.app(PRIVATE).pk, "release_pk": s.app(PRIVATE).releases.first().pk},
    "van:rule": lambda s: {"pk": s.rule(PRIVATE).pk},
    "van:rule_edit": lambda s: {"pk": s.rule(PRIVATE).pk},
    "gitops:repo": lambda s: {"pk": s.gitops_repo().pk},
    "gitops:repo_edit": lambda s: {"pk": s.gitops_repo().pk},
    "gitops:repo_sync": lambda s: {"pk": s.gitops_repo().pk},
    "gitops:repo_sync_status": lambda s: {"pk": s.gitops_repo().pk},
    "gitops:commit": lambda s: {"pk": s.gitops_repo().pk, "sha": s.applied_change().commit_sha},
    "gitops:changeset": lambda s: {"pk": s.applied_change().pk},
    "gitops:changeset_status": lambda s: {"pk": s.applied_change().pk},
    "gitops:changeset_approve": lambda s: {"pk": s.owned_awaiting_change().pk},
    "gitops:changeset_reject": lambda s: {"pk": s.owned_awaiting_change().pk},
    "gitops:changeset_revert": lambda s: {"pk": s.applied_change().pk},
    "gitops:changeset_retry": lambda s: {"pk": s.failed_change().pk},
    "gitops:managedfile": lambda s: {"pk": s.drifted_file().pk},
    "gitops:managedfile_adopt": lambda s: {"pk": s.drifted_file().pk},
    "gitops:managedfile_restore": lambda s: {"pk": s.drifted_file().pk},
    # The API.
    "team-detail": lambda s: {"slug": s.payments.slug},
    "team-members": lambda s: {"slug": s.payments.slug},
    "auditevent-detail": lambda s: {"pk": AuditEvent.objects.filter(team=s.payments).latest("pk").pk},
    "entity-detail": lambda s: {"uid": s.entity(PRIVATE).uid},
    "location-detail": lambda s: {"pk": s.location(PRIVATE).pk},
    "location-errors": lambda s: {"pk": s.location(PRIVATE).pk},
    "location-refresh": lambda s: {"pk": s.location(PRIVATE).pk},
    "van-detail": lambda s: {"pk": s.van(PRIVATE).pk},
    "van-placement": lambda s: {"pk": s.van(PRIVATE).pk},
    "cluster-detail": lambda s: {"pk": s.cluster(PRIVATE).pk},
    "app-detail": lambda s: {"pk": s.app(PRIVATE).pk},
    "app-releases": lambda s: {"pk": s.app(PRIVATE).pk},
    "app-version": lambda s: {"pk": s.app(PRIVATE).pk},
    "app-rollback": lambda s: {"pk": s.app(PRIVATE).pk, "release_pk": s.app(PRIVATE).releases.first().pk},
    "rule-detail": lambda s: {"pk": s.rule(PRIVATE).pk},
    "gitopsrepo-detail": lambda s: {"pk": s.gitops_repo().pk},
    "gitopsrepo-history": lambda s: {"pk": s.gitops_repo().pk},
    "changeset-detail": lambda s: {"pk": s.applied_change().pk},
    "changeset-diff": lambda s: {"pk": s.applied_change().pk},
    "changeset-approve": lambda s: {"pk": s.owned_awaiting_change().pk},
    "changeset-reject": lambda s: {"pk": s.owned_awaiting_change().pk},
    "changeset-revert": lambda s: {"pk": s.applied_change().pk},
    "changeset-retry": lambda s: {"pk": s.failed_change().pk},
    "environment-detail": lambda s: {"pk": Environment.objects.get(slug="prod").pk},
    "approval-detail": lambda s: {"pk": _approval(s).pk},
    "backstage-entity-by-uid": lambda s: {"uid": s.entity(PRIVATE).uid},
    "backstage-entity-by-name": _entity,
    "backstage-entity-ancestry": _entity,
    "backstage-location-by-entity": _entity,
    "backstage-location": lambda s: {"pk": str(s.location(PRIVATE).pk)},
}

# Views that parse a form without a ``form_class`` attribute.
FORMS = {RuleEditView: RuleForm, TeamMemberView: TeamMemberForm, AppVersionView: AppVersionForm,
         ChangeSetActionView: DecisionForm, ApprovalQueueView: BulkDecisionForm}


# --- the routes -----------------------------------------------------------------------------------


@dataclass
class Route:
    route: str
    name: str
    view: object  # the view class (None for a function view)
    callback: object

    @property
    def api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def parameterised(self) -> bool:
        return "<" in self.route

    def answers_get(self) -> bool:
        actions = getattr(self.callback, "actions", None)
        if actions is not None:
            return "get" in actions
        if self.view is not None:
            return "get" in self.view.http_method_names and hasattr(self.view, "get")
        return True  # a function view: its methods cannot be read

    def filters(self) -> list[str]:
        filterset = getattr(self.view, "filterset_class", None)
        return list(filterset.base_filters) if filterset is not None else []


def routes() -> list[Route]:
    """Every named route of the URL conf once, without format-suffix duplicates (``.json``)."""
    found, seen = [], set()
    for route, name, callback in _walk(get_resolver().url_patterns):
        if route.startswith(SKIPPED_PREFIXES) or "format" in route or name in seen:
            continue
        seen.add(name)
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        found.append(Route(route, name, view, callback))
    return found


def route_url(route: Route, s: Scenario, **override) -> str:
    kwargs = ROUTE_KWARGS[route.name](s) if route.parameterised else {}
    return reverse(route.name, kwargs={**kwargs, **override})


# --- sending and judging --------------------------------------------------------------------------


@dataclass
class Findings:
    """Bad answers, collected so that one run reports all of them."""

    bad: list[str] = field(default_factory=list)
    sent: int = 0

    def judge(self, label: str, response) -> None:
        self.sent += 1
        if response.status_code >= 500 and response.status_code != 503:
            exc = getattr(response, "exc_info", None)
            self.bad.append(f"{label}: {response.status_code} {exc[1]!r}" if exc else f"{label}: {response.status_code}")
            return
        body = b"".join(response.streaming_content) if response.streaming else response.content
        match = PYTHON_WORDS.search(body.decode("utf-8", "replace"))
        if match:
            text = body.decode("utf-8", "replace")
            self.bad.append(f"{label}: {response.status_code} shows {match.group()!r}: "
                            f"...{text[max(0, match.start() - 150): match.end() + 150]}...")

    def check(self) -> None:
        assert not self.bad, f"{len(self.bad)} of {self.sent} hostile requests answered badly:\n" + "\n".join(self.bad[:40])


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...({len(text)} chars)"


def clients(s: Scenario, names, *, api=False) -> dict[str, Client]:
    made = {}
    for name in names:
        client = APIClient(raise_request_exception=False) if api else Client(raise_request_exception=False)
        client.force_login(s.user(name))
        made[name] = client
    return made


# --- pages: GET -----------------------------------------------------------------------------------


def _junk(rng: random.Random, pool=None, *, nul=False):
    """One hostile value (NUL only when asked: the middleware answers it before any view reads anything)."""
    pool = pool or JUNK
    return rng.choice([v for v in pool if nul or not (isinstance(v, str) and "\x00" in v)])


def combined(rng: random.Random, names) -> dict:
    """Junk in every one of ``names`` at once: paging, sorting and the odd parameters are read independently."""
    pools = {**{n: NUMBERS + LISTS for n in PAGE_PARAMS}, **{n: SORTS for n in SORT_PARAMS},
             "export": ["csv", "csv", *TEXTS], "detail": ["1", *TEXTS]}
    return {name: _junk(rng, pools.get(name)) for name in names}


def page_get_cases(route: Route, rng: random.Random) -> list[dict]:
    """Hostile query strings for one page: the confirmed cases, junk everywhere at once, then each filter alone."""
    cases = [{"page": HUGE, "per_page": HUGE, "sort": "junk", "order": "junk", "ordering": "junk"},
             {"page": "abc", "per_page": "-1", "page_size": "0", "sort": "--name"},
             *(combined(rng, (*PAGE_PARAMS, *SORT_PARAMS, *OTHER_PARAMS)) for _ in range(2))]
    for name in route.filters():
        cases += [{name: _junk(rng), "page": _junk(rng, NUMBERS)}, {name: _junk(rng, TEXTS + LISTS)}]
    return cases


def test_every_parameterised_route_has_objects():
    """A new route with URL parameters needs real objects to be fuzzed: add it to ``ROUTE_KWARGS``."""
    missing = [f"{r.route} ({r.name})" for r in routes() if r.parameterised and r.name not in ROUTE_KWARGS]
    assert not missing, "parameterised routes with no entry in ROUTE_KWARGS:\n" + "\n".join(missing)


def test_pages_survive_hostile_query_strings(scenario):
    """Every page that answers GET, with hostile paging, sorting and filter values, as an admin and a member."""
    rng, findings = random.Random(SEED), Findings()
    users = clients(scenario, ("admin", "alice"))
    pages = [r for r in routes() if not r.api and r.answers_get()]
    assert len(pages) > 25, "the URL conf walker found too few pages"
    for route in pages:
        url = route_url(route, scenario)
        for who, client in users.items():
            for params in page_get_cases(route, rng):
                htmx = {"HTTP_HX_REQUEST": "true"} if rng.random() < 0.3 else {}
                findings.judge(f"{who} GET {url} {_short(params)}{' (htmx)' if htmx else ''}", client.get(url, params, **htmx))
        findings.judge(f"admin GET {url} with NUL", users["admin"].get(url, {"page": "1\x00", "q": "\x00"}))
        if "<int:" in route.route:  # an integer beyond 64 bits in the path
            kwargs = {key: HUGE for key in ROUTE_KWARGS[route.name](scenario) if key.endswith("pk")}
            findings.judge(f"admin GET {route.route} with {HUGE}", users["admin"].get(route_url(route, scenario, **kwargs)))
    findings.check()


def test_list_pages_clamp_the_page(scenario):
    """The confirmed cases: a page past the end is the last page, anything else that is no page number the first."""
    client = clients(scenario, ("admin",))["admin"]
    scenario.entity(PRIVATE)
    scenario.grow("cluster", 3)
    for url in (reverse("catalog:entity_list"), reverse("catalog:template_list"), reverse("van:cluster_list")):
        for page in (HUGE, "2147483648", "-1", "0", "abc", "1e9", "٣", ""):
            response = client.get(url, {"page": page, "per_page": page})
            assert response.status_code == 200, (url, page, response.status_code)
    html = client.get(reverse("van:cluster_list"), {"per_page": "2", "page": HUGE}).content.decode()
    assert "Page 2 of 2" in html  # 4 clusters, 2 a page: the last page
    assert "Page 1 of 2" in client.get(reverse("van:cluster_list"), {"per_page": "2", "page": "abc"}).content.decode()
    scenario.grow("entity", 26)
    html = client.get(reverse("catalog:entity_list"), {"page": HUGE}).content.decode()
    assert "Page 2 of 2" in html and "grow-component" in html


# --- pages: POST ----------------------------------------------------------------------------------

# Forms posted outside the write-endpoint registry (signing in, the team switcher, the token rotation).
EXTRA_FORMS = [
    ("login", {"username": "alice", "password": "pw-Wayline-123"}),
    ("portal:switch_team", {"team": "payments", "next": "/"}),
    ("portal:profile", {}),
]


def form_fields(view, payload: dict) -> list[str]:
    form_class = getattr(view, "form_class", None) or FORMS.get(view)
    names = set(payload) | set(getattr(form_class, "base_fields", {}))
    return sorted(names - {"_preview"})


def post_cases(fields: list[str], payload: dict, rng: random.Random) -> list[tuple[str, dict]]:
    """Each field replaced by junk or dropped, then the whole form: empty, with fields it lacks, all junk."""
    cases = []
    for name in fields:
        for _ in range(2):
            if rng.random() < 0.2:
                cases.append((f"{name} missing", {k: v for k, v in payload.items() if k != name}))
            else:
                value = _junk(rng)
                cases.append((f"{name}={_short(value)}", {**payload, name: value}))
    keep = {k: v for k, v in payload.items() if k == "_preview"}
    cases += [("empty", keep), ("extra fields", {**payload, **EXTRA_FIELDS}),
              ("all junk", {**keep, **{name: _junk(rng) for name in fields}}),
              ("NUL", {**payload, (fields or ["x"])[0]: "a\x00b"})]
    return cases


def test_forms_survive_hostile_posts(scenario):
    """Every page form, each field in turn junk or missing, as a platform admin and a member of the owning team
    (and as the user the form is for, when that is someone else: an approver). Each field goes to one of them."""
    rng, findings = random.Random(SEED), Findings()
    pages = sorted((e for e in ENDPOINTS if e.kind == "page"), key=lambda e: "delete" in e.id)  # deletions last
    users = clients(scenario, {"admin", "alice", *(e.rule.permitted[0] for e in pages)})
    for endpoint in pages:
        variant = endpoint.rule.permitted[1]
        prepared = Prepared(endpoint, scenario, {variant})
        url, payload = prepared.urls[variant], prepared.payloads[variant]
        view = resolve_view(url)
        fields = form_fields(view, payload)
        htmx = {"HTTP_HX_REQUEST": "true"} if endpoint.htmx else {}
        who = sorted({"admin", "alice", endpoint.rule.permitted[0]})
        for index, (label, data) in enumerate(post_cases(fields, payload, rng)):
            name = who[index % len(who)]
            findings.judge(f"{name} POST {endpoint.id} {label}", users[name].post(url, data, **htmx))
    anonymous = Client(raise_request_exception=False)
    for name, payload in EXTRA_FORMS:
        url = reverse(name)
        for label, data in post_cases(sorted(payload), payload, rng):
            for who, client in (("anonymous", anonymous), ("alice", users["alice"])):
                findings.judge(f"{who} POST {name} {label}", client.post(url, data))
    findings.check()


def resolve_view(url: str):
    return getattr(resolve(url).func, "view_class", None)


# --- the API --------------------------------------------------------------------------------------


def api_cases(route: Route, rng: random.Random) -> list[dict]:
    names = (*PAGE_PARAMS, *SORT_PARAMS, *API_PARAMS, "q", "path")
    cases = [{"page": HUGE, "page_size": HUGE, "ordering": "junk", "limit": HUGE, "offset": HUGE},
             {"page": "abc", "page_size": "-1", "limit": "-1", "offset": "abc", "cursor": "junk", "filter": "kind="},
             {"page": "0", "page_size": "0", "filter": ["=", "metadata.name", "relations.", "a=b=c", LONG_WORD],
              "orderField": ["x,desc", "metadata.name,sideways"], "fields": ["", "..", "metadata."]},
             combined(rng, names)]
    filters = route.filters()
    for name in filters:
        cases.append({name: _junk(rng), "page": _junk(rng, NUMBERS)})
    return cases


def test_api_survives_hostile_query_strings(scenario):
    """Every API route that answers GET (lists and objects, Backstage's too): hostile paging, ordering and filters."""
    rng, findings = random.Random(SEED), Findings()
    users = clients(scenario, ("admin", "alice"), api=True)
    api = [r for r in routes() if r.api and r.answers_get()]
    assert len(api) > 20, "the URL conf walker found too few API routes"
    for route in api:
        url = route_url(route, scenario)
        if route.name == "schema":  # generated on every call: a second or so; one hostile call says enough
            findings.judge(f"admin GET {url}", users["admin"].get(url, {"format": "junk", "lang": LONG_WORD}))
            continue
        for who, client in users.items():
            for params in api_cases(route, rng):
                findings.judge(f"{who} GET {url} {_short(params)}", client.get(url, params))
        if route.parameterised:
            kwargs = {key: HUGE for key in ROUTE_KWARGS[route.name](scenario) if key in ("pk", "release_pk", "uid")}
            if kwargs:
                findings.judge(f"admin GET {route.name} with {HUGE}", users["admin"].get(route_url(route, scenario, **kwargs)))
    findings.check()


JSON_JUNK = [10 ** 23, -1, 2 ** 63, 1e308, "abc", HUGE, LONG_WORD, "", None, True, [], {}, ["a", 1], {"a": {"b": []}},
             "ünïcødé ☃", "[" * 2000]


def test_api_writes_survive_hostile_bodies(scenario):
    """Every API write with a JSON body (the registry's), each field in turn junk, then a body of the wrong shape."""
    rng, findings = random.Random(SEED), Findings()
    writes = [e for e in ENDPOINTS if e.kind == "api" and e.method in ("POST", "PUT", "PATCH")]
    users = clients(scenario, {"admin", "alice", *(e.rule.permitted[0] for e in writes)}, api=True)
    for endpoint in writes:
        variant = endpoint.rule.permitted[1]
        prepared = Prepared(endpoint, scenario, {variant})
        url, payload = prepared.urls[variant], prepared.payloads[variant]
        who = sorted({"admin", "alice", endpoint.rule.permitted[0]})
        cases = [(f"{name}={_short(value)}", {**payload, name: value})
                 for name in sorted(payload) for value in (rng.choice(JSON_JUNK),)]
        cases += [("empty", {}), ("extra fields", {**payload, **EXTRA_FIELDS}), ("a list", [payload]), ("a number", HUGE),
                  ("all junk", {name: rng.choice(JSON_JUNK) for name in payload})]
        send = getattr(APIClient, endpoint.method.lower())
        for index, (label, body) in enumerate(cases):
            name = who[index % len(who)]
            findings.judge(f"{name} {endpoint.method} {endpoint.id} {label}", send(users[name], url, body, format="json"))
    findings.check()
