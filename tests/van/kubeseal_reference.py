"""Decryption exactly as the Sealed Secrets controller does it, written from ALGORITHM.md for tests only.

Wayline itself never holds a controller's private key; tests do, to prove a sealed value opens.
"""
from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def unseal_value(private_key, encoded: str, *, label: bytes) -> bytes:
    raw = base64.b64decode(encoded, validate=True)
    rsa_len = int.from_bytes(raw[:2], "big")
    rsa_part, aes_part = raw[2 : 2 + rsa_len], raw[2 + rsa_len :]
    session_key = private_key.decrypt(
        rsa_part, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label)
    )
    return AESGCM(session_key).decrypt(b"\x00" * 12, aes_part, None)


def unseal(private_key, sealed: dict) -> dict[str, bytes]:
    """Plain data of a SealedSecret object, using the label its scope annotations imply."""
    metadata = sealed["metadata"]
    annotations = metadata.get("annotations") or {}
    if annotations.get("sealedsecrets.bitnami.com/cluster-wide") == "true":
        label = b""
    elif annotations.get("sealedsecrets.bitnami.com/namespace-wide") == "true":
        label = metadata["namespace"].encode()
    else:
        label = f"{metadata['namespace']}/{metadata['name']}".encode()
    return {key: unseal_value(private_key, value, label=label) for key, value in sealed["spec"]["encryptedData"].items()}
