"""System checks of the shared core; ``manage.py check --deploy`` runs those registered with ``deploy=True``."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from portal import crypto

_NEW_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
_MOVE = (
    "list the key used so far after the new one (manage.py rotate_encryption_key --print-derived-key), "
    "run manage.py rotate_encryption_key, then drop the old key"
)


@register(Tags.security, deploy=True)
def encryption_key_check(app_configs, **kwargs) -> list[Error]:
    """Credentials at rest need a key of their own, which a copy of the data directory does not carry."""
    value, path = os.environ.get(crypto.KEY_ENV, ""), os.environ.get(crypto.KEY_FILE_ENV, "")
    if not value and not path:
        return [Error(
            f"No encryption key: neither {crypto.KEY_ENV} nor {crypto.KEY_FILE_ENV} is set, so credentials are "
            "encrypted with a key derived from SECRET_KEY (by default a file in the data directory, beside the database).",
            hint=f"Generate a key ({_NEW_KEY}), set {crypto.KEY_ENV} to it or {crypto.KEY_FILE_ENV} to a file holding it "
                 f"outside {settings.DATA_DIR}; {_MOVE}.",
            id="portal.E001",
        )]
    errors = []
    if path:
        key_file = Path(path).resolve()
        if key_file.is_relative_to(settings.DATA_DIR):
            errors.append(Error(
                f"{crypto.KEY_FILE_ENV} ({key_file}) is inside the data directory {settings.DATA_DIR}: "
                "a copy of the data directory would carry the key with the database it protects.",
                hint=f"Move the key file out of {settings.DATA_DIR} (e.g. a mounted secret) and point {crypto.KEY_FILE_ENV} at it.",
                id="portal.E002",
            ))
        if key_file.exists() and (mode := stat.S_IMODE(key_file.stat().st_mode)) & 0o077:
            errors.append(Error(
                f"{crypto.KEY_FILE_ENV} ({key_file}) has mode {mode:04o}: group or others may read it.",
                hint=f"chmod 600 {key_file} (in Kubernetes, mount the secret with defaultMode 0400 "
                     f"or pass it in {crypto.KEY_ENV} instead).",
                id="portal.E003",
            ))
    try:
        keys = crypto.configured_keys()
        crypto.fernets_load(keys)
    except ImproperlyConfigured as exc:
        errors.append(Error(
            f"Encryption keys unusable: {exc}.",
            hint=f"Fix {crypto.KEY_FILE_ENV if path else crypto.KEY_ENV}: one key per line (file) or comma-separated "
                 f"(variable), each made by {_NEW_KEY}.",
            id="portal.E004",
        ))
        return errors
    if keys[0] == crypto.derived_key():
        errors.append(Error(
            "The first (encrypting) encryption key is the one derived from SECRET_KEY.",
            hint=f"Put a new key ({_NEW_KEY}) first; {_MOVE}.",
            id="portal.E005",
        ))
    return errors
