"""Seal Kubernetes Secrets the way kubeseal does, with a Sealed Secrets controller's public certificate.

Only the controller holds the private key; Wayline keeps certificates. The
algorithm (bitnami-labs/sealed-secrets ``HybridEncrypt``) per data key: a fresh
32-byte AES key, RSA-OAEP(SHA-256) encrypted with the scope label, the value
AES-256-GCM encrypted under a zero nonce (each AES key is used once), output
``len(rsa) as 2 bytes || rsa || gcm`` in standard base64.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

STRICT, NAMESPACE_WIDE, CLUSTER_WIDE = "strict", "namespace-wide", "cluster-wide"
SCOPES = (STRICT, NAMESPACE_WIDE, CLUSTER_WIDE)
_SCOPE_ANNOTATION = {
    NAMESPACE_WIDE: "sealedsecrets.bitnami.com/namespace-wide",
    CLUSTER_WIDE: "sealedsecrets.bitnami.com/cluster-wide",
}


class SealingError(ValueError):
    """A certificate or secret that cannot be sealed; the message says why."""


@dataclass(frozen=True)
class SealingCertificate:
    pem: str
    public_key: rsa.RSAPublicKey
    fingerprint: str  # sha256 of the DER certificate, hex

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:16]


def certificate_load(pem: str | bytes) -> SealingCertificate:
    """Parse a controller certificate (PEM X.509 with an RSA key); raise :class:`SealingError` if unusable."""
    return _certificate_load(pem.encode() if isinstance(pem, str) else bytes(pem))


@lru_cache(maxsize=4096)
def _certificate_load(data: bytes) -> SealingCertificate:
    # Cached: a VAN render seals for the same few certificates thousands of times.
    if b"PRIVATE KEY" in data:
        raise SealingError("this is a private key; paste the controller's public certificate (kubeseal --fetch-cert)")
    try:
        cert = x509.load_pem_x509_certificate(data.strip() + b"\n")
    except ValueError as exc:
        raise SealingError(f"not a PEM X.509 certificate: {exc}") from exc
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SealingError("the certificate's key is not RSA; Sealed Secrets controllers use RSA keys")
    if key.key_size < 2048:
        raise SealingError(f"the certificate's RSA key has {key.key_size} bits; 2048 at least")
    der = cert.public_bytes(Encoding.DER)
    return SealingCertificate(
        pem=cert.public_bytes(Encoding.PEM).decode(), public_key=key, fingerprint=hashlib.sha256(der).hexdigest()
    )


def scope_label(*, scope: str, namespace: str, name: str) -> bytes:
    """The RSA-OAEP label that pins a sealed value to its place."""
    if scope == STRICT:
        if not namespace or not name:
            raise SealingError("a strict-scope secret needs a namespace and a name")
        return f"{namespace}/{name}".encode()
    if scope == NAMESPACE_WIDE:
        if not namespace:
            raise SealingError("a namespace-wide secret needs a namespace")
        return namespace.encode()
    if scope == CLUSTER_WIDE:
        return b""
    raise SealingError(f"unknown scope {scope!r}; expected one of {', '.join(SCOPES)}")


def seal_value(certificate: SealingCertificate, value: bytes | str, *, label: bytes) -> str:
    """Encrypt one Secret data value; returns the base64 text for ``spec.encryptedData``."""
    plaintext = value.encode() if isinstance(value, str) else value
    session_key = os.urandom(32)
    rsa_ciphertext = certificate.public_key.encrypt(
        session_key,
        padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label),
    )
    aes_ciphertext = AESGCM(session_key).encrypt(b"\x00" * 12, plaintext, None)
    return base64.b64encode(struct.pack(">H", len(rsa_ciphertext)) + rsa_ciphertext + aes_ciphertext).decode()


def value_fingerprint(*, certificate: SealingCertificate, label: bytes, key: str, value: bytes | str, secret: bytes) -> str:
    """A keyed digest identifying (certificate, scope, key, value) without revealing the value.

    Sealing is randomised; callers cache sealed values under this digest so that
    re-rendering an unchanged secret produces byte-identical files in git.
    """
    plaintext = value.encode() if isinstance(value, str) else value
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in (certificate.fingerprint.encode(), label, key.encode(), plaintext):
        mac.update(struct.pack(">I", len(part)) + part)
    return mac.hexdigest()


class Sealer:
    """Seals whole Secrets; remembers what it sealed in ``cache`` (digest -> base64) for stable output."""

    def __init__(self, *, cache: dict[str, str] | None = None, secret: bytes = b"wayline-sealing-cache"):
        self.cache = cache if cache is not None else {}
        self.secret = secret
        self.sealed_count = 0

    def seal_data(self, certificate: SealingCertificate, data: dict[str, str | bytes], *, label: bytes) -> dict[str, str]:
        out = {}
        for key in sorted(data):
            digest = value_fingerprint(certificate=certificate, label=label, key=key, value=data[key], secret=self.secret)
            if digest not in self.cache:
                self.cache[digest] = seal_value(certificate, data[key], label=label)
                self.sealed_count += 1
            out[key] = self.cache[digest]
        return out

    def sealed_secret(
        self,
        certificate: SealingCertificate,
        *,
        name: str,
        namespace: str,
        data: dict[str, str | bytes],
        secret_type: str = "Opaque",
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        scope: str = STRICT,
    ) -> dict:
        """A ``bitnami.com/v1alpha1`` SealedSecret that the controller unseals into the described Secret."""
        label = scope_label(scope=scope, namespace=namespace, name=name)
        template_annotations = dict(annotations or {})
        own_annotations = {}
        if scope in _SCOPE_ANNOTATION:
            template_annotations[_SCOPE_ANNOTATION[scope]] = "true"
            own_annotations[_SCOPE_ANNOTATION[scope]] = "true"
        template_metadata: dict = {"name": name, "namespace": namespace}
        if labels:
            template_metadata["labels"] = dict(labels)
        if template_annotations:
            template_metadata["annotations"] = template_annotations
        metadata: dict = {"name": name, "namespace": namespace}
        if own_annotations:
            metadata["annotations"] = own_annotations
        return {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": metadata,
            "spec": {
                "encryptedData": self.seal_data(certificate, data, label=label),
                "template": {"metadata": template_metadata, "type": secret_type},
            },
        }
