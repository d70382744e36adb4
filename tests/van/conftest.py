"""Key pairs and a sample VAN for the rendering tests (generated once per session: RSA is slow)."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from van.labels import selector_parse, tags_parse
from van.rendering import AppSpec, ClusterSpec, Credentials, EnvironmentOverride, RuleSpec, VanSpec
from van import services
from van.rendering.pki import link_ca_issue, link_client_issue

EDGE_TOKEN = "edge-bearer-token-do-not-leak-7f3a9c"


def controller_key_pair(common_name: str) -> tuple[rsa.RSAPrivateKey, str]:
    """A throwaway Sealed Secrets controller key pair: (private key, certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="session")
def hub_keys():
    return controller_key_pair("sealed-secrets-hub")


@pytest.fixture(scope="session")
def edge_keys():
    return controller_key_pair("sealed-secrets-edge")


@pytest.fixture(scope="session")
def link_material():
    ca = link_ca_issue(van_name="demo")
    clients = {name: link_client_issue(ca=ca, edge_name=name) for name in ("edge-eu", "edge-us", "edge-prod", "edge-new")}
    return ca, clients


def make_edge(name, environment, tags, edge_keys, link_material, api_url=None):
    cert, key = link_material[1][name]
    return ClusterSpec(
        name=name,
        environment=environment,
        api_url=api_url or f"https://{name}.example.net:6443",
        tags=tuple(tags_parse(tags)),
        credentials=Credentials(bearer_token=f"{EDGE_TOKEN}-{name}"),
        sealing_cert_pem=edge_keys[1],
        link_cert_pem=cert,
        link_key_pem=key,
    )


@pytest.fixture(scope="session")
def sample_van(hub_keys, edge_keys, link_material):
    hub = ClusterSpec(name="hub", environment="prod", api_url="https://hub.example.net:6443", tags=tuple(tags_parse("region=eu")), sealing_cert_pem=hub_keys[1])
    edges = (
        make_edge("edge-eu", "dev", "region=eu, gpu", edge_keys, link_material),
        make_edge("edge-us", "dev", "region=us", edge_keys, link_material),
        make_edge("edge-prod", "prod", "region=eu, tier=gold", edge_keys, link_material),
    )
    apps = (
        AppSpec(name="payments-api", namespace="payments", source_kind="kustomize", repo_url="https://git.example.net/payments.git",
                path="deploy", image="registry.example.net/payments-api", version="1.4.2", tags=tuple(tags_parse("payments, tier=backend")),
                overrides=(("prod", EnvironmentOverride(version="1.4.1")),)),
        AppSpec(name="ledger", namespace="payments", source_kind="helm", repo_url="https://charts.example.net", chart="ledger",
                chart_version="2.1.0", image="registry.example.net/ledger", version="0.9.0", values={"replicas": 2},
                tags=tuple(tags_parse("payments"))),
        AppSpec(name="trainer", namespace="ml", source_kind="directory", repo_url="https://git.example.net/ml.git", path="trainer",
                tags=tuple(tags_parse("ml"))),
        AppSpec(name="splunk-forwarder", namespace="splunk", source_kind="helm", repo_url="https://splunk.github.io/splunk-connect-for-kubernetes",
                chart="splunk-connect-for-kubernetes", chart_version="1.5.3", tags=tuple(tags_parse("observability"))),
    )
    rules = (
        RuleSpec(name="payments-eu", app_tags=tuple(tags_parse("payments")), cluster_selector=selector_parse("region=eu"), order=1),
        RuleSpec(name="gpu-ml", app_tags=tuple(tags_parse("ml")), cluster_selector=selector_parse("gpu"), sync="manual", order=2),
        RuleSpec(name="everything-dev", app_tags=tuple(tags_parse("payments, ml")), app_match="any",
                 cluster_selector=selector_parse("region in (eu,us), !legacy"), environments=("dev",), order=3),
        RuleSpec(name="observe-all", app_tags=tuple(tags_parse("observability")), cluster_selector=selector_parse(""), order=4),
        RuleSpec(name="nothing", app_tags=tuple(tags_parse("payments")), cluster_selector=selector_parse("region=mars"), order=5),
    )
    return VanSpec(name="demo", hub=hub, edges=edges, apps=apps, rules=rules, repo_url="https://git.example.net/gitops.git",
                   hub_host="hub.skupper.example.net", link_ca=link_material[0])


