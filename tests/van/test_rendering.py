"""Rendered files: conformance to the upstream CRDs, placement agreement with ArgoCD's semantics, secrecy, stability."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
import yaml

from portal.crd_validation import validate_object, validate_yaml_text
from portal.sealing import Sealer
from tests.van.conftest import EDGE_TOKEN, make_edge
from tests.van.kubeseal_reference import unseal
from van.labels import selector_parse, tags_parse
from van.rendering import RenderError, RuleSpec, placement_compute, unmatched_rules, van_render


def _docs(files):
    return {path: yaml.safe_load(text) for path, text in files.items()}


# --- an evaluator written from the Kubernetes and ArgoCD docs, sharing no code with van.labels -------------

def k8s_selector_matches(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


_TEMPLATE = re.compile(r"\{\{\s*(\.name|\.server|index \.metadata\.labels \"([^\"]+)\")\s*\}\}")


def go_template(text: str, params: dict) -> str:
    def sub(m):
        if m.group(2):
            labels = params["metadata"]["labels"]
            if m.group(2) not in labels:
                raise KeyError(f"missingkey=error: label {m.group(2)}")
            return labels[m.group(2)]
        return params[m.group(1)[1:]]
    out = _TEMPLATE.sub(sub, text)
    assert "{{" not in out, f"unrendered template left in {out!r}"
    return out


def _apply(node, params):
    if isinstance(node, dict):
        return {_apply(k, params): _apply(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [_apply(v, params) for v in node]
    return go_template(node, params) if isinstance(node, str) else node


def argocd_generate(files: dict, hub_private_key, appsets=lambda path: "/applicationsets/" in path) -> list[dict]:
    """What the ApplicationSet controller would generate: cluster generator items -> templated Applications
    (from the ApplicationSets at the paths ``appsets`` accepts)."""
    docs = _docs(files)
    clusters = []
    for path, doc in docs.items():
        if doc["kind"] == "SealedSecret" and (doc["spec"]["template"]["metadata"].get("labels") or {}).get("argocd.argoproj.io/secret-type") == "cluster":
            data = unseal(hub_private_key, doc)
            clusters.append({"name": data["name"].decode(), "server": data["server"].decode(),
                             "metadata": {"labels": doc["spec"]["template"]["metadata"]["labels"]}})
    apps = []
    for path, doc in docs.items():
        if doc["kind"] != "ApplicationSet" or not appsets(path):
            continue
        assert doc["spec"]["goTemplate"] is True and doc["spec"]["goTemplateOptions"] == ["missingkey=error"]
        for generator in doc["spec"]["generators"]:
            for params in clusters:
                if k8s_selector_matches(generator["clusters"]["selector"], params["metadata"]["labels"]):
                    rendered = _apply(doc["spec"]["template"], params)
                    apps.append(rendered | {"_appset": doc["metadata"]["name"]})
    return apps


@pytest.fixture(scope="module")
def rendered(sample_van):
    return van_render(sample_van, sealer=Sealer())


@pytest.mark.conformance
def test_everything_rendered_validates_against_the_upstream_crds(rendered):
    kinds = set()
    for path, text in rendered.items():
        errors = validate_yaml_text(text, file=path)
        assert errors == [], "\n".join(map(str, errors))
        kinds.add(yaml.safe_load(text)["kind"])
    assert kinds == {"Application", "ApplicationSet", "SealedSecret", "Site", "Link", "Connector", "Listener"}


def test_generated_applications_equal_the_portal_placement(sample_van, rendered, hub_keys):
    generated = argocd_generate(rendered, hub_keys[0])
    pairs = [(a["metadata"]["labels"]["wayline.io/app"], a["metadata"]["labels"]["wayline.io/cluster"]) for a in generated]
    assert len(pairs) == len(set(pairs)), "two generators produced the same (app, cluster)"
    names = [a["metadata"]["name"] for a in generated]
    assert len(names) == len(set(names)), "two Applications share a name"
    assert set(pairs) == placement_compute(sample_van).pairs()
    # Spot-check against the rules as a person reads them.
    expected = {
        ("payments-api", "hub"), ("payments-api", "edge-eu"), ("payments-api", "edge-prod"), ("payments-api", "edge-us"),
        ("ledger", "hub"), ("ledger", "edge-eu"), ("ledger", "edge-prod"), ("ledger", "edge-us"),
        ("trainer", "edge-eu"), ("trainer", "edge-us"),
        ("splunk-forwarder", "hub"), ("splunk-forwarder", "edge-eu"), ("splunk-forwarder", "edge-us"), ("splunk-forwarder", "edge-prod"),
    }
    assert set(pairs) == expected


@pytest.mark.conformance
def test_applications_carry_identity_names_within_limits_and_destination(sample_van, rendered, hub_keys):
    generated = argocd_generate(rendered, hub_keys[0])
    # Edges are reached through the VAN: at the Service their Listener makes on the hub (docs/van-control-plane.md).
    listeners = [d for d in _docs(rendered).values() if d["kind"] == "Listener"]
    servers = {d["metadata"]["labels"]["wayline.io/cluster"]: f"https://{d['spec']['host']}.{d['metadata']['namespace']}.svc:{d['spec']['port']}"
               for d in listeners} | {"hub": "https://kubernetes.default.svc"}
    assert set(servers) == {c.name for c in sample_van.clusters}
    for app in generated:
        labels = app["metadata"]["labels"]
        assert labels["wayline.io/van"] == "demo"
        assert app["metadata"]["annotations"]["wayline.io/app"] == labels["wayline.io/app"]
        assert len(app["metadata"]["name"]) <= 63
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", app["metadata"]["name"])
        assert app["spec"]["destination"]["server"] == servers[labels["wayline.io/cluster"]]
        application = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                       "metadata": app["metadata"] | {"namespace": "argocd"}, "spec": app["spec"]}
        assert validate_object(application) == []


def test_per_environment_override_gives_prod_its_own_version(sample_van, rendered, hub_keys):
    versions = {}
    for app in argocd_generate(rendered, hub_keys[0]):
        if app["metadata"]["labels"]["wayline.io/app"] == "payments-api":
            versions[app["metadata"]["labels"]["wayline.io/cluster"]] = app["spec"]["source"]["kustomize"]["images"][0]
    assert versions["edge-prod"].endswith(":1.4.1") and versions["hub"].endswith(":1.4.1")
    assert versions["edge-eu"].endswith(":1.4.2") and versions["edge-us"].endswith(":1.4.2")


def test_sync_policy_follows_the_rule(rendered):
    docs = _docs(rendered)
    manual = [d for p, d in docs.items() if "/applicationsets/gpu-ml/" in p]
    automated = [d for p, d in docs.items() if "/applicationsets/payments-eu/" in p]
    assert manual and all("automated" not in d["spec"]["template"]["spec"]["syncPolicy"] for d in manual)
    assert automated and all(d["spec"]["template"]["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": True, "allowEmpty": False}
                             for d in automated)


def test_cluster_secrets_carry_tags_as_labels_and_unseal_to_argocd_config(sample_van, rendered, hub_keys):
    doc = yaml.safe_load(rendered["vans/demo/hub/clusters/edge-eu.yaml"])
    labels = doc["spec"]["template"]["metadata"]["labels"]
    assert labels["argocd.argoproj.io/secret-type"] == "cluster"
    assert labels["region"] == "eu" and labels["gpu"] == ""
    assert labels["wayline.io/environment"] == "dev"
    data = unseal(hub_keys[0], doc)
    assert json.loads(data["config"])["bearerToken"] == f"{EDGE_TOKEN}-edge-eu"
    listener = yaml.safe_load(rendered["vans/demo/clusters/hub/skupper/kube-api-edge-eu.yaml"])
    assert data["server"].decode() == f"https://{listener['spec']['host']}.skupper.svc:443"
    assert doc["spec"]["template"]["metadata"]["annotations"]["wayline.io/api-url"] == "https://edge-eu.example.net:6443"


def test_no_plaintext_secret_reaches_the_files(sample_van, rendered):
    text = "\n".join(rendered.values())
    assert EDGE_TOKEN not in text
    assert "PRIVATE KEY" not in text
    assert sample_van.link_ca.key_pem.splitlines()[1] not in text
    for edge in sample_van.edges:
        assert edge.link_key_pem.splitlines()[1] not in text


def test_skupper_link_material_opens_only_on_its_cluster(sample_van, rendered, hub_keys, edge_keys):
    hub_ca = unseal(hub_keys[0], yaml.safe_load(rendered["vans/demo/clusters/hub/skupper/link-ca.yaml"]))
    assert hub_ca["tls.key"].decode() == sample_van.link_ca.key_pem
    creds_doc = yaml.safe_load(rendered["vans/demo/clusters/edge-us/skupper/link-credentials.yaml"])
    creds = unseal(edge_keys[0], creds_doc)
    assert creds["ca.crt"].decode() == sample_van.link_ca.cert_pem
    with pytest.raises(ValueError):
        unseal(hub_keys[0], creds_doc)
    link = yaml.safe_load(rendered["vans/demo/clusters/edge-us/skupper/link.yaml"])
    assert link["spec"]["tlsCredentials"] == creds_doc["metadata"]["name"]
    site = yaml.safe_load(rendered["vans/demo/clusters/hub/skupper/site.yaml"])
    assert site["spec"] == {"linkAccess": "loadbalancer", "defaultIssuer": "wayline-link-ca"}


def test_edge_client_certificate_chains_to_the_van_ca(sample_van):
    from cryptography import x509
    ca = x509.load_pem_x509_certificate(sample_van.link_ca.cert_pem.encode())
    for edge in sample_van.edges:
        cert = x509.load_pem_x509_certificate(edge.link_cert_pem.encode())
        cert.verify_directly_issued_by(ca)


def test_a_van_with_the_longest_name_gets_a_link_ca_and_edge_certificates():
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from van.rendering.pki import link_ca_issue, link_client_issue

    name = "v" * 63  # the longest DNS label a VAN name may be
    ca = link_ca_issue(van_name=name, key_size=1024)
    cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name
    edge_pem, _ = link_client_issue(ca=ca, edge_name="e" * 63, key_size=1024)
    x509.load_pem_x509_certificate(edge_pem.encode()).verify_directly_issued_by(cert)


def test_rendering_is_deterministic_with_the_same_cache(sample_van):
    sealer = Sealer()
    assert van_render(sample_van, sealer=sealer) == van_render(sample_van, sealer=sealer)


def test_adding_an_edge_changes_exactly_its_files(sample_van, edge_keys, link_material):
    sealer = Sealer()
    before = van_render(sample_van, sealer=sealer)
    new_edge = make_edge("edge-new", "prod", "region=us", edge_keys, link_material)
    after = van_render(replace(sample_van, edges=sample_van.edges + (new_edge,)), sealer=sealer)
    added = set(after) - set(before)
    assert added == {
        "vans/demo/hub/clusters/edge-new.yaml",
        "vans/demo/clusters/edge-new/skupper/site.yaml",
        "vans/demo/clusters/edge-new/skupper/link.yaml",
        "vans/demo/clusters/edge-new/skupper/link-credentials.yaml",
        "vans/demo/clusters/edge-new/skupper/kube-api.yaml",
        "vans/demo/clusters/hub/skupper/kube-api-edge-new.yaml",
    }
    assert set(before) - set(after) == set()
    assert [p for p in before if before[p] != after[p]] == []
    # and removing it again restores the previous tree exactly
    assert van_render(sample_van, sealer=sealer) == before


def test_a_rule_that_matches_nothing_is_allowed_but_flagged(sample_van, rendered, hub_keys):
    # Its ApplicationSet is committed (a cluster tagged region=mars later gets the apps) but generates nothing now.
    assert any("/applicationsets/nothing/" in p for p in rendered)
    assert not [a for a in argocd_generate(rendered, hub_keys[0]) if a["metadata"]["labels"]["wayline.io/rule"] == "nothing"]
    assert ("nothing", "matches nothing", "no cluster of this VAN matches the rule's cluster selector") in unmatched_rules(sample_van)


def test_overlapping_rules_place_each_app_once_and_the_earlier_rule_wins(sample_van, hub_keys):
    broad = RuleSpec(name="all-payments", app_tags=tuple(tags_parse("payments")), cluster_selector=selector_parse("region in (eu,us)"), order=0)
    van = replace(sample_van, rules=sample_van.rules + (broad,))
    files = van_render(van, sealer=Sealer())
    generated = argocd_generate(files, hub_keys[0])
    pairs = [(a["metadata"]["labels"]["wayline.io/app"], a["metadata"]["labels"]["wayline.io/cluster"]) for a in generated]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == placement_compute(van).pairs()
    assert placement_compute(van).clusters_of("ledger")["edge-prod"] == "all-payments"


def test_a_rule_whose_matches_an_earlier_rule_places_is_overridden_not_empty(sample_van):
    first = sorted(sample_van.rules, key=lambda r: r.order)[0]
    copy = replace(first, name="shadow", order=max(r.order for r in sample_van.rules) + 1)
    flags = {f.rule: f for f in unmatched_rules(replace(sample_van, rules=sample_van.rules + (copy,)))}
    assert flags["shadow"].label == "overridden"
    assert "earlier rule" in flags["shadow"].reason
    assert first.name not in flags


def test_missing_inputs_are_refused_with_the_field_named(sample_van):
    with pytest.raises(RenderError, match="hub_host"):
        van_render(replace(sample_van, hub_host=""), sealer=Sealer())
    with pytest.raises(RenderError, match="sealing_cert"):
        van_render(replace(sample_van, hub=replace(sample_van.hub, sealing_cert_pem="")), sealer=Sealer())
    with pytest.raises(RenderError, match="credentials"):
        van_render(replace(sample_van, edges=(replace(sample_van.edges[0], credentials=None),)), sealer=Sealer())


def test_yaml_emitter_round_trips_every_rendered_object_and_tricky_strings(sample_van):
    from van.rendering import van_objects
    from van.rendering.render import dump

    sealer = Sealer()
    objects = van_objects(sample_van, sealer=sealer)
    for path, obj in objects.items():
        assert yaml.safe_load(dump(obj)) == obj, path
    tricky = {"yes": "no", "n": "on", "v": "1.10", "e": "", "t": "a: b", "h": "#x", "q": "'\"", "u": "ünï\n\tcode", "nested": [[], {}, [{"a": None}]],
              "b": True, "i": 7, "s": "{{index .metadata.labels \"x\"}}", "dash": "- item", "star": "*ref", "amp": "&anchor", "pct": "%TAG"}
    assert yaml.safe_load(dump(tricky)) == tricky


def test_cluster_index_agrees_with_the_plain_evaluator():
    import random

    from van.rendering.placement import ClusterIndex

    rng = random.Random(3)
    keys, values = ["a", "b", "c"], ["x", "y", "z"]
    labelled = [(f"c{i}", {k: rng.choice(values) for k in keys if rng.random() < 0.6}) for i in range(60)]
    index = ClusterIndex(labelled)
    ops = ["a=x", "a!=y", "b in (x,z)", "b notin (x)", "c", "!c", "a in (y,z)", ""]
    for _ in range(300):
        selector = selector_parse(", ".join(o for o in rng.sample(ops, rng.randint(0, 3)) if o))
        assert index.select(selector) == {name for name, labels in labelled if selector.matches(labels)}, str(selector)


@pytest.mark.conformance
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_vans_place_exactly_what_argocd_would_generate(seed, hub_keys, edge_keys, link_material):
    """Overlapping rules, environment limits and per-environment overrides, checked against the independent evaluator."""
    import random

    from van.rendering import AppSpec, ClusterSpec, Credentials, EnvironmentOverride

    rng = random.Random(seed)
    regions, tiers, envs = ["eu", "us", "ap"], ["gold", "silver"], ["dev", "qa", "staging", "prod"]
    link_cert, link_key = link_material[1]["edge-eu"]
    edges = tuple(
        ClusterSpec(name=f"c{i}", environment=rng.choice(envs), api_url=f"https://c{i}.example.net",
                    tags=tuple(tags_parse([f"region={rng.choice(regions)}", f"tier={rng.choice(tiers)}"] + (["gpu"] if rng.random() < .3 else []))),
                    credentials=Credentials(bearer_token=f"t{i}"), sealing_cert_pem=edge_keys[1], link_cert_pem=link_cert, link_key_pem=link_key)
        for i in range(25)
    )
    apps = tuple(
        AppSpec(name=f"a{i}", namespace="ns", source_kind="kustomize", repo_url="https://git.example.net/a.git", path=".",
                image="registry.example.net/a", version="1.0",
                tags=tuple(tags_parse(rng.sample(["payments", "search", "ml"], 1) + [rng.choice(["tier=backend", "tier=frontend"])])),
                overrides=(("prod", EnvironmentOverride(version="0.9")),) if rng.random() < .4 else ())
        for i in range(20)
    )
    selectors = ["region=eu", "region in (eu,us)", "gpu", "!gpu, tier=gold", "region!=ap", "tier notin (silver)", ""]
    rules = tuple(
        RuleSpec(name=f"r{i}", app_tags=tuple(tags_parse(rng.sample(["payments", "search", "ml", "tier=backend"], rng.randint(1, 2)))),
                 app_match=rng.choice(["all", "any"]), cluster_selector=selector_parse(rng.choice(selectors)),
                 environments=tuple(rng.sample(envs, rng.randint(0, 2))), order=rng.randint(0, 5))
        for i in range(12)
    )
    from van.rendering import VanSpec

    hub = replace(next(iter([e for e in edges])), name="hub", environment="prod", credentials=None, sealing_cert_pem=hub_keys[1],
                  link_cert_pem="", link_key_pem="")
    van = VanSpec(name="rnd", hub=hub, edges=edges, apps=apps, rules=rules, repo_url="https://git.example.net/g.git",
                  hub_host="hub.example.net", link_ca=link_material[0])
    files = van_render(van, sealer=Sealer())
    for path, text in files.items():
        if "/applicationsets/" in path:
            assert validate_yaml_text(text, file=path) == []
    generated = argocd_generate(files, hub_keys[0])
    pairs = [(a["metadata"]["labels"]["wayline.io/app"], a["metadata"]["labels"]["wayline.io/cluster"]) for a in generated]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == placement_compute(van).pairs()
    assert pairs, "the random VAN should place something"
    overridden = {a.name for a in apps if a.overrides}
    env_of = {c.name: c.environment for c in van.clusters}
    for app in generated:
        name, cluster = app["metadata"]["labels"]["wayline.io/app"], app["metadata"]["labels"]["wayline.io/cluster"]
        want = "0.9" if name in overridden and env_of[cluster] == "prod" else "1.0"
        assert app["spec"]["source"]["kustomize"]["images"] == [f"registry.example.net/a:{want}"]
