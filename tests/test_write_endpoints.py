"""Every write endpoint, page and API, against the one permission rule (docs/security.md, "Write endpoints").

``ENDPOINTS`` lists each write once: its URL, method, payload, what it changes (``state``) and who is
``invisible`` (404, like a missing object), ``forbidden`` (sees it, may not act: 403) and ``permitted``
(success). One parametrized test runs every entry: anonymous is sent to log in (pages) or refused (API);
refused calls change neither the object nor the audit log; the permitted call succeeds and changes it.
A walker over the URL conf and the OpenAPI schema fails when a write endpoint has no entry here and no
exemption in ``EXEMPT``, so a new endpoint cannot ship without its permission checks. Each entry also names
the kinds of object (``grow``) whose number must not change what its permitted call costs in queries, or says
why none fits (``grow_exempt``).

Objects are built through the real services, on first use, once per test (``Scenario``): a
payments-owned private object (bob, in search, cannot see it) and a public one (bob sees it, may not
change it), a payments viewer (reads, never writes), a raw GitOps change waiting for Prod approval
(its author, the platform admin, may not decide it; alice cannot see it), and VAN-owned change sets
and files in a real git repository.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Callable

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import Entity
from portal import services as portal_services
from portal.gitops import engine
from portal.gitops import services as gitops_services
from portal.gitops.models import ChangeSet, Environment, ManagedFile
from portal.models import AuditEvent, MembershipRole
from portal.services import team_membership_set
from tests.catalog.conftest import GitRepo, component_yaml
from tests.factories import make_cluster, make_user
from tests.gitops.conftest import Bare
from van import services as van_services

_seq = itertools.count(1)
_grafana = []


@pytest.fixture(autouse=True)
def _grafana_on_loopback_allowed(settings):
    """The session's fake Grafana listens on loopback, which Wayline refuses unless an admin allows it."""
    settings.WAYLINE_GRAFANA_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def fake_grafana():
    """One fake Grafana for the session (a daemon thread), started on first use."""
    if not _grafana:
        from tests.grafana.fake import FakeGrafana

        _grafana.append(FakeGrafana(token="write-endpoints-grafana-token").start())
    return _grafana[0]
PRIVATE, PUBLIC = "private", "public"
WRITE_METHODS = ("post", "put", "patch", "delete")


# --- the scenario: objects built through the services, on first use ------------------------------


