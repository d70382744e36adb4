"""Demo VAN: a hub and three edges across Dev and Prod, tagged apps and distribution rules.

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

from portal.models import Team
from van import services
from van.models import App, Cluster, DistributionRule, Van

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
    ("payments-eu", 10, "payments", "all", "region=eu, !gpu", [], "automated"),
    ("pci-gold-only", 20, "pci", "all", "pci, tier=gold", ["prod"], "manual"),
    ("search-gpu", 30, "search", "all", "gpu", [], "automated"),
    ("search-dev", 40, "search", "all", "region in (eu,us)", ["dev"], "automated"),
    ("observe-everything", 50, "observability", "all", "", [], "automated"),
]


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
    """Create the demo VAN (idempotent: an existing demo VAN is left as it is)."""
    if Van.objects.filter(name="demo").exists():
        return actor
    teams = {t.slug: t for t in Team.objects.filter(slug__in=["platform", "payments", "search"])}
    platform = teams.get("platform") or next(iter(teams.values()), None)
    if platform is None:
        return actor
    clusters = {}
    for name, env, provider, tags in CLUSTERS:
        cluster = Cluster.objects.filter(name=name).first() or services.cluster_create(
            actor=actor, name=name, api_url=f"https://{name}.k8s.example.net:6443", owner_team=platform,
            environment=env, provider=provider, tags=tags, sealing_cert=throwaway_sealing_certificate(f"sealed-secrets-{name}"),
            credentials_kind="" if name == "hub-eu" else "token",
            credentials="" if name == "hub-eu" else f"demo-token-{name}-not-a-real-credential",
            description="Demo cluster (no real API server behind it).",
        )
        clusters[name] = cluster
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
    # Proposed by Wayline itself (no actor) so that the demo admin may approve it: nobody approves their own change.
    services.van_update(actor=None, obj=van, hub_host="skupper.hub-eu.example.net")
    _approve_demo_changes(actor)
    return actor


def _approve_demo_changes(actor) -> None:
    """The demo VAN touches Prod, so its change set waits for approval; the demo admin approves it."""
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet
    from portal.gitops.services import changeset_approve

    if actor is None or not getattr(actor, "is_superuser", False):
        return
    from portal.gitops import engine

    # No worker runs while the demo seeds: apply the VAN's changes now so there is something to approve.
    pending = ChangeSet.objects.filter(status=ChangeSetStatus.PENDING, message__startswith="VAN demo:")
    for repo_id in set(pending.values_list("repo_id", flat=True)):
        engine.apply_pending(repo_id)
    for changeset in ChangeSet.objects.filter(status=ChangeSetStatus.AWAITING_APPROVAL, message__startswith="VAN demo:"):
        changeset_approve(actor=actor, changeset=changeset, comment="Demo data")