# --- a VAN built through the services, committing to a real bare repository -------------------------


class _Committing:
    """``van.services`` whose calls each run their on-commit work (the GitOps apply) as a real commit would."""

    def __init__(self, capture):
        self._capture = capture

    def __getattr__(self, name):
        target = getattr(services, name)
        if not callable(target):
            return target

        def call(*args, **kwargs):
            with self._capture(execute=True):
                return target(*args, **kwargs)
        return call


@pytest.fixture
def svc(django_capture_on_commit_callbacks):
    return _Committing(django_capture_on_commit_callbacks)


@pytest.fixture
def gitops(settings, tmp_path, db):
    from portal.gitops.services import DEFAULT_ENVIRONMENTS, environments_ensure

    from portal.gitops.gitrepo import ensure_bare_repo

    # Browser tests elsewhere flush the database, including the rows the GitOps migration created.
    environments_ensure(DEFAULT_ENVIRONMENTS)
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    return ensure_bare_repo(tmp_path / "gitops.git", "main")  # set up explicitly: nothing creates it on first use


@pytest.fixture
def van_world(world, gitops, hub_keys, edge_keys, svc):
    admin, team = world.admin, world.payments
    mk = lambda name, env, tags, **kw: svc.cluster_create(  # noqa: E731
        actor=admin, name=name, api_url=f"https://{name}.example.net:6443", owner_team=team, environment=env,
        provider="eks", tags=tags, sealing_cert=edge_keys[1], credentials_kind="token", credentials=f"{EDGE_TOKEN}-{name}", **kw)
    hub = svc.cluster_create(actor=admin, name="hub", api_url="https://hub.example.net:6443", owner_team=team,
                                  environment="dev", provider="onprem", tags="region=eu", sealing_cert=hub_keys[1])
    eu, us = mk("edge-eu", "dev", "region=eu, gpu"), mk("edge-us", "dev", "region=us")
    van = svc.van_create(actor=admin, name="demo", owner_team=team, hub=hub, edges=[eu], hub_host="hub.example.net")
    app = svc.app_create(actor=admin, name="payments-api", owner_team=team, namespace="payments", repo_url="https://git.example.net/p.git",
                              source_kind="kustomize", path="deploy", image="registry.example.net/payments-api", version="1.0.0", tags="payments")
    return world, van, hub, eu, us, app


@pytest.fixture
def place_payments_everywhere(request):
    """For tests of what hubs report: a rule placing Payments' apps on every cluster of ``van_world``'s VAN, since an
    Application or finding maps to an app only where the VAN places it. Does nothing for tests without ``van_world``."""
    if "van_world" not in request.fixturenames:
        return
    world, van, hub, eu, us, app = request.getfixturevalue("van_world")
    request.getfixturevalue("svc").rule_create(actor=world.admin, van=van, name="payments-everywhere", app_tags="payments",
                                               cluster_selector="")


@pytest.fixture
def golden(world, tmp_path, settings):
    """The shipped golden-path templates in a git repository, registered and read as the demo does."""
    import shutil

    from catalog import services
    from catalog.demo import GOLDEN_PATHS
    from tests.catalog.conftest import GitRepo

    settings.CATALOG_ALLOW_LOCAL_GIT = True
    settings.SCAFFOLDER_REPOS_DIR = tmp_path / "repos"
    settings.SCAFFOLDER_WORKSPACES_DIR = tmp_path / "workspaces"
    settings.WAYLINE_PUBLIC_URL = "https://wayline.example.net"  # as the demo gives it: the CI pipeline's last step calls it
    repo = GitRepo(tmp_path / "golden")
    shutil.copytree(GOLDEN_PATHS, repo.path, dirs_exist_ok=True)
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, owner_team=world.payments,
                                          refresh=False)
    report = services.location_refresh(actor=None, location_id=location.pk)
    assert report.errors == 0, report.error_list
    return location