class Scenario:
    """The ``world`` users and teams, a payments viewer and a Prod approver, and objects built lazily.

    Each object getter takes a variant (``"private"``/``"public"`` for team-owned objects; ignored by the
    others) and builds the object once; a test only pays for the objects its endpoint needs.
    """

    def __init__(self, world, *, tmp_path, gitops_path, run_on_commit):
        self.world, self.tmp_path, self.gitops_path, self.run_on_commit = world, tmp_path, gitops_path, run_on_commit
        self.admin, self.payments = world.admin, world.payments
        self.viewer = make_user("viewer")
        team_membership_set(actor=world.admin, team=world.payments, user=self.viewer, role=MembershipRole.VIEWER)
        self.approver = make_user("approver")  # a named approver of Prod
        Environment.objects.get(slug="prod").approvers.add(self.approver)
        self._built: dict = {}

    def user(self, name: str):
        return getattr(self, name) if hasattr(self, name) else getattr(self.world, name)

    def _once(self, key, build):
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    # Team-owned objects (payments), private or public.

    def cluster(self, visibility):
        """A cluster in no VAN (it can become a new VAN's hub, or be deleted)."""
        return self._once(("cluster", visibility), lambda: make_cluster(
            self.payments, name=f"cluster-{visibility}-{next(_seq)}", visibility=visibility, actor=self.admin))

    def van(self, visibility, repo=None):
        def build():
            hub = make_cluster(self.payments, name=f"hub-{next(_seq)}", visibility=visibility, actor=self.admin)
            return van_services.van_create(actor=self.admin, name=f"van-{visibility}-{next(_seq)}", owner_team=self.payments,
                                           hub=hub, visibility=visibility, repo=repo)
        return self._once(("van", visibility, repo and repo.pk), build)

    def grafana_van(self, visibility):
        """The VAN of that visibility, with the (session's) fake Grafana as its hub's Grafana."""
        def build():
            from addons import services as addons_services

            van = self.van(visibility)
            addons_services.van_grafana_set(actor=self.admin, van=van, url=fake_grafana().url, token=fake_grafana().token)
            return van
        return self._once(("grafana_van", visibility), build)

    def addon(self, visibility):
        """Grafana on the VAN of that visibility (on, as every new VAN's golden path has it)."""
        return self._once(("addon", visibility), lambda: self.van(visibility).addons.get(slug="grafana"))

    def addon_off(self, visibility):
        """Crossplane on the VAN of that visibility, turned off."""
        def build():
            from addons import services as addons_services

            return addons_services.addon_disable(actor=self.admin, installation=self.van(visibility).addons.get(slug="crossplane"))
        return self._once(("addon_off", visibility), build)

    def dashboard_pin(self, visibility):
        """A dashboard pinned to that VAN's own page."""
        def build():
            from addons import services as addons_services

            van = self.grafana_van(visibility)
            return addons_services.dashboard_pin(actor=self.admin, van=van, target=van, uid="wl-argocd")
        return self._once(("dashboard_pin", visibility), build)

    def rule(self, visibility):
        return self._once(("rule", visibility), lambda: self._rule(self.van(visibility)))

    def _rule(self, van):
        return van_services.rule_create(actor=self.admin, van=van, name=f"rule-{next(_seq)}", app_tags="payments",
                                        cluster_selector="region=eu")

    def app(self, visibility):
        return self._once(("app", visibility), lambda: van_services.app_create(
            actor=self.admin, name=f"app-{visibility}-{next(_seq)}", owner_team=self.payments, namespace="ns",
            repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy", image="registry.example.net/a",
            version="1.0.0", tags="payments", visibility=visibility))

    def location(self, visibility):
        return self._once(("location", visibility), lambda: catalog_services.location_register(
            actor=self.admin, type="git", target=f"https://git.example.net/catalog-{next(_seq)}.git", owner_team=self.payments,
            visibility=visibility, refresh=False))

    def entity(self, visibility):
        """A Component owned by payments, read from a real git repository by a payments location."""
        def build():
            entity = Entity.objects.get(name=f"component-{visibility}", location=self.catalog_location())
            if visibility == PRIVATE:
                entity = catalog_services.entity_settings_update(actor=self.admin, obj=entity, visibility=PRIVATE)
            return entity
        return self._once(("entity", visibility), build)

    def catalog_location(self):
        def build():
            repo = self._git_repo("catalog-repo", {f"{v}.yaml": component_yaml(f"component-{v}", "payments") for v in (PRIVATE, PUBLIC)})
            location = catalog_services.location_register(actor=self.admin, type="git", target=repo.url, path="*.yaml",
                                                          owner_team=self.payments, refresh=False)
            report = catalog_services.location_refresh(actor=None, location_id=location.pk)
            assert report.errors == 0, report.error_list
            return location
        return self._once("catalog_location", build)

    # The scaffolder: a one-step template in a payments location, and runs of it.

    def scaffolder_template(self):
        def build():
            template = ("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: hello}\n"
                        "spec:\n  type: service\n  parameters: [{properties: {name: {type: string}}}]\n"
                        "  steps: [{id: say, action: 'debug:log', input: {message: 'hello ${{ parameters.name }}'}}]\n")
            repo = self._git_repo("templates-repo", {"catalog-info.yaml": template})
            location = catalog_services.location_register(actor=self.admin, type="git", target=repo.url,
                                                          owner_team=self.payments, refresh=False)
            assert catalog_services.location_refresh(actor=None, location_id=location.pk).errors == 0
            return "template:default/hello"
        return self._once("scaffolder_template", build)

    def run(self, visibility, state="open"):
        """A run of payments (private by default; public when asked), in ``state``."""
        from catalog.models import ScaffolderRun
        from catalog.scaffolder.runs import run_create

        def build():
            run = run_create(actor=self.world.alice, template_ref=self.scaffolder_template(), values={"name": "x"})
            ScaffolderRun.objects.filter(pk=run.pk).update(visibility=visibility, state=state)
            run.refresh_from_db()
            return run
        return self._once(("run", visibility, state), build)

    def failed_run(self, visibility):
        return self.run(visibility, "failed")

    def _grow_run(self, count):
        for _ in range(count):
            self.run(PRIVATE, f"grow-{next(_seq)}")

    def backstage_target(self):
        """A git repository with one catalog-info.yaml, for registering through Backstage's API."""
        return self._once("backstage_target", lambda: self._git_repo(
            "backstage-repo", {"catalog-info.yaml": component_yaml("registered-by-backstage", "payments")}).url)

    def catalog_directory(self):
        """A directory on the server holding a catalog-info.yaml (``path`` locations: platform admins only)."""
        def build():
            directory = self.tmp_path / "catalog-directory"
            directory.mkdir()
            (directory / "catalog-info.yaml").write_text(component_yaml("read-from-disk", "payments"))
            return str(directory)
        return self._once("catalog_directory", build)

    def _git_repo(self, name, files):
        repo = GitRepo(self.tmp_path / name)
        repo.write(files)
        repo.commit()
        return repo

    # GitOps.

    def gitops_repo(self):
        return self._once("gitops_repo", gitops_services.gitops_default_repo)

    def remote_repo(self):
        return self._once("remote_repo", lambda: gitops_services.repo_create(
            actor=self.admin, name=f"infra-{next(_seq)}", url="https://git.example.net/infra.git"))

    def _propose(self, **kwargs):
        with self.run_on_commit(execute=True):  # the worker applies it, as after a real commit
            cs = gitops_services.propose_change(**kwargs)
        cs.refresh_from_db()
        return cs

    def awaiting_change(self, _=None):
        """A platform admin's raw change, waiting for a Prod approver (visible to admins and Prod's approvers)."""
        def build():
            self.gitops_repo()
            cs = self._propose(actor=self.admin, owner=None, files_to_write={"raw/settings.yaml": "a: 1\n"}, message="Raw change")
            assert cs.status == "awaiting_approval", (cs.status, cs.error)
            return cs
        return self._once("awaiting_change", build)

    def owned_awaiting_change(self, _=None):
        """Alice's change of the private payments VAN, on a Prod placement (a cluster its spec cannot place counts
        as Prod), waiting for a Prod approver: her team sees it, its viewer may not decide it."""
        def build():
            van = self.van(PRIVATE)
            self.gitops_repo()
            cs = self._propose(actor=self.world.alice, owner=van, message="Prod note",
                               files_to_write={f"{van.gitops_root()}clusters/gone/notes.yaml": "a: 1\n"})
            assert cs.status == "awaiting_approval", (cs.status, cs.error)
            return cs
        return self._once("owned_awaiting_change", build)

    def applied_change(self, _=None):
        """A change owned by the private payments VAN, applied to git (Dev needs no approval)."""
        def build():
            van = self.van(PRIVATE)
            self.gitops_repo()
            cs = self._propose(actor=self.world.alice, owner=van, files_to_write={f"{van.gitops_root()}notes.yaml": "a: 1\n"},
                               message="Add notes")
            assert cs.status == "applied", (cs.status, cs.error)
            return cs
        return self._once("applied_change", build)

    def failed_change(self, _=None):
        """A change owned by a private payments VAN whose repository cannot be reached."""
        def build():
            van = self.van(PRIVATE, repo=self.broken_repo())
            cs = self._propose(actor=self.world.alice, owner=van, files_to_write={f"{van.gitops_root()}x.yaml": "x: 1\n"},
                               message="Into the void")
            assert cs.status == "failed", cs.status
            return cs
        return self._once("failed_change", build)

    def drifted_file(self, _=None):
        """The applied change's file, edited outside Wayline and noticed by a sync."""
        def build():
            mf = ManagedFile.objects.get(last_changeset=self.applied_change())
            Bare(self.gitops_path, self.tmp_path / "human").human_push(mf.path, "a: 2\n")
            engine.sync_repo(mf.repo_id)
            mf.refresh_from_db()
            assert mf.edited_outside
            return mf
        return self._once("drifted_file", build)

    def broken_repo(self):
        """A GitOps repository that refuses every push (a pre-receive hook): every change applied to it fails.

        (An unreachable one would not do: its changes wait, pending, until it is back.)"""
        def build():
            from portal.gitops.gitrepo import ensure_bare_repo

            path = ensure_bare_repo(self.tmp_path / "refusing.git", "main")
            hook = path / "hooks" / "pre-receive"
            hook.write_text("#!/bin/sh\necho 'pushes are closed' >&2\nexit 1\n")
            hook.chmod(0o755)
            return gitops_services.repo_create(actor=self.admin, name="refusing", url=str(path))
        return self._once("broken_repo", build)

    # More objects of a kind, for the constant-query checks.

    def grow(self, kinds: str | tuple[str, ...], count: int) -> None:
        """Add ``count`` more objects of each kind in ``kinds`` (see ``GROW_KINDS``)."""
        for kind in (kinds,) if isinstance(kinds, str) else kinds:
            getattr(self, f"_grow_{kind}")(count)

    def _grow_team(self, count):
        for _ in range(count):
            n = next(_seq)
            grown = portal_services.team_create(actor=self.admin, slug=f"grow-team-{n}", name=f"Grow team {n}")
            team_membership_set(actor=self.admin, team=grown, user=make_user(f"grow-team-member-{n}"), role=MembershipRole.MEMBER)

    def _grow_member(self, count):
        """Members of payments (the team whose settings and members the team endpoints change)."""
        for _ in range(count):
            team_membership_set(actor=self.admin, team=self.payments, user=make_user(f"grow-{next(_seq)}"), role=MembershipRole.MEMBER)

    def _grow_cluster(self, count):
        for _ in range(count):
            make_cluster(self.payments, name=f"grow-cluster-{next(_seq)}", tags="region=eu", actor=self.admin)

    def _grow_edge(self, count):
        """Edge clusters of the private VAN (the one whose rules the rule endpoints change)."""
        for _ in range(count):
            cluster = make_cluster(self.payments, name=f"grow-edge-{next(_seq)}", tags="region=eu", actor=self.admin)
            van_services.van_edge_add(actor=self.admin, van=self.van(PRIVATE), cluster=cluster)

    def _grow_van(self, count):
        """VANs around their own hubs, each with a rule deploying payments-tagged apps."""
        for _ in range(count):
            n = next(_seq)
            van = van_services.van_create(actor=self.admin, name=f"grow-van-{n}", owner_team=self.payments,
                                          hub=make_cluster(self.payments, name=f"grow-hub-{n}", actor=self.admin))
            self._rule(van)

    def _grow_rule(self, count):
        """Rules of the private VAN."""
        for _ in range(count):
            self._rule(self.van(PRIVATE))

    def _grow_app(self, count):
        for _ in range(count):
            van_services.app_create(
                actor=self.admin, name=f"grow-app-{next(_seq)}", owner_team=self.payments, namespace="ns",
                repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy", tags="payments")

    def _grow_release(self, count):
        """Releases of the private app (the one the version and rollback endpoints act on)."""
        for _ in range(count):
            van_services.app_version_set(actor=self.admin, app=self.app(PRIVATE), version=f"1.{next(_seq)}.0")

    def sealing_addon(self, visibility):
        """The Sealed Secrets add-on of the VAN of that visibility, its hub given a controller certificate."""
        def build():
            from tests.van.conftest import controller_key_pair

            van = self.van(visibility)
            hub = van.clusters.get(role="hub")
            van_services.cluster_update(actor=self.admin, obj=hub, sealing_cert=controller_key_pair("write-endpoints")[1])
            return van.addons.get(slug="sealed-secrets")
        return self._once(("sealing_addon", visibility), build)

    def sealed_secret(self, visibility):
        """A Secret sealed for the hub of the VAN of that visibility."""
        def build():
            from addons import services as addons_services

            installation = self.sealing_addon(visibility)
            return addons_services.secret_seal(actor=self.admin, installation=installation, cluster=installation.van.clusters.get(
                role="hub").name, namespace="payments", name=f"s-{next(_seq)}", scope="strict", data={"k": "v"})
        return self._once(("sealed_secret", visibility), build)

    def claim(self, visibility):
        """A Dev cluster claim on the VAN of that visibility (its Crossplane given a module)."""
        def build():
            from addons import services as addons_services

            van = self.crossplane_van(visibility)
            return addons_services.claim_create(actor=self.admin, van=van, name=f"claim-{next(_seq)}", environment="dev",
                                                node_count=2, node_size="small")
        return self._once(("claim", visibility), build)

    def crossplane_van(self, visibility):
        """The VAN of that visibility, its Crossplane add-on given the module claims apply."""
        def build():
            from addons import services as addons_services

            van = self.van(visibility)
            crossplane = van.addons.get(slug="crossplane")
            addons_services.addon_settings_set(actor=self.admin, installation=crossplane, settings={
                "cluster_module": "git::https://git.example.net/platform/tf-cluster.git?ref=v1.2.0"})
            return van
        return self._once(("crossplane_van", visibility), build)

    def ci_app(self, visibility):
        """An app of that visibility with no pipeline yet, and the VAN of that visibility ready to run one (Argo and
        Sealed Secrets on, its hub given a sealing certificate)."""
        def build():
            self.sealing_addon(visibility)
            return van_services.app_create(
                actor=self.admin, name=f"ci-app-{visibility}-{next(_seq)}", owner_team=self.payments, namespace="ns",
                repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy",
                image="registry.example.net/a", version="1.0.0", tags="payments", visibility=visibility)
        return self._once(("ci_app", visibility), build)

    def pipeline(self, visibility):
        """The CI pipeline of an app of that visibility, on the VAN of that visibility."""
        def build():
            from addons import services as addons_services

            self.sealing_addon(visibility)
            app = van_services.app_create(
                actor=self.admin, name=f"piped-app-{visibility}-{next(_seq)}", owner_team=self.payments, namespace="ns",
                repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy",
                image="registry.example.net/a", version="1.0.0", tags="payments", visibility=visibility)
            with self.run_on_commit(execute=True):
                return addons_services.pipeline_create(actor=self.admin, app=app, van=self.van(visibility))
        return self._once(("pipeline", visibility), build)

    def piped_app(self, visibility):
        return self.pipeline(visibility).app

    def custom_addon(self, variant=None):
        """A tool ops added (Splunk-like, from git, for gpu clusters)."""
        def build():
            from addons import services as addons_services

            return addons_services.custom_addon_create(actor=self.admin, **tool_data(f"tool-{next(_seq)}"))
        return self._once(("custom_addon",), build)

    def _grow_custom_addon(self, count):
        from addons import services as addons_services

        for _ in range(count):
            addons_services.custom_addon_create(actor=self.admin, **tool_data(f"grow-tool-{next(_seq)}"))

    def _grow_gitops_repo(self, count):
        for _ in range(count):
            n = next(_seq)
            gitops_services.repo_create(actor=self.admin, name=f"grow-repo-{n}", url=f"https://git.example.net/grow-{n}.git")

    def _grow_awaiting_change(self, count):
        """Raw changes waiting for a Prod approver (in the approver's queue)."""
        self.gitops_repo()
        for _ in range(count):
            cs = self._propose(actor=self.admin, owner=None, files_to_write={f"raw/grow-{next(_seq)}.yaml": "a: 1\n"},
                               message="Raw change")
            assert cs.status == "awaiting_approval", (cs.status, cs.error)

    def _grow_applied_change(self, count):
        """Changes of the private VAN, applied to git."""
        self._grow_applied_files(count)

    def _grow_applied_files(self, count) -> list[str]:
        van, paths = self.van(PRIVATE), []
        self.gitops_repo()
        for _ in range(count):
            path = f"{van.gitops_root()}grow-{next(_seq)}.yaml"
            cs = self._propose(actor=self.world.alice, owner=van, files_to_write={path: "a: 1\n"}, message="Add a file")
            assert cs.status == "applied", (cs.status, cs.error)
            paths.append(path)
        return paths

    def _grow_failed_change(self, count):
        """Changes of the private VAN on the unreachable repository, failed."""
        van = self.van(PRIVATE, repo=self.broken_repo())
        for _ in range(count):
            path = f"{van.gitops_root()}grow-{next(_seq)}.yaml"
            cs = self._propose(actor=self.world.alice, owner=van, files_to_write={path: "x: 1\n"}, message="Into the void")
            assert cs.status == "failed", cs.status

    def _grow_drifted_file(self, count):
        """Files of the private VAN, applied, then edited outside Wayline and noticed by one sync."""
        human = Bare(self.gitops_path, self.tmp_path / "human")
        for path in self._grow_applied_files(count):
            human.human_push(path, "a: 2\n")
        repo = self.gitops_repo()
        engine.sync_repo(repo.pk)
        assert ManagedFile.objects.filter(repo=repo, drift_detected_at__isnull=False).count() >= count

    def _grow_location(self, count):
        for _ in range(count):
            catalog_services.location_register(
                actor=self.admin, type="git", target=f"https://git.example.net/grow-{next(_seq)}.git", owner_team=self.payments,
                refresh=False)

    def _grow_entity(self, count):
        """Components owned by payments, read by one more location from its own git repository."""
        n = next(_seq)
        repo = self._git_repo(f"grow-catalog-{n}", {f"c{i}.yaml": component_yaml(f"grow-component-{n}-{i}", "payments")
                                                    for i in range(count)})
        location = catalog_services.location_register(actor=self.admin, type="git", target=repo.url, path="*.yaml",
                                                      owner_team=self.payments, refresh=False)
        report = catalog_services.location_refresh(actor=None, location_id=location.pk)
        assert report.errors == 0 and report.added == count, (report.as_dict(), report.error_list)


GROW_KINDS = {name.removeprefix("_grow_") for name in vars(Scenario) if name.startswith("_grow_") and name != "_grow_applied_files"}


@pytest.fixture
def scenario(world, settings, tmp_path, django_capture_on_commit_callbacks):
    gitops_services.environments_ensure(gitops_services.DEFAULT_ENVIRONMENTS)  # browser tests flush the migration's rows
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    gitops_services.gitops_repo_init(actor=None)  # set up explicitly, as gitops_init does: nothing creates it on first use
    settings.CATALOG_ALLOW_LOCAL_GIT = True  # team members register the test's git repositories on this machine
    settings.WAYLINE_PUBLIC_URL = "https://wayline.example.net"  # where CI pipelines propose their version bumps
    return Scenario(world, tmp_path=tmp_path, gitops_path=tmp_path / "gitops.git", run_on_commit=django_capture_on_commit_callbacks)


# --- who may call what ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Who calls an endpoint with which outcome: (user, variant of the object) pairs."""

    permitted: tuple[str, str | None]
    invisible: tuple[tuple[str, str | None], ...] = ()
    forbidden: tuple[tuple[str, str | None], ...] = ()


# "change on X" for team-owned objects: the owning team's members and admins; readers (viewers) and other
# teams see a public object but may not change it; another team's private object is invisible.
OWNED = Rule(permitted=("alice", PRIVATE), invisible=(("bob", PRIVATE),), forbidden=(("bob", PUBLIC), ("viewer", PRIVATE)))
# creatable_by for team-owned models: anyone who may edit for some team (not a viewer, not a user in no team).
CREATE_OWNED = Rule(permitted=("alice", None), forbidden=(("victor", None), ("viewer", None)))
# Platform admins only (creating teams, GitOps repositories, raw changes; changing repositories).
PLATFORM_ADMIN = Rule(permitted=("admin", None), forbidden=(("alice", None), ("carol", None)))
# A team's own settings and members: its admins (carol), not its members or viewers, not other teams.
TEAM_ADMIN = Rule(permitted=("carol", None), forbidden=(("alice", None), ("viewer", None), ("bob", None)))
# A change set or file owned by the private payments VAN: the team's readers see it, its editors act on it.
VAN_OWNED = Rule(permitted=("alice", None), invisible=(("bob", None),), forbidden=(("viewer", None),))
# Deciding the raw Prod change: its approvers, never its author (the admin sees it but may not decide).
DECIDE = Rule(permitted=("approver", None), invisible=(("alice", None), ("viewer", None)), forbidden=(("admin", None),))
# A VAN's change: another team cannot see it; its own team's viewer and its author see it and may not decide it.
DECIDE_OWNED = Rule(permitted=("approver", None), invisible=(("bob", None),), forbidden=(("viewer", None), ("alice", None)))


@dataclass(frozen=True)
class Endpoint:
    id: str
    kind: str  # "page" or "api"
    name: str  # the URL name, as the walker reports it
    method: str
    rule: Rule
    url: Callable  # (scenario, obj) -> url
    state: Callable  # (scenario, obj) -> what the write changes (refused calls must leave it alone)
    target: Callable | None = None  # (scenario, variant) -> the object acted on; None: a create endpoint
    payload: Callable = lambda s, obj: {}
    htmx: bool = False  # an htmx preview on the same URL: checked like a write, changes nothing
    refused_status: tuple[int, ...] | None = None  # when refusals do not answer 404/403 (bulk forms)
    anonymous_status: tuple[int, ...] = (401,)  # API only: pages send anonymous callers to the login page
    # The constant-query check: the kinds of object (``GROW_KINDS``) to add more of, or why there are none.
    grow: str | tuple[str, ...] | None = None
    grow_exempt: str | None = None


def url(name: str, **kwargs: Callable) -> Callable:
    """A URL of ``name`` whose kwargs are computed from the object: ``url("van:van_edit", pk=pk)``."""
    return lambda s, obj: reverse(name, kwargs={key: get(s, obj) for key, get in kwargs.items()})


def pk(s, obj):
    return obj.pk


def fields(*names) -> Callable:
    """State: these columns of the object, read again (None once it is gone)."""
    return lambda s, obj: type(obj).objects.filter(pk=obj.pk).values_list(*names).first()


def exists(s, obj):
    return type(obj).objects.filter(pk=obj.pk).exists()


def count(model_path: str, **filters) -> Callable:
    """State: how many rows of a model (``"van.Van"``) there are; for create endpoints."""
    return lambda s, obj: apps.get_model(model_path).objects.filter(**filters).count()


def audited(action: str) -> Callable:
    """State: how often ``action`` was audited for the object (writes whose only trace is the audit log)."""
    return lambda s, obj: AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).count()


