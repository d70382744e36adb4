"""Demo VANs and the story the README's quick tour walks through.

``demo``: a public VAN of the platform team, a hub and three edges across Dev and
Prod, tagged apps and distribution rules. ``search-lab``: a private VAN of the
Search team, all Dev, that other teams cannot see. Then what happened since: a
Dev upgrade in the lab by bob that went straight to git, a Prod upgrade by alice
waiting for a Prod approver (pat, of the platform team), and a hand edit pushed
to the GitOps repository outside Wayline, flagged by the check for outside edits.

The Sealed Secrets controller key pairs are generated here and thrown away: only
the certificates are kept (Wayline never holds a controller's private key), so
the demo's sealed files are real but nobody can open them.
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.contrib.auth import get_user_model

from portal.models import Team
from van import services
from van.models import App, AppRelease, Cluster, DistributionRule, Van

CLUSTERS = [
    # name, environment, provider, tags
    ("hub-eu", "prod", "onprem", "region=eu, role=hub"),
    ("dev-eu", "dev", "eks", "region=eu, tier=silver"),
    ("dev-us", "dev", "gke", "region=us, gpu"),
    ("prod-eu", "prod", "aks", "region=eu, tier=gold, pci"),
]
APPS = [
    # name, team, component, source, tags, extra
    ("checkout-service", "payments", "component:default/checkout-service", "kustomize", "payments, tier=backend",
     {"image": "registry.example.net/payments/checkout", "version": "2.4.1", "overrides": {"prod": {"version": "2.4.0"}}}),
    ("payment-gateway", "payments", "component:default/payment-gateway", "kustomize", "payments, pci",
     {"image": "registry.example.net/payments/gateway", "version": "1.9.3"}),
    ("search-query", "search", "component:default/search-query", "helm", "search",
     {"chart": "search-query", "chart_version": "0.7.2", "image": "registry.example.net/search/query", "version": "3.1.0",
      "values": {"replicas": 2}}),
    ("search-indexer", "search", "component:default/search-indexer", "kustomize", "search, gpu",
     {"image": "registry.example.net/search/indexer", "version": "3.1.0"}),
    ("splunk-forwarder", "platform", "", "helm", "observability",
     {"repo_url": "https://splunk.github.io/splunk-connect-for-kubernetes/", "chart": "splunk-connect-for-kubernetes", "chart_version": "1.5.4"}),
]
RULES = [
    # name, order, app tags, match, cluster selector, environments, sync
    # The narrower rule first: PCI apps go to gold PCI clusters with manual sync, the rest of Payments by region.
    ("pci-gold-only", 10, "pci", "all", "pci, tier=gold", ["prod"], "manual"),
    ("payments-eu", 20, "payments", "all", "region=eu, !gpu", [], "automated"),
    ("search-gpu", 30, "search", "all", "gpu", [], "automated"),
    ("search-dev", 40, "search", "all", "region in (eu,us)", ["dev"], "automated"),
    ("observe-everything", 50, "observability", "all", "", [], "automated"),
]

# The Search team's private lab: its own hub and a GPU edge, all Dev, so its changes need no approval.
LAB_CLUSTERS = [
    ("lab-hub", "dev", "gke", "region=us, role=hub"),
    ("lab-gpu", "dev", "gke", "region=us, gpu"),
]
LAB_APP = ("ranking-experiment", "registry.example.net/search/ranking", "0.3.0", "search-lab, experiment")

# What happened after the VANs were set up (each done once, found again by its release).
DEV_UPGRADE = ("bob", "ranking-experiment", "0.4.0")  # the lab is all Dev: committed at once
PROD_UPGRADE = ("alice", "payment-gateway", "1.10.0")  # reaches prod-eu: waits for a Prod approver
# A hand edit pushed straight to the GitOps repository by someone on call (not a portal user).
OUTSIDE_EDIT = {
    "path": "vans/demo/hub/applicationsets/observe-everything/splunk-forwarder.yaml",
    "old": 'targetRevision: "1.5.4"',
    "new": 'targetRevision: "1.5.5"',
    "message": "Hotfix: splunk-connect 1.5.5 (straight in git, no time for the portal)",
    "author": ("Olly Oncall", "olly.oncall@wayline.example"),
}


def throwaway_sealing_certificate(common_name: str) -> str:
    """A Sealed Secrets controller certificate whose private key is discarded at once."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650)).sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def seed(*, actor):
    """Create the demo VANs and their story; each part is skipped when it is there already (idempotent)."""
    teams = {t.slug: t for t in Team.objects.filter(slug__in=["platform", "payments", "search"])}
    platform = teams.get("platform") or next(iter(teams.values()), None)
    if platform is None:
        return actor
    van = Van.objects.filter(name="demo").first() or _demo_van_create(actor, teams, platform)
    _approve_demo_changes(actor)
    if "search" in teams:
        _lab_van_seed(actor=_user("bob") or actor, team=teams["search"])
    _upgrade_once(*DEV_UPGRADE)
    _upgrade_once(*PROD_UPGRADE)
    _outside_edit_once(van)
    _tool_once(actor)
    _claim_once(actor, van)
    _pipeline_once(actor, van)
    return actor


