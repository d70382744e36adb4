"""Encryption at rest for credentials kept in the database (cluster tokens, git credentials).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. The key comes from
``WAYLINE_ENCRYPTION_KEY`` (a Fernet key) or is derived from SECRET_KEY with
HKDF, so a database dump alone never reveals a credential.
"""
from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models


class DecryptionError(Exception):
    pass


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = [k.strip() for k in os.environ.get("WAYLINE_ENCRYPTION_KEY", "").split(",") if k.strip()]
    if not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wayline-field-encryption", info=b"v1").derive(
            settings.SECRET_KEY.encode()
        )
        keys = [base64.urlsafe_b64encode(derived).decode()]
    # First key encrypts; all keys decrypt, so keys can be rotated.
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored credential cannot be decrypted with the configured key") from exc


class Secret(str):
    """A decrypted value whose repr never shows it (so it stays out of logs and tracebacks)."""

    def __repr__(self) -> str:
        return "Secret('***')"


class EncryptedTextField(models.TextField):
    """Stores ``encrypt(value)``; reads back a :class:`Secret`. Empty stays empty."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return Secret(decrypt(value))

    def to_python(self, value):
        if value in (None, "") or isinstance(value, Secret):
            return value
        return Secret(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(str(value))