def other_visibility(obj) -> str:
    return PUBLIC if obj.visibility == PRIVATE else PRIVATE


# Payloads.

def tool_data(slug: str) -> dict:
    return {"slug": slug, "name": f"Tool {slug}", "summary": "Ships logs.", "upstream": "https://github.com/example/tool",
            "namespace": "tools", "source_kind": "git", "repo_url": "https://git.example.net/ops/tool.git", "path": "deploy",
            "version": "v1.0.0", "placement": "tagged", "tags": "gpu"}


def van_data(s, van, *, form):
    """A VAN's fields with a new description (a new VAN around a free cluster when ``van`` is None)."""
    hub = van.clusters.get(role="hub") if van else s.cluster(PRIVATE)
    data = {"name": van.name if van else "new-van", "description": "edited", "visibility": van.visibility if van else PRIVATE,
            "reachability": "loadbalancer", "hub_host": "hub.example.net", "inter_router_port": 55671, "edge_port": 45671}
    if form:
        return data | {"owner_team": s.payments.pk, "hub": hub.pk}
    return data | {"owner_team": "payments", "hub": hub.name, "edges": []}


def cluster_data(s, cluster, *, form):
    return {"name": cluster.name if cluster else "new-cluster", "description": "edited",
            "owner_team": s.payments.pk if form else "payments", "visibility": cluster.visibility if cluster else PUBLIC,
            "environment": "dev", "provider": "other", "api_url": "https://new.example.net:6443",
            "tags": "region=eu" if form else ["region=eu"]}


def app_data(s, app, *, form):
    return {"name": app.name if app else "new-app", "description": "edited", "owner_team": s.payments.pk if form else "payments",
            "visibility": app.visibility if app else PUBLIC, "source_kind": "kustomize", "repo_url": "https://git.example.net/a.git",
            "path": "deploy", "revision": "HEAD", "namespace": "ns", "image": "registry.example.net/a", "version": "1.0.0",
            "tags": "payments" if form else ["payments"]}


def rule_form(s, rule):
    return {"name": rule.name if rule else "new-rule", "order": 7, "app_tags": "payments", "app_match": "all",
            "cluster_selector": "region=us", "sync": "automated", "prune": "on", "self_heal": "on"}


def rule_json(s, rule, van=None):
    return {"van": (rule.van if rule else van).name, "name": rule.name if rule else "new-rule", "order": 7,
            "app_tags": ["payments"], "cluster_selector": "region=us"}


