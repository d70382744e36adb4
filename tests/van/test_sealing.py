import base64

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization

from portal.crd_validation import validate_object
from portal.sealing import CLUSTER_WIDE, NAMESPACE_WIDE, STRICT, Sealer, SealingError, certificate_load, scope_label, seal_value
from tests.van.kubeseal_reference import unseal, unseal_value


def test_sealed_value_decrypts_with_the_private_key_by_kubeseals_algorithm(hub_keys):
    private_key, cert_pem = hub_keys
    cert = certificate_load(cert_pem)
    sealed = seal_value(cert, "s3cret-value", label=b"argocd/cluster-x")
    raw = base64.b64decode(sealed)
    # 2-byte length then an RSA-2048 block, then the GCM ciphertext + 16-byte tag.
    assert int.from_bytes(raw[:2], "big") == 256
    assert len(raw) == 2 + 256 + len("s3cret-value") + 16
    assert unseal_value(private_key, sealed, label=b"argocd/cluster-x") == b"s3cret-value"


def test_strict_scope_pins_namespace_and_name(hub_keys):
    private_key, cert_pem = hub_keys
    sealed = Sealer().sealed_secret(certificate_load(cert_pem), name="db", namespace="payments", data={"password": "hunter22"})
    assert unseal(private_key, sealed) == {"password": b"hunter22"}
    value = sealed["spec"]["encryptedData"]["password"]
    with pytest.raises(ValueError):  # OAEP label mismatch: moved to another namespace, it will not open
        unseal_value(private_key, value, label=b"other/db")
    assert "annotations" not in sealed["metadata"]
    assert "hunter22" not in str(sealed)


@pytest.mark.parametrize("scope, annotation, label", [
    (NAMESPACE_WIDE, "sealedsecrets.bitnami.com/namespace-wide", b"payments"),
    (CLUSTER_WIDE, "sealedsecrets.bitnami.com/cluster-wide", b""),
])
def test_wider_scopes_annotate_and_use_their_label(hub_keys, scope, annotation, label):
    private_key, cert_pem = hub_keys
    sealed = Sealer().sealed_secret(certificate_load(cert_pem), name="db", namespace="payments", data={"k": "v"}, scope=scope)
    assert sealed["metadata"]["annotations"][annotation] == "true"
    assert sealed["spec"]["template"]["metadata"]["annotations"][annotation] == "true"
    assert unseal_value(private_key, sealed["spec"]["encryptedData"]["k"], label=label) == b"v"
    assert unseal(private_key, sealed) == {"k": b"v"}


def test_tampered_ciphertext_is_refused(hub_keys):
    private_key, cert_pem = hub_keys
    raw = bytearray(base64.b64decode(seal_value(certificate_load(cert_pem), "abc", label=b"a/b")))
    raw[-1] ^= 1
    with pytest.raises(InvalidTag):
        unseal_value(private_key, base64.b64encode(bytes(raw)).decode(), label=b"a/b")


@pytest.mark.conformance
def test_sealed_secret_validates_against_the_crd(hub_keys):
    sealed = Sealer().sealed_secret(certificate_load(hub_keys[1]), name="db", namespace="payments", data={"a": "1", "b": "2"},
                                    labels={"team": "payments"}, secret_type="kubernetes.io/basic-auth")
    assert validate_object(sealed) == []
    sealed["spec"]["encryptedData"]["a"] = 5
    assert any("encryptedData" in e.path for e in validate_object(sealed))


def test_cache_makes_resealing_an_unchanged_value_stable_but_a_change_reseals(hub_keys):
    cert = certificate_load(hub_keys[1])
    sealer = Sealer()
    first = sealer.sealed_secret(cert, name="db", namespace="ns", data={"k": "v1"})
    again = sealer.sealed_secret(cert, name="db", namespace="ns", data={"k": "v1"})
    changed = sealer.sealed_secret(cert, name="db", namespace="ns", data={"k": "v2"})
    moved = sealer.sealed_secret(cert, name="db", namespace="other", data={"k": "v1"})
    assert first == again
    assert changed["spec"]["encryptedData"]["k"] != first["spec"]["encryptedData"]["k"]
    assert moved["spec"]["encryptedData"]["k"] != first["spec"]["encryptedData"]["k"]
    assert sealer.sealed_count == 3
    assert all("v1" not in key and "v2" not in key for key in sealer.cache)


def test_certificate_loader_refuses_what_cannot_seal(hub_keys):
    private_pem = hub_keys[0].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(SealingError, match="private key"):
        certificate_load(private_pem)
    with pytest.raises(SealingError, match="not a PEM"):
        certificate_load("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert len(certificate_load(hub_keys[1]).fingerprint) == 64


def test_scope_label_requires_a_place():
    assert scope_label(scope=STRICT, namespace="a", name="b") == b"a/b"
    with pytest.raises(SealingError):
        scope_label(scope=STRICT, namespace="", name="b")
    with pytest.raises(SealingError):
        scope_label(scope=NAMESPACE_WIDE, namespace="", name="b")
    with pytest.raises(SealingError):
        scope_label(scope="galaxy-wide", namespace="a", name="b")