DEMO_MODULE = "git::https://git.example.net/platform/tf-cluster.git?ref=v1.2.0"


def _claim_once(actor, van) -> None:
    """A Dev cluster claimed from the portal (Crossplane on the hub applies it), committed at once."""
    from addons.models import InfraClaim
    from addons.services import claim_create

    if actor is None or InfraClaim.objects.filter(van=van).exists() or not van.addons.filter(slug="crossplane", enabled=True).exists():
        return
    claim_create(actor=actor, van=van, name="analytics-dev", environment="dev", node_count=3, node_size="medium")
    _apply_now()


def _pipeline_once(actor, van) -> None:
    """Checkout's golden CI pipeline on the demo hub, set up by the demo admin (it takes change on both the app and
    the VAN: Payments' app, the platform's hub), approved (the hub is Prod) and merged, so the story's one waiting
    change stays the Prod upgrade. The demo knows the address it serves, which it gives as WAYLINE_PUBLIC_URL."""
    from django.conf import settings as django_settings

    from addons.models import CiPipeline
    from addons.services import pipeline_create
    from portal.gitops import engine
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet
    from portal.gitops.services import changeset_approve

    app = App.objects.filter(name="checkout-service").first()
    if actor is None or app is None or CiPipeline.objects.filter(app=app).exists() or not django_settings.WAYLINE_PUBLIC_URL:
        return
    if set(van.addons.filter(enabled=True).values_list("slug", flat=True)) >= {"argo-workflows", "sealed-secrets"}:
        pipeline = pipeline_create(actor=actor, app=app, van=van, branch="main", test_image="python:3.12-slim",
                                   test_command="make test")
        _apply_now()
        waiting = ChangeSet.objects.filter(owner_type__model="cipipeline", owner_id=pipeline.pk,
                                           status=ChangeSetStatus.AWAITING_APPROVAL)
        for changeset in waiting:  # the admin set it up, so another Prod approver decides it
            approver = _user("pat")
            if approver is not None:
                changeset_approve(actor=approver, changeset=changeset, comment="Demo data")
                engine.merge_approved(changeset.pk)


def _tool_once(actor) -> None:
    """A tool ops added from git (the white paper's Splunk), for clusters tagged logging: listed, off everywhere."""
    from addons.models import CustomAddon
    from addons.services import custom_addon_create

    if actor is None or CustomAddon.objects.filter(slug="splunk").exists():
        return
    custom_addon_create(actor=actor, slug="splunk", name="Splunk Connect", summary="Ships the cluster's logs to Splunk.",
                        upstream="https://github.com/splunk/splunk-connect-for-kubernetes", namespace="splunk",
                        source_kind="git", repo_url="https://git.example.net/platform/splunk-connect.git",
                        path="deploy/base", version="v1.5.3", placement="tagged", tags="logging")


def _user(username: str):
    return get_user_model().objects.filter(username=username).first()


def _cluster(actor, name, env, provider, tags, team, visibility="public") -> Cluster:
    return Cluster.objects.filter(name=name).first() or services.cluster_create(
        actor=actor, name=name, api_url=f"https://{name}.k8s.example.net:6443", owner_team=team,
        environment=env, provider=provider, tags=tags, visibility=visibility,
        sealing_cert=throwaway_sealing_certificate(f"sealed-secrets-{name}"),
        credentials_kind="" if "hub" in name else "token",
        credentials="" if "hub" in name else f"demo-token-{name}-not-a-real-credential",
        description="Demo cluster (no real API server behind it).",
    )