def decision(s, cs):
    return {"comment": "looked at it", "revision": cs.revision}


def changeset_state(s, cs):
    return (*fields("status", "approved_at", "revision")(s, cs), cs.approvals.count(), ChangeSet.objects.filter(reverts=cs).count())


BACKSTAGE_ANONYMOUS = (401, 403)


def preview(payload: Callable) -> Callable:
    return lambda s, obj: {**payload(s, obj), "_preview": "1"}


def team(s, _):
    return s.payments


def location_variant(s, v):
    return s.location(v)


ENDPOINTS: list[Endpoint] = [
    # --- pages: teams
    Endpoint("page-team-add", "page", "portal:team_add", "POST", PLATFORM_ADMIN, url=url("portal:team_add"),
             payload=lambda s, _: {"slug": "new-team", "name": "New team"}, state=count("portal.Team"), grow="team"),
    Endpoint("page-team-edit", "page", "portal:team_edit", "POST", TEAM_ADMIN, target=team,
             url=url("portal:team_edit", slug=lambda s, t: t.slug),
             payload=lambda s, t: {"slug": t.slug, "name": t.name, "description": "edited"}, state=fields("description"),
             grow=("team", "member")),
    Endpoint("page-team-members", "page", "portal:team_members", "POST", TEAM_ADMIN, target=team,
             url=url("portal:team_members", slug=lambda s, t: t.slug),
             payload=lambda s, t: {"username": "victor", "role": "member"}, state=count("portal.TeamMembership"),
             grow=("team", "member")),
    # --- pages: GitOps
    Endpoint("page-repo-add", "page", "gitops:repo_add", "POST", PLATFORM_ADMIN, url=url("gitops:repo_add"),
             payload=lambda s, _: {"name": "new-repo", "url": "https://git.example.net/new.git", "branch": "main"},
             state=count("gitops.GitOpsRepo"), grow="gitops_repo"),
    Endpoint("page-repo-edit", "page", "gitops:repo_edit", "POST", PLATFORM_ADMIN, target=lambda s, _: s.remote_repo(),
             url=url("gitops:repo_edit", pk=pk),
             payload=lambda s, r: {"name": r.name, "url": r.url, "branch": "main", "username": "deploy"}, state=fields("username"),
             grow="gitops_repo"),
    Endpoint("page-repo-sync", "page", "gitops:repo_sync", "POST", PLATFORM_ADMIN, target=lambda s, _: s.gitops_repo(),
             url=url("gitops:repo_sync", pk=pk), state=fields("sync_requested_at"), grow="gitops_repo"),
    Endpoint("page-changeset-approve", "page", "gitops:changeset_approve", "POST", DECIDE, target=Scenario.awaiting_change,
             url=url("gitops:changeset_approve", pk=pk), payload=decision, state=changeset_state, grow="awaiting_change"),
    Endpoint("page-changeset-reject", "page", "gitops:changeset_reject", "POST", DECIDE, target=Scenario.awaiting_change,
             url=url("gitops:changeset_reject", pk=pk), payload=decision, state=changeset_state, grow="awaiting_change"),
    Endpoint("page-owned-changeset-approve", "page", "gitops:changeset_approve", "POST", DECIDE_OWNED,
             target=Scenario.owned_awaiting_change, url=url("gitops:changeset_approve", pk=pk), payload=decision,
             state=changeset_state, grow="awaiting_change"),
    Endpoint("api-owned-changeset-approve", "api", "changeset-approve", "POST", DECIDE_OWNED,
             target=Scenario.owned_awaiting_change, url=url("changeset-approve", pk=pk), payload=decision,
             state=changeset_state, grow="awaiting_change"),
    # Several changes decided at once: a change not in the caller's queue is a form error (redirect back), not a 403.
    Endpoint("page-approval-queue", "page", "gitops:approval_queue", "POST", DECIDE, target=Scenario.awaiting_change,
             url=url("gitops:approval_queue"), refused_status=(302,),
             payload=lambda s, cs: {"decision": "approve", "change": f"{cs.pk}:{cs.revision}"}, state=changeset_state,
             grow="awaiting_change"),
    Endpoint("page-changeset-revert", "page", "gitops:changeset_revert", "POST", VAN_OWNED, target=Scenario.applied_change,
             url=url("gitops:changeset_revert", pk=pk), payload=lambda s, cs: {"comment": "undo"}, state=changeset_state,
             grow="applied_change"),
    Endpoint("page-changeset-retry", "page", "gitops:changeset_retry", "POST", VAN_OWNED, target=Scenario.failed_change,
             url=url("gitops:changeset_retry", pk=pk), state=changeset_state, grow="failed_change"),
    Endpoint("page-managedfile-adopt", "page", "gitops:managedfile_adopt", "POST", VAN_OWNED, target=Scenario.drifted_file,
             url=url("gitops:managedfile_adopt", pk=pk), state=fields("content", "drift_detected_at"), grow="drifted_file"),
    Endpoint("page-managedfile-restore", "page", "gitops:managedfile_restore", "POST", VAN_OWNED, target=Scenario.drifted_file,
             url=url("gitops:managedfile_restore", pk=pk), state=count("gitops.ChangeSet", kind="restore"), grow="drifted_file"),
    # --- pages: VANs, rules, clusters, apps
    Endpoint("page-van-add", "page", "van:van_add", "POST", CREATE_OWNED, url=url("van:van_add"),
             payload=lambda s, v: van_data(s, v, form=True), state=count("van.Van"), grow="van"),
    Endpoint("page-van-edit", "page", "van:van_edit", "POST", OWNED, target=Scenario.van, url=url("van:van_edit", pk=pk),
             payload=lambda s, v: van_data(s, v, form=True), state=fields("description"), grow="van"),
    Endpoint("page-rule-add", "page", "van:rule_add", "POST", OWNED, target=Scenario.van, url=url("van:rule_add", van_pk=pk),
             payload=lambda s, van: rule_form(s, None), state=lambda s, van: van.rules.count(), grow=("rule", "edge")),
    Endpoint("page-rule-add-preview", "page", "van:rule_add", "POST", OWNED, target=Scenario.van, htmx=True,
             url=url("van:rule_add", van_pk=pk), payload=preview(lambda s, van: rule_form(s, None)),
             state=lambda s, van: van.rules.count(), grow=("rule", "edge")),
    Endpoint("page-rule-edit", "page", "van:rule_edit", "POST", OWNED, target=Scenario.rule, url=url("van:rule_edit", pk=pk),
             payload=rule_form, state=fields("order", "cluster_selector"), grow=("rule", "edge")),
    Endpoint("page-rule-edit-preview", "page", "van:rule_edit", "POST", OWNED, target=Scenario.rule, htmx=True,
             url=url("van:rule_edit", pk=pk), payload=preview(rule_form), state=fields("order", "cluster_selector"),
             grow=("rule", "edge")),
    Endpoint("page-cluster-add", "page", "van:cluster_add", "POST", CREATE_OWNED, url=url("van:cluster_add"),
             payload=lambda s, c: cluster_data(s, c, form=True), state=count("van.Cluster"), grow="cluster"),
    Endpoint("page-cluster-edit", "page", "van:cluster_edit", "POST", OWNED, target=Scenario.cluster,
             url=url("van:cluster_edit", pk=pk), payload=lambda s, c: cluster_data(s, c, form=True), state=fields("description"),
             grow="cluster"),
    Endpoint("page-cluster-edit-preview", "page", "van:cluster_edit", "POST", OWNED, target=Scenario.cluster, htmx=True,
             url=url("van:cluster_edit", pk=pk), payload=preview(lambda s, c: cluster_data(s, c, form=True)),
             state=fields("description", "tags"), grow="cluster"),
    Endpoint("page-app-add", "page", "van:app_add", "POST", CREATE_OWNED, url=url("van:app_add"),
             payload=lambda s, a: app_data(s, a, form=True), state=count("van.App"), grow=("app", "van")),
    Endpoint("page-app-add-preview", "page", "van:app_add", "POST", CREATE_OWNED, url=url("van:app_add"), htmx=True,
             payload=preview(lambda s, a: app_data(s, a, form=True)), state=count("van.App"), grow=("app", "van")),
    Endpoint("page-app-edit", "page", "van:app_edit", "POST", OWNED, target=Scenario.app, url=url("van:app_edit", pk=pk),
             payload=lambda s, a: app_data(s, a, form=True), state=fields("description"), grow=("app", "van")),
    Endpoint("page-app-edit-preview", "page", "van:app_edit", "POST", OWNED, target=Scenario.app, htmx=True,
             url=url("van:app_edit", pk=pk), payload=preview(lambda s, a: app_data(s, a, form=True)), state=fields("description"),
             grow=("app", "van")),
    Endpoint("page-app-version", "page", "van:app_version", "POST", OWNED, target=Scenario.app, url=url("van:app_version", pk=pk),
             payload=lambda s, a: {"version": "2.0.0"}, state=fields("version"), grow=("app", "release", "van")),
    Endpoint("page-app-rollback", "page", "van:app_rollback", "POST", OWNED, target=Scenario.app,
             url=url("van:app_rollback", pk=pk, release_pk=lambda s, a: a.releases.first().pk),
             state=lambda s, a: a.releases.count(), grow=("app", "release", "van")),
    # --- pages: catalog
    Endpoint("page-location-add", "page", "catalog:location_add", "POST", CREATE_OWNED, url=url("catalog:location_add"),
             payload=lambda s, _: {"type": "git", "target": "https://git.example.net/new.git", "branch": "", "path": "catalog-info.yaml",
                                   "owner_team": s.payments.pk, "visibility": PUBLIC},
             state=count("catalog.Location"), grow="location"),
    # A directory on the server: platform admins only, though team members may register git locations.
    Endpoint("page-location-add-path", "page", "catalog:location_add", "POST", PLATFORM_ADMIN, url=url("catalog:location_add"),
             payload=lambda s, _: {"type": "path", "target": s.catalog_directory(), "branch": "", "path": "catalog-info.yaml",
                                   "owner_team": s.payments.pk, "visibility": PUBLIC},
             state=count("catalog.Location"), grow="location"),
    Endpoint("page-location-refresh", "page", "catalog:location_refresh", "POST", OWNED, target=location_variant,
             url=url("catalog:location_refresh", pk=pk), state=audited("catalog.location_refresh"), grow="location"),
    Endpoint("page-location-delete", "page", "catalog:location_delete", "POST", OWNED, target=location_variant,
             url=url("catalog:location_delete", pk=pk), state=exists, grow="location"),
    Endpoint("page-template-run", "page", "catalog:template_run", "POST", CREATE_OWNED,
             url=lambda s, _: reverse("catalog:template_run", kwargs={
                 "namespace": "default", "name": s.scaffolder_template().rsplit("/", 1)[1]}),
             payload=lambda s, _: {"values_json": "{}", "index": "0", "p0-name": "y", "go": "create"},
             state=count("catalog.ScaffolderRun"), grow="run"),
    Endpoint("page-template-preview", "page", "catalog:template_run", "POST", CREATE_OWNED, htmx=True,
             url=lambda s, _: reverse("catalog:template_run", kwargs={
                 "namespace": "default", "name": s.scaffolder_template().rsplit("/", 1)[1]}),
             payload=lambda s, _: {"values_json": "{}", "index": "0", "p0-name": "y", "go": "preview"},
             state=lambda s, _: (apps.get_model("catalog.ScaffolderRun").objects.count(), AuditEvent.objects.count()),
             grow_exempt="a dry run writes nothing; what it costs grows with the template's steps, not with data"),
    Endpoint("page-run-cancel", "page", "catalog:run_cancel", "POST", OWNED, target=Scenario.run,
             url=url("catalog:run_cancel", uid=lambda s, r: r.uid), state=fields("state", "cancel_requested"), grow="run"),
    Endpoint("page-run-retry", "page", "catalog:run_retry", "POST", OWNED, target=Scenario.failed_run,
             url=url("catalog:run_retry", uid=lambda s, r: r.uid), state=fields("state"), grow="run"),
    # --- pages: Grafana (add-ons)
    Endpoint("page-custom-addon-add", "page", "addons:custom_addon_add", "POST", PLATFORM_ADMIN, url=url("addons:custom_addon_add"),
             payload=lambda s, _: tool_data("new-tool"), state=count("addons.CustomAddon"), grow="custom_addon"),
    Endpoint("page-custom-addon-upgrade", "page", "addons:custom_addon_upgrade", "POST", PLATFORM_ADMIN,
             url=lambda s, _: reverse("addons:custom_addon_upgrade", kwargs={"slug": s.custom_addon().slug}),
             payload=lambda s, _: {"version": "v1.1.0"}, state=lambda s, _: type(s.custom_addon()).objects.get(
                 pk=s.custom_addon().pk).definition["sources"][0]["git"]["revision"], grow="custom_addon"),
    Endpoint("page-custom-addon-upgrade-preview", "page", "addons:custom_addon_upgrade", "POST", PLATFORM_ADMIN, htmx=True,
             url=lambda s, _: reverse("addons:custom_addon_upgrade", kwargs={"slug": s.custom_addon().slug}),
             payload=lambda s, _: {"version": "v1.1.0", "_preview": "1"}, state=lambda s, _: type(s.custom_addon()).objects.get(
                 pk=s.custom_addon().pk).definition["sources"][0]["git"]["revision"], grow="custom_addon"),
    Endpoint("page-claim-add", "page", "addons:van_claims", "POST", OWNED, target=Scenario.crossplane_van,
             url=url("addons:van_claims", pk=pk), payload=lambda s, v: {"name": f"c-{next(_seq)}", "environment": "dev",
                                                                      "node_count": "2", "node_size": "small"},
             state=lambda s, v: v.claims.count(), grow="van"),
    Endpoint("page-claim-edit", "page", "addons:claim_edit", "POST", OWNED, target=Scenario.claim,
             url=url("addons:claim_edit", pk=pk), payload=lambda s, c: {"node_count": "7", "node_size": "large"},
             state=fields("node_count", "node_size"), grow="van"),
    Endpoint("page-claim-delete", "page", "addons:claim_delete", "POST", OWNED, target=Scenario.claim,
             url=url("addons:claim_delete", pk=pk), state=exists, grow="van"),
    Endpoint("page-van-addon-add", "page", "addons:van_addon_add", "POST", OWNED, target=Scenario.van,
             url=url("addons:van_addon_add", pk=pk, slug=lambda s, v: s.custom_addon().slug),
             state=lambda s, v: v.addons.filter(enabled=True).count(), grow=("van", "custom_addon")),
    Endpoint("page-secret-seal", "page", "addons:secret_seal", "POST", OWNED, target=Scenario.sealing_addon,
             url=url("addons:secret_seal", pk=pk), state=lambda s, i: i.sealed_secrets.count(), grow="van",
             payload=lambda s, i: {"cluster": i.van.clusters.get(role="hub").name, "namespace": "payments", "name": "db",
                                   "scope": "strict", "data": "password=not-shown"}),
    Endpoint("page-addon-disable", "page", "addons:addon_disable", "POST", OWNED, target=Scenario.addon,
             url=url("addons:addon_disable", pk=pk), state=fields("enabled"), grow="van"),
    Endpoint("page-addon-enable", "page", "addons:addon_enable", "POST", OWNED, target=Scenario.addon_off,
             url=url("addons:addon_enable", pk=pk), state=fields("enabled"), grow="van"),
    Endpoint("page-addon-settings", "page", "addons:addon_settings", "POST", OWNED, target=Scenario.addon,
             url=url("addons:addon_settings", pk=pk), payload=lambda s, i: {"replicas": "2"}, state=fields("settings"), grow="van"),
    Endpoint("page-grafana-settings", "page", "addons:grafana_settings", "POST", OWNED, target=Scenario.van,
             url=url("addons:grafana_settings", pk=pk), payload=lambda s, v: {"grafana_url": "https://grafana.example.net"},
             state=fields("grafana_url"), grow="van"),
    Endpoint("page-dashboard-pin", "page", "addons:dashboard_pin", "POST", OWNED, target=Scenario.grafana_van,
             url=url("addons:dashboard_pin", kind=lambda s, v: "van", pk=pk), payload=lambda s, v: {"van": v.pk, "uid": "wl-cluster"},
             state=lambda s, v: v.dashboard_pins.count(), grow="van"),
    Endpoint("page-dashboard-unpin", "page", "addons:dashboard_unpin", "POST", OWNED, target=Scenario.dashboard_pin,
             url=url("addons:dashboard_unpin", pin_pk=pk), state=exists, grow="van"),
    Endpoint("page-pipeline-create", "page", "addons:app_pipeline", "POST", OWNED, target=Scenario.ci_app,
             url=url("addons:app_pipeline", pk=pk), state=lambda s, a: type(a).objects.filter(pk=a.pk, ci_pipeline__isnull=False).count(),
             payload=lambda s, a: {"van": s.van(a.visibility).pk, "branch": "main", "test_image": "python:3.12-slim",
                                   "test_command": "make test"}, grow=("van", "app")),
    Endpoint("page-pipeline-update", "page", "addons:app_pipeline", "POST", OWNED, target=Scenario.piped_app,
             url=url("addons:app_pipeline", pk=pk), state=lambda s, a: type(a.ci_pipeline).objects.filter(app=a).values_list("branch").first(),
             payload=lambda s, a: {"branch": "release", "test_image": "python:3.12-slim", "test_command": "make test"},
             grow=("van", "app")),
    Endpoint("page-pipeline-delete", "page", "addons:pipeline_delete", "POST", OWNED, target=Scenario.pipeline,
             url=url("addons:pipeline_delete", pk=pk), state=exists, grow=("van", "app")),
    Endpoint("page-pipeline-secrets-rotate", "page", "addons:pipeline_secrets_rotate", "POST", OWNED,
             target=Scenario.pipeline, url=url("addons:pipeline_secrets_rotate", pk=pk),
             state=lambda s, p: type(p).objects.filter(pk=p.pk).values_list("token_id", "secrets_manifest").first(),
             grow=("van", "app")),
    Endpoint("page-entity-edit", "page", "catalog:entity_edit", "POST", OWNED, target=Scenario.entity,
             url=url("catalog:entity_edit", pk=pk), payload=lambda s, e: {"visibility": other_visibility(e)},
             state=fields("visibility"), grow="entity"),

    # --- API: teams
    Endpoint("api-team-create", "api", "team-list", "POST", PLATFORM_ADMIN, url=url("team-list"),
             payload=lambda s, _: {"slug": "new-team", "name": "New team"}, state=count("portal.Team"), grow="team"),
    Endpoint("api-team-put", "api", "team-detail", "PUT", TEAM_ADMIN, target=team, url=url("team-detail", slug=lambda s, t: t.slug),
             payload=lambda s, t: {"slug": t.slug, "name": t.name, "description": "edited"}, state=fields("description"),
             grow=("team", "member")),
    Endpoint("api-team-patch", "api", "team-detail", "PATCH", TEAM_ADMIN, target=team, url=url("team-detail", slug=lambda s, t: t.slug),
             payload=lambda s, t: {"description": "edited"}, state=fields("description"), grow=("team", "member")),
    Endpoint("api-team-members", "api", "team-members", "POST", TEAM_ADMIN, target=team,
             url=url("team-members", slug=lambda s, t: t.slug), payload=lambda s, t: {"username": "victor", "role": "member"},
             state=count("portal.TeamMembership"), grow=("team", "member")),
    # --- API: GitOps
    Endpoint("api-repo-create", "api", "gitopsrepo-list", "POST", PLATFORM_ADMIN, url=url("gitopsrepo-list"),
             payload=lambda s, _: {"name": "new-repo", "url": "https://git.example.net/new.git", "branch": "main"},
             state=count("gitops.GitOpsRepo"), grow="gitops_repo"),
    Endpoint("api-repo-put", "api", "gitopsrepo-detail", "PUT", PLATFORM_ADMIN, target=lambda s, _: s.remote_repo(),
             url=url("gitopsrepo-detail", pk=pk),
             payload=lambda s, r: {"name": r.name, "url": r.url, "branch": "main", "username": "deploy"}, state=fields("username"),
             grow="gitops_repo"),
    Endpoint("api-repo-patch", "api", "gitopsrepo-detail", "PATCH", PLATFORM_ADMIN, target=lambda s, _: s.remote_repo(),
             url=url("gitopsrepo-detail", pk=pk), payload=lambda s, r: {"username": "deploy"}, state=fields("username"),
             grow="gitops_repo"),
    Endpoint("api-changeset-create", "api", "changeset-list", "POST", PLATFORM_ADMIN, url=url("changeset-list"),
             payload=lambda s, _: {"message": "Raw change", "files_to_write": {"raw/new.yaml": "a: 1\n"}},
             state=count("gitops.ChangeSet"), grow="awaiting_change"),
    Endpoint("api-changeset-approve", "api", "changeset-approve", "POST", DECIDE, target=Scenario.awaiting_change,
             url=url("changeset-approve", pk=pk), payload=decision, state=changeset_state, grow="awaiting_change"),
    Endpoint("api-changeset-reject", "api", "changeset-reject", "POST", DECIDE, target=Scenario.awaiting_change,
             url=url("changeset-reject", pk=pk), payload=decision, state=changeset_state, grow="awaiting_change"),
    Endpoint("api-changeset-revert", "api", "changeset-revert", "POST", VAN_OWNED, target=Scenario.applied_change,
             url=url("changeset-revert", pk=pk), payload=lambda s, cs: {"comment": "undo"}, state=changeset_state,
             grow="applied_change"),
    Endpoint("api-changeset-retry", "api", "changeset-retry", "POST", VAN_OWNED, target=Scenario.failed_change,
             url=url("changeset-retry", pk=pk), state=changeset_state, grow="failed_change"),
    # --- API: VANs, clusters, apps, rules
    Endpoint("api-van-create", "api", "van-list", "POST", CREATE_OWNED, url=url("van-list"),
             payload=lambda s, v: van_data(s, v, form=False), state=count("van.Van"), grow="van"),
    Endpoint("api-van-put", "api", "van-detail", "PUT", OWNED, target=Scenario.van, url=url("van-detail", pk=pk),
             payload=lambda s, v: van_data(s, v, form=False), state=fields("description"), grow="van"),
    Endpoint("api-van-patch", "api", "van-detail", "PATCH", OWNED, target=Scenario.van, url=url("van-detail", pk=pk),
             payload=lambda s, v: {"description": "edited"}, state=fields("description"), grow="van"),
    Endpoint("api-van-delete", "api", "van-detail", "DELETE", OWNED, target=Scenario.van, url=url("van-detail", pk=pk), state=exists,
             grow="van"),
    Endpoint("api-cluster-create", "api", "cluster-list", "POST", CREATE_OWNED, url=url("cluster-list"),
             payload=lambda s, c: cluster_data(s, c, form=False), state=count("van.Cluster"), grow="cluster"),
    Endpoint("api-cluster-put", "api", "cluster-detail", "PUT", OWNED, target=Scenario.cluster, url=url("cluster-detail", pk=pk),
             payload=lambda s, c: cluster_data(s, c, form=False), state=fields("description"), grow="cluster"),
    Endpoint("api-cluster-patch", "api", "cluster-detail", "PATCH", OWNED, target=Scenario.cluster, url=url("cluster-detail", pk=pk),
             payload=lambda s, c: {"description": "edited"}, state=fields("description"), grow="cluster"),
    Endpoint("api-cluster-delete", "api", "cluster-detail", "DELETE", OWNED, target=Scenario.cluster,
             url=url("cluster-detail", pk=pk), state=exists, grow="cluster"),
    Endpoint("api-app-create", "api", "app-list", "POST", CREATE_OWNED, url=url("app-list"),
             payload=lambda s, a: app_data(s, a, form=False), state=count("van.App"), grow=("app", "van")),
    Endpoint("api-app-put", "api", "app-detail", "PUT", OWNED, target=Scenario.app, url=url("app-detail", pk=pk),
             payload=lambda s, a: app_data(s, a, form=False), state=fields("description"), grow=("app", "van")),
    Endpoint("api-app-patch", "api", "app-detail", "PATCH", OWNED, target=Scenario.app, url=url("app-detail", pk=pk),
             payload=lambda s, a: {"description": "edited"}, state=fields("description"), grow=("app", "van")),
    Endpoint("api-app-delete", "api", "app-detail", "DELETE", OWNED, target=Scenario.app, url=url("app-detail", pk=pk), state=exists,
             grow=("app", "van")),
    Endpoint("api-custom-addon-create", "api", "custom-addon-list", "POST", PLATFORM_ADMIN, url=url("custom-addon-list"),
             payload=lambda s, _: tool_data("api-tool") | {"tags": ["gpu"]}, state=count("addons.CustomAddon"), grow="custom_addon"),
    Endpoint("api-ci-pipeline-create", "api", "ci-pipeline-list", "POST", CREATE_OWNED, url=url("ci-pipeline-list"),
             payload=lambda s, _: {"app": s.ci_app(PRIVATE).name, "van": s.van(PRIVATE).name},
             state=count("addons.CiPipeline"), grow=("van", "app")),
    Endpoint("api-ci-pipeline-patch", "api", "ci-pipeline-detail", "PATCH", OWNED, target=Scenario.pipeline,
             url=url("ci-pipeline-detail", pk=pk), payload=lambda s, p: {"branch": "release"}, state=fields("branch"),
             grow=("van", "app")),
    Endpoint("api-ci-pipeline-put", "api", "ci-pipeline-detail", "PUT", OWNED, target=Scenario.pipeline,
             url=url("ci-pipeline-detail", pk=pk), state=fields("test_command"), grow=("van", "app"),
             payload=lambda s, p: {"app": p.app.name, "van": p.van.name, "branch": "main", "test_image": "python:3.12-slim",
                                   "test_command": "pytest -q"}),
    Endpoint("api-ci-pipeline-delete", "api", "ci-pipeline-detail", "DELETE", OWNED, target=Scenario.pipeline,
             url=url("ci-pipeline-detail", pk=pk), state=exists, grow=("van", "app")),
    Endpoint("api-claim-create", "api", "claim-list", "POST", CREATE_OWNED, url=url("claim-list"),
             payload=lambda s, _: {"van": s.crossplane_van(PRIVATE).name, "name": f"c-{next(_seq)}", "environment": "dev",
                                   "node_count": 2, "node_size": "small"},
             state=count("addons.InfraClaim"), grow="van"),
    Endpoint("api-claim-patch", "api", "claim-detail", "PATCH", OWNED, target=Scenario.claim, url=url("claim-detail", pk=pk),
             payload=lambda s, c: {"node_count": 7}, state=fields("node_count"), grow="van"),
    Endpoint("api-claim-put", "api", "claim-detail", "PUT", OWNED, target=Scenario.claim, url=url("claim-detail", pk=pk),
             payload=lambda s, c: {"van": c.van.name, "name": c.name, "environment": c.environment, "node_count": 2,
                                   "node_size": "large"}, state=fields("node_size"), grow="van"),
    Endpoint("api-claim-delete", "api", "claim-detail", "DELETE", OWNED, target=Scenario.claim, url=url("claim-detail", pk=pk),
             state=exists, grow="van"),
    Endpoint("api-addon-seal", "api", "addon-installation-seal", "POST", OWNED, target=Scenario.sealing_addon,
             url=url("addon-installation-seal", pk=pk), state=lambda s, i: i.sealed_secrets.count(), grow="van",
             payload=lambda s, i: {"cluster": i.van.clusters.get(role="hub").name, "namespace": "payments", "name": "db",
                                   "scope": "strict", "data": {"password": "not-shown"}}),
    Endpoint("api-addon-installation-create", "api", "addon-installation-list", "POST", CREATE_OWNED,
             url=url("addon-installation-list"), payload=lambda s, _: {"van": s.van(PRIVATE).name, "slug": s.custom_addon().slug},
             state=count("addons.AddonInstallation", enabled=True), grow=("van", "custom_addon")),
    Endpoint("api-addon-enable", "api", "addon-installation-enable", "POST", OWNED, target=Scenario.addon_off,
             url=url("addon-installation-enable", pk=pk), state=fields("enabled"), grow="van"),
    Endpoint("api-addon-disable", "api", "addon-installation-disable", "POST", OWNED, target=Scenario.addon,
             url=url("addon-installation-disable", pk=pk), state=fields("enabled"), grow="van"),
    Endpoint("api-addon-put", "api", "addon-installation-detail", "PUT", OWNED, target=Scenario.addon,
             url=url("addon-installation-detail", pk=pk), payload=lambda s, i: {"settings": {"replicas": 3}},
             state=fields("settings"), grow="van"),
    Endpoint("api-addon-patch", "api", "addon-installation-detail", "PATCH", OWNED, target=Scenario.addon,
             url=url("addon-installation-detail", pk=pk), payload=lambda s, i: {"settings": {"replicas": 2}},
             state=fields("settings"), grow="van"),
    Endpoint("api-app-version", "api", "app-version", "POST", OWNED, target=Scenario.app, url=url("app-version", pk=pk),
             payload=lambda s, a: {"version": "2.0.0"}, state=fields("version"), grow=("app", "release", "van")),
    Endpoint("api-app-rollback", "api", "app-rollback", "POST", OWNED, target=Scenario.app,
             url=url("app-rollback", pk=pk, release_pk=lambda s, a: a.releases.first().pk), state=lambda s, a: a.releases.count(),
             grow=("app", "release", "van")),
    # Creating a rule needs change on some VAN (the serializer then offers only those).
    Endpoint("api-rule-create", "api", "rule-list", "POST", CREATE_OWNED, url=url("rule-list"),
             payload=lambda s, _: rule_json(s, None, van=s.van(PRIVATE)), state=count("van.DistributionRule"), grow=("rule", "edge")),
    Endpoint("api-rule-put", "api", "rule-detail", "PUT", OWNED, target=Scenario.rule, url=url("rule-detail", pk=pk),
             payload=rule_json, state=fields("order", "cluster_selector"), grow=("rule", "edge")),
    Endpoint("api-rule-patch", "api", "rule-detail", "PATCH", OWNED, target=Scenario.rule, url=url("rule-detail", pk=pk),
             payload=lambda s, r: {"order": 7}, state=fields("order"), grow=("rule", "edge")),
    Endpoint("api-rule-delete", "api", "rule-detail", "DELETE", OWNED, target=Scenario.rule, url=url("rule-detail", pk=pk),
             state=exists, grow=("rule", "edge")),
    # --- API: catalog
    Endpoint("api-entity-patch", "api", "entity-detail", "PATCH", OWNED, target=Scenario.entity,
             url=url("entity-detail", uid=lambda s, e: e.uid), payload=lambda s, e: {"visibility": other_visibility(e)},
             state=fields("visibility"), grow="entity"),
    Endpoint("api-location-create", "api", "location-list", "POST", CREATE_OWNED, url=url("location-list"),
             payload=lambda s, _: {"type": "git", "target": "https://git.example.net/new.git", "owner_team": "payments"},
             state=count("catalog.Location"), grow="location"),
    Endpoint("api-location-create-path", "api", "location-list", "POST", PLATFORM_ADMIN, url=url("location-list"),
             payload=lambda s, _: {"type": "path", "target": s.catalog_directory(), "owner_team": "payments"},
             state=count("catalog.Location"), grow="location"),
    Endpoint("api-location-delete", "api", "location-detail", "DELETE", OWNED, target=location_variant,
             url=url("location-detail", pk=pk), state=exists, grow="location"),
    Endpoint("api-location-refresh", "api", "location-refresh", "POST", OWNED, target=location_variant,
             url=url("location-refresh", pk=pk), state=audited("catalog.location_refresh"), grow="location"),
    # --- Backstage's catalog API (/api/catalog/): not in the OpenAPI schema, same rule. Its views try the session
    # first, so an anonymous call gets 403 (Backstage's NotAllowedError) rather than the rest of the API's 401.
    Endpoint("backstage-location-register", "api", "backstage-locations", "POST", CREATE_OWNED, url=url("backstage-locations"),
             anonymous_status=BACKSTAGE_ANONYMOUS,
             payload=lambda s, _: {"type": "url", "target": s.backstage_target(), "team": "payments"},
             state=count("catalog.Location"), grow="location"),
    Endpoint("backstage-location-register-file", "api", "backstage-locations", "POST", PLATFORM_ADMIN,
             url=url("backstage-locations"),
             anonymous_status=BACKSTAGE_ANONYMOUS,
             payload=lambda s, _: {"type": "file", "target": f"{s.catalog_directory()}/catalog-info.yaml", "team": "payments"},
             state=count("catalog.Location"), grow="location"),
    Endpoint("backstage-location-delete", "api", "backstage-location", "DELETE", OWNED, target=location_variant,
             anonymous_status=BACKSTAGE_ANONYMOUS,
             url=url("backstage-location", pk=lambda s, loc: str(loc.pk)), state=exists, grow="location"),
    Endpoint("backstage-location-update", "api", "backstage-location", "PUT", OWNED, target=location_variant,
             anonymous_status=BACKSTAGE_ANONYMOUS, url=url("backstage-location", pk=lambda s, loc: str(loc.pk)),
             payload=lambda s, loc: {"type": "url", "target": loc.target + "-moved"}, state=fields("target"),
             grow="location"),
    Endpoint("backstage-entity-delete", "api", "backstage-entity-by-uid", "DELETE", OWNED, target=Scenario.entity,
             anonymous_status=BACKSTAGE_ANONYMOUS, url=url("backstage-entity-by-uid", uid=lambda s, e: str(e.uid)),
             state=exists, grow="entity"),
    Endpoint("backstage-refresh", "api", "backstage-refresh", "POST", OWNED, target=Scenario.entity, url=url("backstage-refresh"),
             anonymous_status=BACKSTAGE_ANONYMOUS,
             payload=lambda s, e: {"entityRef": e.ref}, state=lambda s, e: audited("catalog.location_refresh")(s, e.location),
             grow="entity"),
    # Backstage's analyzeLocation: a dry run of registering the location (checked as POST /locations?dryRun=true,
    # so as a write); it answers 200 and stores nothing.
    Endpoint("backstage-analyze-location", "api", "backstage-analyze-location", "POST", CREATE_OWNED,
             url=url("backstage-analyze-location"), anonymous_status=BACKSTAGE_ANONYMOUS, htmx=True,
             payload=lambda s, _: {"location": {"type": "url", "target": s.backstage_target()}, "team": "payments"},
             state=lambda s, _: (apps.get_model("catalog.Location").objects.count(), AuditEvent.objects.count()),
             grow="location"),
    # --- Backstage's scaffolder API (/api/scaffolder/v2/): runs are owned by a team like a VAN; starting one (or a dry
    # run, which is checked as a write) is for users who may create for a team, and never for another team.
    Endpoint("scaffolder-task-create", "api", "scaffolder-tasks", "POST", CREATE_OWNED, url=url("scaffolder-tasks"),
             anonymous_status=BACKSTAGE_ANONYMOUS,
             payload=lambda s, _: {"templateRef": s.scaffolder_template(), "values": {"name": "y"}},
             state=count("catalog.ScaffolderRun"), grow="run"),
    Endpoint("scaffolder-dry-run", "api", "scaffolder-dry-run", "POST", CREATE_OWNED, url=url("scaffolder-dry-run"),
             anonymous_status=BACKSTAGE_ANONYMOUS, htmx=True,
             payload=lambda s, _: {"templateRef": s.scaffolder_template(), "values": {"name": "y"}},
             state=lambda s, _: (apps.get_model("catalog.ScaffolderRun").objects.count(), AuditEvent.objects.count()),
             grow_exempt="a dry run writes nothing; what it costs grows with the template's steps, not with data"),
    Endpoint("scaffolder-task-cancel", "api", "scaffolder-task-cancel", "POST", OWNED, target=Scenario.run,
             anonymous_status=BACKSTAGE_ANONYMOUS, url=url("scaffolder-task-cancel", task_id=lambda s, r: str(r.uid)),
             state=fields("state", "cancel_requested"), grow="run"),
    Endpoint("scaffolder-task-retry", "api", "scaffolder-task-retry", "POST", OWNED, target=Scenario.failed_run,
             anonymous_status=BACKSTAGE_ANONYMOUS, url=url("scaffolder-task-retry", task_id=lambda s, r: str(r.uid)),
             state=fields("state"), grow="run"),
]


