"""Browser test: every page holds its shape, for every demo user, on a laptop and on a phone.

The demo data (``manage.py demo``) plus the worst text users type: a 10,000-character word in a team
description, a change set's message and file, and a reject comment. Each user visits every page the URL
conf has (parameterless pages, and one object of each kind for the others) at 1366x900 and 390x844; a
page wider than the window (``document.documentElement.scrollWidth``) fails the test, naming the elements
that stick out, and so does a table that does not fit its box at 1366px. Wide content (a table on a phone,
diffs, code) scrolls inside its own box, never the page.

Screenshots go to a temporary directory, or to ``$WAYLINE_SHAPE_SHOTS`` when set (to look at them).
"""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.urls import URLResolver, get_resolver, reverse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG_WORD = "Unbreakable" * 909 + "X"  # 10,000 characters without a space
# name, width, height, whether every table must fit without scrolling (on a phone a table may scroll in its box)
VIEWPORTS = (("desktop", 1366, 900, True), ("phone", 390, 844, False))
NAMESPACES = ("portal", "catalog", "van", "addons", "gitops")
# Routes that answer GET but are no page of their own; POST-only views are found by the walker itself.
NOT_PAGES = {
    "portal:switch_team": "POST only (the team switcher)",
    "gitops:repo_sync_status": "an htmx partial the repository page polls",
    "gitops:changeset_status": "an htmx partial the change set page polls",
    "van:app_status": "an htmx partial the app page polls (checked inside the app page)",
    "van:cluster_status": "an htmx partial the cluster page polls (checked inside the cluster page)",
    "van:van_status": "an htmx partial the VAN page polls (checked inside the VAN page)",
    "catalog:entity_status": "an htmx partial the entity page polls (checked inside the entity page)",
    "catalog:entity_dashboards": "an htmx partial the entity page loads (checked inside the entity page)",
    "catalog:entity_workloads": "an htmx partial the entity page loads (checked inside the entity page)",
}
EXTRA_PAGES = ("api-docs", "api-redoc")  # linked from the footer; the same for everyone, so checked as the first user

# What sticks out: past the window (the leaves, so the message names the culprit), and with ``tables``
# (on a laptop) any table wider than the box it sits in, which would have to scroll sideways.
OVERFLOW = """(tables) => {
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.classList.length ? "." + [...el.classList].join(".") : "");
  const describe = (el) => `${el.parentElement ? name(el.parentElement) + " > " : ""}${name(el)} ` +
    `(right ${Math.round(el.getBoundingClientRect().right)}px: ${(el.textContent || "").trim().slice(0, 40)})`;
  const problems = [];
  const limit = window.innerWidth + 1;
  const width = document.documentElement.scrollWidth;
  if (width > limit) {
    const out = [...document.body.querySelectorAll("*")].filter((el) => el.getBoundingClientRect().right > limit);
    const leaves = out.filter((el) => !out.some((other) => other !== el && el.contains(other)));
    problems.push(`the page is ${width}px wide: ` + leaves.slice(0, 4).map(describe).join("; "));
  }
  if (tables) {
    for (const table of document.querySelectorAll("main table")) {
      const box = table.parentElement;
      if (table.offsetWidth > box.clientWidth + 1) {
        problems.push(`a table is ${table.offsetWidth}px wide in ${box.clientWidth}px: ${describe(table)}`);
      }
    }
  }
  return problems;
}"""


def _routes():
    """(namespaced name, URL pattern) of every named route of the portal's apps."""
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name and namespace in NAMESPACES:
                yield f"{namespace}:{pattern.name}", pattern
    return list(walk(get_resolver().url_patterns))


def _answers_get(pattern) -> bool:
    view_class = getattr(pattern.callback, "view_class", None)
    return view_class is not None and hasattr(view_class, "get")


def _demo_with_long_words(tmp_path, settings):
    """The demo seed, then a 10,000-character word where users type free text."""
    from portal import services as portal_services
    from portal.gitops import services as gitops_services
    from portal.models import Team

    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    settings.SCAFFOLDER_REPOS_DIR = tmp_path / "repos"
    settings.SCAFFOLDER_WORKSPACES_DIR = tmp_path / "workspaces"
    call_command("demo", "--no-serve", stdout=io.StringIO())
    User = get_user_model()
    admin, pat = User.objects.get(username="admin"), User.objects.get(username="pat")
    payments = Team.objects.get(slug="payments")
    portal_services.team_update(actor=admin, team=payments, name=payments.name, description=LONG_WORD, email=payments.email)
    change = gitops_services.propose_change(actor=admin, owner=None, message=f"Raw change {LONG_WORD}",
                                            files_to_write={"raw/long-line.yaml": f"note: {LONG_WORD}\n"})
    change.refresh_from_db()
    assert change.status == "awaiting_approval", (change.status, change.error)
    gitops_services.changeset_reject(actor=pat, changeset=change, comment=LONG_WORD, revision=change.revision)
    return change


def _scaffolder_run():
    """Alice's run of the static-site golden path, its free-text title a long word, carried to its end."""
    from catalog.scaffolder.runs import run_create, run_execute

    alice = get_user_model().objects.get(username="alice")
    run = run_create(actor=alice, template_ref="template:default/static-site",
                     values={"name": "long-words-site", "title": LONG_WORD, "owner": "group:default/payments",
                             "namespace": "payments", "image": "registry.example.net/payments/site"})
    run_execute(run.pk)  # a no-op where an eager worker already ran it
    run.refresh_from_db()
    assert run.state == "completed", (run.state, list(run.events.values_list("body", flat=True)))
    return run


