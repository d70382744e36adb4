"""Desired state equals git: random sequences of upgrades, rollbacks, approvals, rejections, outside edits and
lost worker tasks against a real bare repository (a property-based test with hypothesis).

After every step, once the engine has run (or a lost task was swept up, or a worker died between its push and
its database commit), for the app's Prod ApplicationSet:
git holds what the portal renders from its database, or an open change of the VAN will write exactly that,
or the pages show why not (they mark the rejected or conflicting change git does not hold, or the file is
flagged as edited outside Wayline: the same selector the pages use). And always:
no commit on main touches a Prod path without an approval of the revision it carries, each change is
committed at most once, and nothing applied is missing from its commit.
"""
from __future__ import annotations

import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.gitops import engine
from portal.gitops.choices import ApprovalDecision, ChangeSetStatus
from portal.gitops.models import ChangeSet, ManagedFile
from portal.gitops.selectors import changes_not_in_git
from portal.gitops.services import DEFAULT_ENVIRONMENTS, changeset_approve, changeset_reject, environments_ensure
from tests.factories import make_user
from tests.gitops.conftest import Bare
from tests.van.conftest import EDGE_TOKEN
from van import services
from van.services import van_render_files

pytestmark = pytest.mark.django_db

APPSET = "vans/demo/hub/applicationsets/payments-prod/payments-api.yaml"
OPS = st.one_of(
    st.tuples(st.just("upgrade"), st.integers(1, 9)),
    st.tuples(st.just("rollback"), st.integers(0, 5)),
    # 0: the newest waiting change; 1: with the revision seen before the last edit (stale); 2: the oldest one;
    # 3: the newest, but the merge task is lost (a sweep or a dying worker merges it later); 4: the newest, merged
    # by a worker that dies after its push
    st.tuples(st.just("approve"), st.integers(0, 4)),
    st.tuples(st.just("approve"), st.integers(0, 4)),
    st.tuples(st.just("reject"), st.just(0)),
    st.tuples(st.just("outside_edit"), st.integers(1, 3)),
    st.tuples(st.just("lost_upgrade"), st.integers(1, 9)),  # the worker never gets the task: the sweep must
    st.tuples(st.just("sweep"), st.just(0)),
    st.tuples(st.just("crash"), st.just(0)),  # a worker pushes, then dies before its database commit
)


class _Rollback(Exception):
    pass


class _WorkerDied(Exception):
    pass


def _git(path, *args) -> str:
    return subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, text=True).stdout