# --- calling an endpoint --------------------------------------------------------------------------


def perform(endpoint: Endpoint, user, target_url: str, payload: dict):
    if endpoint.kind == "page":
        client = Client()
        if user is not None:
            client.force_login(user)
        extra = {"HTTP_HX_REQUEST": "true"} if endpoint.htmx else {}
        assert endpoint.method == "POST", "pages write with POST only"
        return client.post(target_url, payload, **extra)
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return getattr(api, endpoint.method.lower())(target_url, payload, format="json")


def is_success(endpoint: Endpoint, response) -> bool:
    if endpoint.htmx:
        return response.status_code == 200
    if endpoint.kind == "api":
        return response.status_code in (200, 201, 202, 204)
    if 300 <= response.status_code < 400:
        return not response["Location"].startswith(reverse("login"))
    return 200 <= response.status_code < 300


def expected_refusal(endpoint: Endpoint, outcome: str) -> tuple[int, ...]:
    if endpoint.refused_status is not None:
        return endpoint.refused_status
    return (404,) if outcome == "invisible" else (403,)


@dataclass
class Call:
    """One call of an endpoint: who, on which object, with what outcome expected."""

    outcome: str  # anonymous, invisible, forbidden, permitted
    who: str | None
    variant: str | None

    @property
    def label(self) -> str:
        return f"{self.outcome}:{self.who or 'anonymous'}" + (f"({self.variant})" if self.variant else "")


