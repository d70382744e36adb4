from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """An API token. Only its SHA-256 is stored; the key is shown once, when it is made.

    A token is the user's, with the user's rights, unless it is *scoped*: then it is accepted only on the API
    actions it names (``scope_actions``, e.g. ``["version"]``) of the one object it names (``scope_model`` and
    ``scope_pk``), and the user's rights still apply there. A CI pipeline holds such a token: it may propose its
    app's version bumps and nothing else. The check is made where the token is authenticated
    (``portal.api.authentication``), so every API view, present and future, refuses it elsewhere.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    label = models.CharField(max_length=200, blank=True, help_text="What the token is for (a scoped token's holder).")
    scope_model = models.CharField(max_length=100, blank=True, help_text="app_label.model of the one object a scoped "
                                   "token may act on; empty for a token with all the user's rights.")
    scope_pk = models.PositiveBigIntegerField(null=True, blank=True)
    scope_actions = models.JSONField(default=list, blank=True, help_text="The API actions a scoped token may call.")

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}…"

    @property
    def scoped(self) -> bool:
        return bool(self.scope_model)

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(32)
