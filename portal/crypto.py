"""Encryption at rest for credentials kept in the database (cluster tokens, git credentials, link CA keys).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. Keys come from
``WAYLINE_ENCRYPTION_KEY`` (comma-separated) or ``WAYLINE_ENCRYPTION_KEY_FILE``
(one key per line, ``#`` comments allowed): the first key encrypts, every key
decrypts. A key is replaced by putting the new one first, the old ones after it,
and running ``manage.py rotate_encryption_key``; then the old ones can go.

With neither set (the embedded and demo install) the key is derived from
SECRET_KEY with HKDF. That key is as safe as SECRET_KEY, which by default is a
file beside the database, so ``check --deploy`` refuses it (``portal.checks``).
It is not refused at run time: the test suite and ``manage.py demo`` rely on it.
"""
from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

KEY_ENV = "WAYLINE_ENCRYPTION_KEY"
KEY_FILE_ENV = "WAYLINE_ENCRYPTION_KEY_FILE"


class DecryptionError(Exception):
    pass


def configured_keys() -> list[str]:
    """The keys the environment names, the encrypting one first; empty when none is configured.

    A source that is set but names no usable list raises ImproperlyConfigured rather than
    falling back to the derived key, which would encrypt under a key nobody chose.
    """
    value, path = os.environ.get(KEY_ENV, ""), os.environ.get(KEY_FILE_ENV, "")
    if value and path:
        raise ImproperlyConfigured(f"both {KEY_ENV} and {KEY_FILE_ENV} are set; set one of them")
    if path:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError as exc:
            raise ImproperlyConfigured(f"{KEY_FILE_ENV}: cannot read {path} ({exc.strerror})") from exc
        keys = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        if not keys:
            raise ImproperlyConfigured(f"{KEY_FILE_ENV}: {path} holds no key")
        return keys
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if value and not keys:
        raise ImproperlyConfigured(f"{KEY_ENV} is set but holds no key")
    return keys


def derived_key() -> str:
    """The key of the embedded install, derived from SECRET_KEY: list it as an old key when configuring a new one."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wayline-field-encryption", info=b"v1").derive(
        settings.SECRET_KEY.encode()
    )
    return base64.urlsafe_b64encode(derived).decode()


def fernets_load(keys: list[str]) -> list[Fernet]:
    """One Fernet per key; the error names the key's position, never the key."""
    fernets = []
    for position, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"encryption key {position} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc
    return fernets


@lru_cache(maxsize=1)
def _fernets() -> tuple[Fernet, ...]:
    return tuple(fernets_load(configured_keys() or [derived_key()]))


def _fernet() -> MultiFernet:
    return MultiFernet(_fernets())


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


# --- Key rotation ------------------------------------------------------------------------------


@dataclass
class EncryptedColumn:
    """The stored values of one encrypted field, counted by the key they are under."""

    model: type[models.Model]
    field: EncryptedTextField
    current: int = 0  # under the first (encrypting) key
    old: int = 0  # under another configured key
    rotated: int = 0  # moved from an old key to the first one by this run
    unreadable: int = 0  # under no configured key

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every database column holding an EncryptedTextField, found from the models so none is forgotten."""
    return [
        EncryptedColumn(model, field)
        for model in apps.get_models()
        if not model._meta.proxy
        # local_: a field inherited from a concrete parent is stored (and rotated) once, in the parent's table.
        for field in model._meta.local_concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _raw(column: EncryptedColumn) -> models.Expression:
    # Typed as a plain TextField so the ORM neither decrypts it on read nor encrypts it again on write.
    return models.ExpressionWrapper(models.F(column.field.attname), output_field=models.TextField())


def _text(value: str) -> models.Value:
    # The ciphertext as it is stored: an expression, so neither a filter nor an update encrypts it again.
    return models.Value(value, output_field=models.TextField())


def _batches(column: EncryptedColumn, batch_size: int):
    """(pk, ciphertext) of every non-empty value, in primary-key order, one short query per batch."""
    stored = column.model._base_manager.annotate(ciphertext=_raw(column)).filter(ciphertext__isnull=False).exclude(ciphertext="")
    last = None
    while True:
        page = stored if last is None else stored.filter(pk__gt=last)
        rows = list(page.order_by("pk").values_list("pk", "ciphertext")[:batch_size])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _under(fernet: Fernet | MultiFernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def encrypted_values_count(*, batch_size: int = 500) -> list[EncryptedColumn]:
    """How many stored values of each encrypted field are under the first key, an old key, or none."""
    primary, everything = _fernets()[0], _fernet()
    columns = encrypted_columns()
    for column in columns:
        for rows in _batches(column, batch_size):
            for _pk, token in rows:
                if _under(primary, token):
                    column.current += 1
                elif _under(everything, token):
                    column.old += 1
                else:
                    column.unreadable += 1
    return columns


def _value_rotate(column: EncryptedColumn, pk, token: str, primary: Fernet, everything: MultiFernet) -> None:
    """Move one stored value to the first key, counting the outcome in ``column``.

    The UPDATE matches the exact ciphertext read, so a value saved meanwhile is never
    overwritten with the old one; the fresh value is read and looked at instead.
    """
    objects = column.model._base_manager
    while token:
        if _under(primary, token):
            column.current += 1
            return
        try:
            rotated = everything.rotate(token.encode()).decode()
        except InvalidToken:
            column.unreadable += 1
            return
        if objects.filter(pk=pk, **{column.field.attname: _text(token)}).update(**{column.field.attname: _text(rotated)}):
            column.rotated += 1
            return
        token = objects.filter(pk=pk).annotate(ciphertext=_raw(column)).values_list("ciphertext", flat=True).first()


def encrypted_values_rotate(
    *, batch_size: int = 500, on_batch: Callable[[EncryptedColumn], None] | None = None
) -> list[EncryptedColumn]:
    """Re-encrypt every stored value that is under an old key under the first configured key.

    Each value is one UPDATE committed on its own, so the site keeps running: readers
    decrypt with any configured key throughout. Values already under the first key are
    left alone, so running twice is harmless. ``on_batch`` is called with the column's
    running counts after each batch.
    """
    # Imported here: portal.services imports the models, which import this module.
    from portal.services import audit_record

    primary, everything = _fernets()[0], _fernet()
    columns = encrypted_columns()
    for column in columns:
        for rows in _batches(column, batch_size):
            for pk, token in rows:
                _value_rotate(column, pk, token, primary, everything)
            if on_batch is not None:
                on_batch(column)
    if any(column.rotated for column in columns):
        audit_record(actor=None, action="portal.encryption_key.rotate",
                     changes={column.label: column.rotated for column in columns if column.rotated})
    return columns