def calls(endpoint: Endpoint) -> list[Call]:
    rule = endpoint.rule
    who, variant = rule.permitted
    return [Call("anonymous", None, variant), *(Call("invisible", w, v) for w, v in rule.invisible),
            *(Call("forbidden", w, v) for w, v in rule.forbidden), Call("permitted", who, variant)]


class Prepared:
    """The endpoint's objects, URLs and payloads, built before the first request (building writes audit rows)."""

    def __init__(self, endpoint: Endpoint, scenario: Scenario, variants):
        self.endpoint, self.scenario = endpoint, scenario
        self.objects = {v: endpoint.target(scenario, v) if endpoint.target else None for v in variants}
        self.urls = {v: endpoint.url(scenario, obj) for v, obj in self.objects.items()}
        self.payloads = {v: endpoint.payload(scenario, obj) for v, obj in self.objects.items()}

    def state(self, variant):
        return self.endpoint.state(self.scenario, self.objects[variant])

    def call(self, call: Call):
        user = self.scenario.user(call.who) if call.who else None
        return perform(self.endpoint, user, self.urls[call.variant], self.payloads[call.variant])


def check_refused(prepared: Prepared, call: Call) -> None:
    endpoint = prepared.endpoint
    audit_before, state_before = AuditEvent.objects.count(), prepared.state(call.variant)
    response = prepared.call(call)
    body = response.content[:400]
    assert prepared.state(call.variant) == state_before, f"{call.label} changed the object ({response.status_code})"
    assert AuditEvent.objects.count() == audit_before, f"{call.label} wrote to the audit log ({response.status_code})"
    if call.outcome == "anonymous":
        if endpoint.kind == "page":
            assert response.status_code == 302 and response["Location"].startswith(reverse("login")), (call.label, response.status_code)
        else:
            assert response.status_code in endpoint.anonymous_status, (call.label, response.status_code, body)
    else:
        assert response.status_code in expected_refusal(endpoint, call.outcome), (call.label, response.status_code, body)