def _demo_van_create(actor, teams, platform) -> Van:
    clusters = {name: _cluster(actor, name, env, provider, tags, platform) for name, env, provider, tags in CLUSTERS}
    for name, team, component, source, tags, extra in APPS:
        if App.objects.filter(name=name).exists():
            continue
        fields = {"repo_url": f"https://git.example.net/{team}/{name}.git", "path": "deploy" if source != "helm" else ""} | extra
        if source == "helm" and "repo_url" not in extra:
            fields["repo_url"] = f"https://charts.example.net/{team}"
        services.app_create(actor=actor, name=name, owner_team=teams.get(team, platform), namespace=team, source_kind=source,
                            tags=tags, component_ref=component, **fields)
    # Without a hub address the VAN does not publish yet, so the whole demo lands as one change set.
    van = services.van_create(
        actor=actor, name="demo", owner_team=platform, hub=clusters["hub-eu"],
        edges=[clusters["dev-eu"], clusters["dev-us"], clusters["prod-eu"]], reachability="loadbalancer",
        hub_host="", description="Demo network: a hub in the EU and edges in Dev and Prod.",
    )
    for name, order, app_tags, match, selector, envs, sync in RULES:
        if not DistributionRule.objects.filter(van=van, name=name).exists():
            services.rule_create(actor=actor, van=van, name=name, order=order, app_tags=app_tags, app_match=match,
                                 cluster_selector=selector, environments=envs, sync=sync)
    # Crossplane's cluster module, set while the VAN cannot publish yet, so it lands with the rest of the demo.
    from addons.services import addon_settings_set

    crossplane = van.addons.filter(slug="crossplane").first()
    if crossplane is not None:
        addon_settings_set(actor=actor, installation=crossplane, settings=crossplane.settings | {"cluster_module": DEMO_MODULE})
    # Proposed by Wayline itself (no actor) so that the demo admin may approve it: nobody approves their own change.
    services.van_update(actor=None, obj=van, hub_host="skupper.hub-eu.example.net")
    return van


def _apply_now() -> None:
    """No worker runs while the demo seeds: apply what is pending now (a Dev change lands, a Prod one waits)."""
    from portal.gitops import engine
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet

    for repo_id in set(ChangeSet.objects.filter(status=ChangeSetStatus.PENDING).values_list("repo_id", flat=True)):
        engine.apply_pending(repo_id)


def _approve_demo_changes(actor) -> None:
    """The demo VAN touches Prod, so its first change set waits for approval; the demo admin approves it and it is
    merged now, so that what the story changes next starts from the VAN as it is in git."""
    from django.db.models import Q

    from portal.gitops import engine
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet
    from portal.gitops.services import changeset_approve

    if actor is None or not getattr(actor, "is_superuser", False):
        return
    _apply_now()
    # Only the setup change Wayline proposed itself: a change a person made is left to its approvers.
    # The VAN's own, and its add-ons' (each add-on owns its change sets).
    setup = ChangeSet.objects.filter(Q(message="VAN demo: update") | Q(message__regex=r"^add-on [a-z0-9-]+ of VAN demo: update$"),
                                     status=ChangeSetStatus.AWAITING_APPROVAL, author__isnull=True)
    for changeset in setup.filter(approved_at__isnull=True):
        changeset_approve(actor=actor, changeset=changeset, comment="Demo data")
    for changeset in setup:
        engine.merge_approved(changeset.pk)


def _lab_van_seed(*, actor, team: Team) -> None:
    """The Search team's private VAN (bob sees it, alice does not), with a private app and its rule."""
    if Van.objects.filter(name="search-lab").exists():
        return
    hub, edge = (_cluster(actor, name, env, provider, tags, team, visibility="private")
                 for name, env, provider, tags in LAB_CLUSTERS)
    name, image, version, tags = LAB_APP
    if not App.objects.filter(name=name).exists():
        services.app_create(actor=actor, name=name, owner_team=team, namespace="search", visibility="private",
                            source_kind="kustomize", repo_url=f"https://git.example.net/search/{name}.git", path="deploy",
                            image=image, version=version, tags=tags,
                            description="Learning-to-rank model under test; not for other teams' eyes yet.")
    van = services.van_create(
        actor=actor, name="search-lab", owner_team=team, hub=hub, edges=[edge], visibility="private",
        hub_host="skupper.lab-hub.example.net", description="Search's private lab: experiments on GPUs, Dev only.",
    )
    services.rule_create(actor=actor, van=van, name="lab-experiments", order=10, app_tags="experiment", app_match="all",
                         cluster_selector="gpu", environments=[], sync="automated")
    _apply_now()


def _upgrade_once(username: str, app_name: str, version: str) -> None:
    """``username`` upgrades ``app_name`` to ``version`` through the portal's service, once."""
    user, app = _user(username), App.objects.filter(name=app_name).first()
    if user is None or app is None or AppRelease.objects.filter(app=app, version=version).exists():
        return
    services.app_version_set(actor=user, app=app, version=version)
    _apply_now()


def _outside_edit_once(van: Van) -> None:
    from portal.gitops.demo import outside_edit_push
    from portal.gitops.services import gitops_default_repo

    outside_edit_push(repo=van.repo or gitops_default_repo(), **OUTSIDE_EDIT)