class World:
    def __init__(self, capture, tmp, hub_keys, edge_keys, n):
        self.capture = capture
        self.admin = make_user(f"root{n}", superuser=True)
        self.approver = make_user(f"ops{n}", superuser=True)
        self.alice = make_user(f"alice{n}")
        from tests.factories import make_team

        self.team = make_team(f"payments{n}", members=[self.alice], actor=self.admin)
        self.bare = Bare(tmp / f"gitops-{n}.git", tmp / f"human-{n}")
        mk = self.call
        hub = mk(services.cluster_create, actor=self.admin, name=f"hub{n}", api_url="https://hub.example.net:6443",
                 owner_team=self.team, environment="dev", provider="onprem", sealing_cert=hub_keys[1])
        prod = mk(services.cluster_create, actor=self.admin, name=f"edge-prod{n}", api_url="https://p.example.net:6443",
                  owner_team=self.team, environment="prod", provider="eks", tags="tier=gold", sealing_cert=edge_keys[1],
                  credentials_kind="token", credentials=f"{EDGE_TOKEN}-{n}")
        self.van = mk(services.van_create, actor=self.admin, name="demo", owner_team=self.team, hub=hub, edges=[prod],
                      hub_host="hub.example.net")
        self.app = mk(services.app_create, actor=self.admin, name="payments-api", owner_team=self.team, namespace="payments",
                      repo_url="https://git.example.net/p.git", source_kind="kustomize", path="deploy",
                      image="registry.example.net/payments-api", version="1.0.0", tags="payments")
        mk(services.rule_create, actor=self.admin, van=self.van, name="payments-prod", app_tags="payments", cluster_selector="tier=gold")
        self.approve_all()
        self.seen_revision: dict[int, int] = {}

    def call(self, fn, **kwargs):
        with self.capture(execute=True):
            return fn(**kwargs)

    def waiting(self, oldest: bool = False) -> ChangeSet | None:
        waiting = ChangeSet.objects.filter(owner_id=self.van.pk, status=ChangeSetStatus.AWAITING_APPROVAL, approved_at__isnull=True)
        return waiting.order_by("pk" if oldest else "-pk").first()

    def approve_all(self):
        for cs in ChangeSet.objects.filter(status=ChangeSetStatus.AWAITING_APPROVAL, approved_at__isnull=True):
            self.call(changeset_approve, actor=self.approver, changeset=cs, revision=cs.revision)

    def sweep(self):
        for repo_id in set(ChangeSet.objects.values_list("repo_id", flat=True)):
            engine.apply_pending(repo_id)
        for pk in ChangeSet.objects.filter(status=ChangeSetStatus.AWAITING_APPROVAL, approved_at__isnull=False).values_list("pk", flat=True):
            engine.merge_approved(pk)

    def step(self, op, arg):
        self.app.refresh_from_db()
        if op in ("upgrade", "lost_upgrade"):
            waiting = self.waiting()
            if waiting:
                self.seen_revision[waiting.pk] = waiting.revision
            version = f"1.{arg}.0"
            if op == "upgrade":
                self.call(services.app_version_set, actor=self.alice, app=self.app, version=version)
            else:
                services.app_version_set(actor=self.alice, app=self.app, version=version)  # its on-commit task is lost
        elif op == "rollback":
            releases = list(self.app.releases.order_by("pk"))
            self.call(services.app_rollback, actor=self.alice, app=self.app, release=releases[min(arg, len(releases) - 1)])
        elif op == "approve":
            waiting = self.waiting(oldest=arg == 2)
            if waiting is None:
                return
            seen = self.seen_revision.get(waiting.pk)
            if arg == 1 and seen is not None and seen != waiting.revision:
                with pytest.raises(ValidationError, match="updated since"):
                    self.call(changeset_approve, actor=self.approver, changeset=waiting, revision=seen)
                waiting.refresh_from_db()
                assert waiting.approved_at is None
            elif arg in (3, 4):
                changeset_approve(actor=self.approver, changeset=waiting, revision=waiting.revision)
                if arg == 4:
                    self.crash()
            else:
                self.call(changeset_approve, actor=self.approver, changeset=waiting, revision=waiting.revision)
        elif op == "reject":
            waiting = self.waiting()
            if waiting is not None:
                self.call(changeset_reject, actor=self.approver, changeset=waiting, revision=waiting.revision)
        elif op == "outside_edit":
            if self.bare.read(APPSET) is not None:
                self.bare.human_push(APPSET, self.bare.read(APPSET) + f"# hand edit {arg}\n")
                engine.sync_repo(self.repo_id())
        elif op == "sweep":
            self.sweep()
        elif op == "crash":
            self.crash()

    def crash(self):
        """A worker runs the pending work, pushes, and dies before its database commit."""
        try:
            with transaction.atomic():  # what it pushed stays in git; what it wrote to the database goes
                self.sweep()
                raise _WorkerDied
        except _WorkerDied:
            pass

    def repo_id(self) -> int:
        return ManagedFile.objects.values_list("repo_id", flat=True).first()

    def check(self):
        self.app.refresh_from_db()
        desired = van_render_files(van=self.van)[APPSET]
        in_git = self.bare.read(APPSET)
        if in_git != desired:
            will_write = [cs for cs in ChangeSet.objects.filter(owner_id=self.van.pk, status__in=["pending", "awaiting_approval"])
                          if cs.files.filter(path=APPSET, content=desired).exists()]
            # Else the pages show why git differs: the rule page marks the change git does not hold (rejected, in
            # conflict), or the file is flagged as edited outside Wayline.
            marked = changes_not_in_git(user=self.alice, owner=self.van, prefixes=[APPSET])
            flagged = ManagedFile.objects.filter(path=APPSET, drift_detected_at__isnull=False).exists()
            assert will_write or marked or flagged, (
                f"app {self.app.version}: git holds another Prod ApplicationSet and nothing pending will write the portal's")
        # Every commit on main that touches a Prod path carries an approval of the revision it shows.
        for line in _git(self.bare.path, "log", "--format=%H", "main", "--", APPSET).split():
            cs = ChangeSet.objects.filter(commit_sha=line).first()
            if cs is None:
                continue  # an outside edit: flagged, not Wayline's
            assert cs.environment.requires_approval
            assert cs.approvals.filter(decision=ApprovalDecision.APPROVE, revision=cs.revision).exists(), f"#{cs.pk} unapproved"
        # Nothing applied twice, nothing applied missing.
        bodies = _git(self.bare.path, "log", "--format=%B", "main")
        for cs in ChangeSet.objects.filter(status=ChangeSetStatus.APPLIED):
            assert bodies.count(f"Wayline-Change: {cs.pk}\n") <= 1, f"#{cs.pk} committed twice"
            for f in cs.files.all():
                at_commit = self.bare.read(f.path, ref=cs.commit_sha)
                assert at_commit == f.content, f"#{cs.pk} recorded applied without its content for {f.path}"


_examples = iter(range(10 ** 6))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=2, max_size=7))
def test_desired_state_equals_git_or_a_pending_change(ops, django_capture_on_commit_callbacks, tmp_path, hub_keys, edge_keys,
                                                       settings_override):
    from portal.gitops.gitrepo import ensure_bare_repo

    n = next(_examples)
    environments_ensure(DEFAULT_ENVIRONMENTS)
    path = ensure_bare_repo(tmp_path / f"gitops-{n}.git", "main")
    settings_override.WAYLINE_GITOPS_URL = str(path)
    try:
        with transaction.atomic():
            world = World(django_capture_on_commit_callbacks, tmp_path, hub_keys, edge_keys, n)
            world.check()
            for op, arg in ops:
                world.step(op, arg)
                world.check()
            world.sweep()
            world.approve_all()
            world.sweep()
            world.check()
            raise _Rollback
    except _Rollback:
        pass


@pytest.fixture
def settings_override(settings):
    return settings