def check_permitted(prepared: Prepared, call: Call):
    endpoint = prepared.endpoint
    state_before = prepared.state(call.variant)
    response = prepared.call(call)
    assert is_success(endpoint, response), (call.label, response.status_code, response.content[:600])
    if endpoint.htmx:
        assert prepared.state(call.variant) == state_before, "a preview changed the object"
    else:
        assert prepared.state(call.variant) != state_before, f"{call.label} succeeded ({response.status_code}) but changed nothing"
    return response


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_write_endpoint_permissions(endpoint, scenario):
    """Anonymous, invisible and forbidden callers are refused and change nothing; the permitted one succeeds."""
    all_calls = calls(endpoint)
    prepared = Prepared(endpoint, scenario, {c.variant for c in all_calls})
    for call in all_calls:
        if call.outcome == "permitted":
            check_permitted(prepared, call)
        else:
            check_refused(prepared, call)


def _queries_of_permitted_call(prepared: Prepared, call: Call) -> int:
    """Queries of the permitted call, rolled back afterwards so it can be repeated on the same object."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            response = prepared.call(call)
        assert is_success(prepared.endpoint, response), (response.status_code, response.content[:400])
        transaction.set_rollback(True)
    return len(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.grow is not None], ids=lambda e: e.id)
def test_permitted_write_runs_constant_queries(endpoint, scenario):
    """The permitted call costs the same with 1 or 5 other objects of each of its kinds."""
    call = calls(endpoint)[-1]
    prepared = Prepared(endpoint, scenario, {call.variant})
    scenario.grow(endpoint.grow, 1)
    _queries_of_permitted_call(prepared, call)  # warm caches (content types, permissions)
    few = _queries_of_permitted_call(prepared, call)
    scenario.grow(endpoint.grow, 4)
    many = _queries_of_permitted_call(prepared, call)
    assert many <= few, f"{endpoint.id}: {few} queries with 1 other of each of {endpoint.grow}, {many} with 5"


def test_every_endpoint_has_a_constant_query_check_or_a_reason():
    """A new endpoint must choose: the kinds of object to grow for the constant-query check, or why none fits."""
    for endpoint in ENDPOINTS:
        assert (endpoint.grow is None) != (endpoint.grow_exempt is None), \
            f"{endpoint.id}: give exactly one of grow= (kinds of object to add more of) and grow_exempt= (why not)"
        if endpoint.grow is not None:
            kinds = (endpoint.grow,) if isinstance(endpoint.grow, str) else endpoint.grow
            assert kinds and set(kinds) <= GROW_KINDS, f"{endpoint.id}: grow={endpoint.grow!r}, known kinds: {sorted(GROW_KINDS)}"
        else:
            assert endpoint.grow_exempt.strip(), f"{endpoint.id}: an empty grow_exempt reason"


# --- every write endpoint has an entry ------------------------------------------------------------

# URL prefixes the walker does not descend into.
SKIPPED_PREFIXES = {
    "admin/": "Django admin: staff permissions per model; the git-truth admins refuse every write (tests/van/test_admin.py)",
}

# Write endpoints without a registry entry, each with the reason. "ANY": a function view, whose methods
# the walker cannot read, so it counts as accepting every write method.
EXEMPT = {
    ("login", "POST"): "Django's login form: signs the caller in, acts on no portal object",
    ("login", "PUT"): "Django's login form (FormView answers PUT like POST): signs the caller in",
    ("logout", "POST"): "Django's logout: ends the caller's own session",
    ("healthz", "ANY"): "readiness probe (a function view): reads database, broker and repository, writes nothing",
    ("portal:switch_team", "ANY"): "stores the chosen team in the caller's own session, only one of the caller's own teams "
                                   "(tests/portal/test_views.py::test_team_switcher_only_accepts_own_teams)",
    ("portal:profile", "POST"): "rotates the caller's own API token: no object another user could see or be refused",
    ("entity-validate", "POST"): "validates a posted entity document; stores nothing",
    ("backstage-entities-by-refs", "POST"): "Backstage's batch read (a POST for long ref lists); restricted like every read",
    ("backstage-entities-by-query", "POST"): "Backstage's queryEntitiesByPredicate (a POST for a predicate body); "
                                             "restricted like every read",
    ("backstage-entity-facets", "POST"): "Backstage's getEntityFacetsByPredicate (a POST for a predicate body); "
                                         "restricted like every read",
    ("backstage-locations-by-query", "POST"): "Backstage's queryLocations (a POST for a predicate body); restricted like every read",
    ("backstage-validate-entity", "POST"): "Backstage's validate-entity: validates a posted document, stores nothing",
}


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield prefix + str(pattern.pattern), f"{namespace}{pattern.name}" if pattern.name else None, pattern.callback


def write_methods(callback) -> set[str]:
    """The write methods a URL pattern's view answers: a viewset's routed actions, a class's handlers."""
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a DRF viewset: only the routed methods it does not refuse outright
        return {m.upper() for m in actions if m in WRITE_METHODS and m in view_class.http_method_names}
    if view_class is not None:
        return {m.upper() for m in WRITE_METHODS if m in view_class.http_method_names and hasattr(view_class, m)}
    return {"ANY"}  # a function view: its methods cannot be read