def _objects(rejected):
    """One object of each kind (two change sets: the demo's largest diff and the rejected one)."""
    from catalog.models import Entity, Location
    from portal.gitops.models import ChangeSet, GitOpsRepo, ManagedFile
    from van.models import App, DistributionRule, Van

    largest = max(ChangeSet.objects.exclude(commit_sha=""), key=lambda cs: cs.files.count())
    entity = Entity.objects.filter(kind="Component").order_by("name").first()
    drifted = next((mf for mf in ManagedFile.objects.order_by("pk") if mf.edited_outside), ManagedFile.objects.first())
    van = Van.objects.get(name="demo")
    cluster = van.clusters.order_by("pk").first()
    app = App.objects.annotate(releases_count=Count("releases")).order_by("-releases_count", "pk").first()
    rule = DistributionRule.objects.filter(van=van).order_by("pk").first()
    repo = GitOpsRepo.objects.get(is_default=True)
    template = Entity.objects.get(kind="Template", name="static-site")
    run = _scaffolder_run()
    return {
        "catalog:template_run": [{"namespace": template.namespace, "name": template.name}],
        "catalog:run": [{"uid": run.uid}],
        "portal:team": [{"slug": "payments"}],
        "portal:team_edit": [{"slug": "payments"}],
        "catalog:location": [{"pk": Location.objects.order_by("pk").first().pk}],
        "catalog:entity": [{"kind": entity.kind.lower(), "namespace": entity.namespace, "name": entity.name},
                           *({"kind": "api", "namespace": e.namespace, "name": e.name}
                             for e in Entity.objects.filter(kind="API").order_by("name")[:1])],
        "catalog:entity_edit": [{"pk": entity.pk}],
        "van:van": [{"pk": van.pk}],
        "addons:grafana_settings": [{"pk": van.pk}],
        "addons:van_addons": [{"pk": van.pk}],
        "addons:custom_addon_upgrade": [{"slug": "splunk"}],
        "addons:van_claims": [{"pk": van.pk}],
        "addons:claim_edit": [{"pk": van.claims.order_by("pk").first().pk}],
        "addons:secret_seal": [{"pk": van.addons.get(slug="sealed-secrets").pk}],
        "addons:addon_settings": [{"pk": van.addons.get(slug="argo-workflows").pk}, {"pk": van.addons.get(slug="k8sgpt").pk}],
        "addons:dashboard_pick": [{"kind": "van", "pk": van.pk}],
        "van:van_edit": [{"pk": van.pk}],
        "van:rule_add": [{"van_pk": van.pk}],
        "van:cluster": [{"pk": cluster.pk}],
        "van:cluster_edit": [{"pk": cluster.pk}],
        "van:app": [{"pk": app.pk}],
        "addons:app_pipeline": [{"pk": app.pk}, {"pk": App.objects.get(name="checkout-service").pk}],
        "van:app_edit": [{"pk": app.pk}],
        "van:rule": [{"pk": rule.pk}],
        "van:rule_edit": [{"pk": rule.pk}],
        "gitops:repo": [{"pk": repo.pk}],
        "gitops:repo_edit": [{"pk": repo.pk}],
        "gitops:commit": [{"pk": largest.repo_id, "sha": largest.commit_sha}],
        "gitops:changeset": [{"pk": largest.pk}, {"pk": rejected.pk}],
        "gitops:managedfile": [{"pk": drifted.pk}],
    }


def test_every_page_fits_the_window_for_every_demo_user(browser, live_server, tmp_path, settings):
    from portal.demo import DEMO_PASSWORD, DEMO_USERS

    rejected = _demo_with_long_words(tmp_path, settings)
    objects = _objects(rejected)
    urls, unknown = [], []
    for name, pattern in _routes():
        if name in NOT_PAGES or not _answers_get(pattern):
            continue
        if not pattern.pattern.converters:
            urls.append((name, reverse(name)))
        elif name in objects:
            urls += [(name, reverse(name, kwargs=kwargs)) for kwargs in objects[name]]
        else:
            unknown.append(name)
    assert not unknown, f"pages with parameters and no object to show: add them to _objects(): {unknown}"

    shots = Path(os.environ.get("WAYLINE_SHAPE_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    started = time.monotonic()

    def check(page, label):
        for viewport, width, height, tables_fit in VIEWPORTS:
            page.set_viewport_size({"width": width, "height": height})
            problems.extend(f"{label} at {width}px: {problem}" for problem in page.evaluate(OVERFLOW, tables_fit))
            page.screenshot(path=str(shots / f"{label}-{viewport}.png"), full_page=True)

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + reverse("login"))
    check(page, "anonymous-login")
    context.close()

    for index, username in enumerate(["admin", *(user for user, *_ in DEMO_USERS)]):
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server.url + "/")
        refusals = set()
        for name, url in urls + ([(name, reverse(name)) for name in EXTRA_PAGES] if index == 0 else []):
            response = page.goto(live_server.url + url)
            assert response.status < 500, f"{username} {url}: {response.status}"
            if response.status in (403, 404):
                if response.status in refusals:
                    continue  # one page says "not allowed" like another: checked once per user
                refusals.add(response.status)
            if name in EXTRA_PAGES:
                page.wait_for_load_state("networkidle")  # the API docs draw themselves from the schema they fetch
            check(page, f"{username}-{name.replace(':', '-')}-{url.strip('/').replace('/', '_')[:60]}")
        context.close()
    assert not problems, f"{len(problems)} pages out of shape:\n" + "\n".join(problems)
    print(f"\n{len(urls)} pages x {len(DEMO_USERS) + 1} users x {len(VIEWPORTS)} sizes in {time.monotonic() - started:.0f}s; "
          f"screenshots in {shots}")
