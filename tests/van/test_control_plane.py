"""The VAN carries the control plane: ArgoCD on the hub reaches each edge's API through a Skupper Listener and
Connector pair, with TLS verified against the edge API server's real name (docs/van-control-plane.md)."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
import yaml

from portal.crd_validation import validate_yaml_text
from portal.sealing import Sealer
from tests.van.conftest import EDGE_TOKEN
from tests.van.kubeseal_reference import unseal
from van.rendering import Credentials, van_render

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@pytest.fixture(scope="module")
def rendered(sample_van):
    return van_render(sample_van, sealer=Sealer())


def _folder(files: dict, van: str, cluster: str) -> dict[str, dict]:
    """The objects of ``clusters/<cluster>/skupper/``, by file name."""
    prefix = f"vans/{van}/clusters/{cluster}/skupper/"
    return {path[len(prefix):]: yaml.safe_load(text) for path, text in files.items() if path.startswith(prefix)}


def _of_kind(objects: dict[str, dict], kind: str) -> list[dict]:
    return [doc for doc in objects.values() if doc["kind"] == kind]


def _listener_url(listener: dict) -> str:
    """The in-cluster URL of the Service a Listener makes, read off the manifest."""
    return f"https://{listener['spec']['host']}.{listener['metadata']['namespace']}.svc:{listener['spec']['port']}"


def _pairs(files: dict, van) -> dict[str, tuple[dict, dict]]:
    """Edge name -> (its Connector, the hub Listener with the same routing key)."""
    listeners = {doc["spec"]["routingKey"]: doc for doc in _of_kind(_folder(files, van.name, van.hub.name), "Listener")}
    out = {}
    for edge in van.edges:
        (connector,) = _of_kind(_folder(files, van.name, edge.name), "Connector")
        out[edge.name] = (connector, listeners[connector["spec"]["routingKey"]])
    return out


def test_each_edge_has_one_connector_and_the_hub_one_matching_listener(sample_van, rendered):
    hub = _folder(rendered, "demo", "hub")
    assert _of_kind(hub, "Connector") == []
    listeners = _of_kind(hub, "Listener")
    assert len(listeners) == len(sample_van.edges)
    for edge in sample_van.edges:
        folder = _folder(rendered, "demo", edge.name)
        assert _of_kind(folder, "Listener") == []
        connectors = _of_kind(folder, "Connector")
        assert len(connectors) == 1 and folder["kube-api.yaml"] is connectors[0]
        connector = connectors[0]
        assert connector["metadata"]["namespace"] == "skupper"
        # The API server is reached by host (the in-cluster Service), not by a pod selector.
        assert connector["spec"]["host"] == "kubernetes.default.svc" and "selector" not in connector["spec"]
        assert connector["spec"]["port"] == 443
        matching = [doc for doc in listeners if doc["spec"]["routingKey"] == connector["spec"]["routingKey"]]
        assert len(matching) == 1
        listener = matching[0]
        assert hub[f"kube-api-{edge.name}.yaml"] is listener
        assert listener["metadata"]["namespace"] == "skupper" and listener["spec"]["port"] == 443
        for doc in (connector, listener):
            assert doc["metadata"]["labels"] == {"wayline.io/van": "demo", "wayline.io/cluster": edge.name}
    hosts = [doc["spec"]["host"] for doc in listeners]
    assert len(set(hosts)) == len(hosts)
    assert all(DNS_LABEL.fullmatch(host) and len(host) <= 63 for host in hosts)


def test_routing_keys_and_listener_hosts_are_unique_across_edges_and_vans(sample_van, rendered):
    other = replace(sample_van, name="demo-two")
    pairs = {("demo", edge): pair for edge, pair in _pairs(rendered, sample_van).items()}
    pairs |= {("demo-two", edge): pair for edge, pair in _pairs(van_render(other, sealer=Sealer()), other).items()}
    assert len(pairs) == 2 * len(sample_van.edges)
    keys = {connector["spec"]["routingKey"] for connector, _ in pairs.values()}
    hosts = {listener["spec"]["host"] for _, listener in pairs.values()}
    assert len(keys) == len(hosts) == len(pairs)


def test_routing_keys_do_not_collide_when_names_join_the_same_way_and_fit_a_dns_label(sample_van):
    def key(van_name: str, edge_name: str) -> str:
        edge = replace(sample_van.edges[0], name=edge_name)
        van = replace(sample_van, name=van_name, edges=(edge,), apps=(), rules=())
        ((connector, listener),) = _pairs(van_render(van, sealer=Sealer()), van).values()
        assert connector["spec"]["routingKey"] == listener["spec"]["host"]
        return connector["spec"]["routingKey"]

    assert key("a-b", "c") != key("a", "b-c")
    longest = key("v" * 63, "e" * 63)
    assert len(longest) <= 63 and DNS_LABEL.fullmatch(longest)
    assert key("v" * 63, "e" * 62 + "f") != longest


def test_edge_cluster_secret_points_at_its_listener_and_verifies_the_real_api_name(sample_van, rendered, hub_keys):
    pairs = _pairs(rendered, sample_van)
    for edge in sample_van.edges:
        doc = yaml.safe_load(rendered[f"vans/demo/hub/clusters/{edge.name}.yaml"])
        data = unseal(hub_keys[0], doc)
        _, listener = pairs[edge.name]
        assert data["server"].decode() == _listener_url(listener)
        config = json.loads(data["config"])
        assert config == {"bearerToken": f"{EDGE_TOKEN}-{edge.name}",
                          "tlsClientConfig": {"insecure": False, "serverName": f"{edge.name}.example.net"}}
        metadata = doc["spec"]["template"]["metadata"]
        assert metadata["annotations"]["wayline.io/api-url"] == edge.api_url
        assert edge.api_url not in data["server"].decode()


def test_the_hub_secret_stays_in_cluster(rendered, hub_keys):
    doc = yaml.safe_load(rendered["vans/demo/hub/clusters/hub.yaml"])
    data = unseal(hub_keys[0], doc)
    assert data["server"] == b"https://kubernetes.default.svc"
    assert json.loads(data["config"]) == {"tlsClientConfig": {"insecure": False}}
    assert doc["spec"]["template"]["metadata"]["annotations"] == {"wayline.io/managed": "true"}


def test_kubeconfig_credentials_keep_their_ca_and_verify_an_ip_server_name(sample_van, hub_keys):
    edge = replace(sample_van.edges[0], api_url="https://[fd00::10]:6443",
                   credentials=Credentials(ca_data="Q0E=", cert_data="Q0VSVA==", key_data="S0VZ"))
    van = replace(sample_van, edges=(edge,))
    data = unseal(hub_keys[0], yaml.safe_load(van_render(van, sealer=Sealer())[f"vans/demo/hub/clusters/{edge.name}.yaml"]))
    assert json.loads(data["config"])["tlsClientConfig"] == {
        "insecure": False, "serverName": "fd00::10", "caData": "Q0E=", "certData": "Q0VSVA==", "keyData": "S0VZ"}


def test_insecure_credentials_stay_insecure_without_a_server_name(sample_van, hub_keys):
    edge = replace(sample_van.edges[0], credentials=Credentials(bearer_token="t", insecure=True))
    van = replace(sample_van, edges=(edge,))
    files = van_render(van, sealer=Sealer())
    data = unseal(hub_keys[0], yaml.safe_load(files[f"vans/demo/hub/clusters/{edge.name}.yaml"]))
    assert json.loads(data["config"]) == {"bearerToken": "t", "tlsClientConfig": {"insecure": True}}
    (_, listener), = _pairs(files, van).values()
    assert data["server"].decode() == _listener_url(listener)


def test_an_edge_folder_applies_on_the_edge_before_the_hub_syncs(sample_van, rendered, hub_keys, edge_keys):
    """What ops ``kubectl apply`` on a new edge needs nothing from the hub: no object names the hub's namespaces
    or Secrets, every SealedSecret opens with the edge's own controller, and every Secret the folder refers to
    is in it."""
    for edge in sample_van.edges:
        folder = _folder(rendered, "demo", edge.name)
        assert {doc["kind"] for doc in folder.values()} == {"Site", "Link", "SealedSecret", "Connector"}
        assert {doc["metadata"]["namespace"] for doc in folder.values()} == {"skupper"}
        secrets = set()
        for doc in _of_kind(folder, "SealedSecret"):
            assert unseal(edge_keys[0], doc)
            with pytest.raises(ValueError):
                unseal(hub_keys[0], doc)
            secrets.add(doc["spec"]["template"]["metadata"]["name"])
        referenced = {doc["spec"]["tlsCredentials"] for doc in folder.values() if "tlsCredentials" in doc.get("spec", {})}
        assert referenced and referenced <= secrets
        text = "".join(text for path, text in rendered.items() if path.startswith(f"vans/demo/clusters/{edge.name}/"))
        assert "argocd" not in text and "wayline-link-ca" not in text


def test_re_rendering_is_byte_identical(sample_van, rendered):
    sealer = Sealer()
    first = van_render(sample_van, sealer=sealer)
    assert van_render(sample_van, sealer=sealer) == first
    # Connectors and Listeners hold nothing sealed: a fresh sealer renders them the same too.
    control = [path for path in first if "/skupper/kube-api" in path]
    assert len(control) == 2 * len(sample_van.edges)
    assert {path: rendered[path] for path in control} == {path: first[path] for path in control}


@pytest.mark.conformance
def test_connectors_listeners_and_cluster_secrets_validate_against_the_upstream_crds(sample_van, rendered):
    kinds = set()
    for path, text in rendered.items():
        if "/skupper/kube-api" in path or "/hub/clusters/" in path:
            errors = validate_yaml_text(text, file=path)
            assert errors == [], "\n".join(map(str, errors))
            kinds.add(yaml.safe_load(text)["kind"])
    assert kinds == {"Connector", "Listener", "SealedSecret"}


@pytest.mark.conformance
def test_a_connector_with_both_host_and_selector_is_refused_by_the_crd(rendered):
    # The Connector CRD wants exactly one of host and selector: proof the check above would catch the wrong one.
    text = rendered["vans/demo/clusters/edge-eu/skupper/kube-api.yaml"]
    assert validate_yaml_text(text + "  selector: component=apiserver\n", file="kube-api.yaml") != []



@pytest.mark.django_db
def test_the_hubs_listener_for_an_edge_counts_as_that_edges_environment(van_world, svc, edge_keys):
    """Adding a Dev edge to a VAN whose hub is Prod needs no Prod approval for the Listener it adds on
    the hub (like the edge's cluster Secret there); a Prod edge's Listener waits for approval."""
    from portal.gitops.models import ChangeSet
    from van.services import van_change_environment

    world, van, hub, eu, us, app = van_world
    svc.cluster_update(actor=world.admin, obj=hub, environment="prod")
    listener = f"{van.gitops_root()}clusters/{hub.name}/skupper/kube-api-{us.name}.yaml"
    svc.van_edge_add(actor=world.admin, van=van, cluster=us)
    assert van_change_environment(van=van, paths=[listener]) == "dev"
    latest = ChangeSet.objects.filter(owner_id=van.pk).order_by("-pk").first()
    assert any(f.path == listener for f in latest.files.all()) and latest.environment.slug == "dev"
    gone = f"{van.gitops_root()}clusters/{hub.name}/skupper/kube-api-removed-edge.yaml"
    assert van_change_environment(van=van, paths=[gone]) == "prod"