def url_conf_writes() -> dict[tuple[str | None, str], str]:
    """(URL name, method) -> route of every write endpoint in the URL conf."""
    found = {}
    for route, name, callback in _walk(get_resolver().url_patterns):
        if any(route.startswith(prefix) for prefix in SKIPPED_PREFIXES):
            continue
        for method in write_methods(callback):
            found.setdefault((name, method), route)
    return found


def schema_writes() -> dict[tuple[str, str], str]:
    """(URL name, method) -> path of every write operation in the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, operations in schema["paths"].items():
        for method in operations:
            if method in WRITE_METHODS:
                name = resolve(re.sub(r"\{[^}]+\}", "1", path)).view_name
                found[(name, method.upper())] = path
    return found


def covered(key, registry=None) -> bool:
    registry = {(e.name, e.method) for e in (ENDPOINTS if registry is None else registry)}
    name, method = key
    return key in EXEMPT or key in registry or (method == "ANY" and any(n == name for n, _ in registry))


def test_every_write_in_the_url_conf_is_covered():
    writes = url_conf_writes()
    unnamed = [route for (name, _), route in writes.items() if name is None]
    assert not unnamed, f"write endpoints without a URL name cannot be matched: {unnamed}"
    missing = sorted(f"{method} {route} ({name})" for (name, method), route in writes.items() if not covered((name, method)))
    assert not missing, "write endpoints with no entry in ENDPOINTS and no exemption in EXEMPT:\n" + "\n".join(missing)


def test_every_write_in_the_openapi_schema_is_covered():
    writes = schema_writes()
    assert writes, "the schema lists no write operation: the walker is broken"
    missing = sorted(f"{method} {path} ({name})" for (name, method), path in writes.items() if not covered((name, method)))
    assert not missing, "API writes with no entry in ENDPOINTS and no exemption in EXEMPT:\n" + "\n".join(missing)


def test_registry_and_exemptions_name_real_endpoints():
    """No stale entries: each names a write endpoint that exists, with the kind its route says."""
    writes = url_conf_writes()
    names = {name for name, _ in writes}
    for endpoint in ENDPOINTS:
        assert (endpoint.name, endpoint.method) in writes or (endpoint.name, "ANY") in writes, f"{endpoint.id}: no such write"
        route = next(r for (n, _), r in writes.items() if n == endpoint.name)
        assert (endpoint.kind == "api") == route.startswith("api/"), f"{endpoint.id}: kind {endpoint.kind} but route {route}"
    for name, method in EXEMPT:
        assert name in names and (name, method) in writes, f"exemption of {method} {name}: no such write endpoint"
    ids = [e.id for e in ENDPOINTS]
    assert len(ids) == len(set(ids)), "duplicate endpoint ids"


def test_removing_an_entry_is_noticed():
    """The walker's coverage check really depends on the registry (not on the exemptions alone)."""
    writes = url_conf_writes()
    for endpoint in ENDPOINTS:
        without = [e for e in ENDPOINTS if (e.name, e.method) != (endpoint.name, endpoint.method)]
        assert not covered((endpoint.name, endpoint.method), without), f"{endpoint.id} is covered without its entry"
    assert all(covered(key) for key in writes)

