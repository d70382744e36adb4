"""The VAN link CA and edge client certificates (see docs/skupper-linking.md for the trust model).

RSA keys in PKCS#1 PEM ("RSA PRIVATE KEY"): the form the Skupper controller reads
from an issuer Secret (``tls.crt``/``tls.key``) when it signs the hub router's
server certificate.
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from van.rendering.spec import LinkCA

CA_VALIDITY = dt.timedelta(days=3650)
CLIENT_VALIDITY = dt.timedelta(days=825)


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def link_ca_issue(*, van_name: str, now: dt.datetime | None = None, key_size: int = 2048) -> LinkCA:
    """A fresh CA for one VAN's router links."""
    now = now or dt.datetime.now(dt.timezone.utc)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    # X.509 caps a common name at 64 characters; a VAN name may take 63, so the CA's role goes in its own attribute.
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Wayline"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "VAN link CA"),
                      x509.NameAttribute(NameOID.COMMON_NAME, van_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return LinkCA(cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem=_key_pem(key))


def link_client_issue(*, ca: LinkCA, edge_name: str, now: dt.datetime | None = None, key_size: int = 2048) -> tuple[str, str]:
    """(certificate PEM, key PEM) for an edge router's outgoing link, signed by the VAN's link CA."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, edge_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + CLIENT_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key)
