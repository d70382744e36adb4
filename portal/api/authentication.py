from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from portal.api.throttling import FailedAuthenticationThrottle
from portal.models import ApiToken
from portal.models.tokens import hash_token

SCOPED_REFUSAL = "This token is scoped to one action on one object; it may not be used here."


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` checked against the stored SHA-256 of the key.

    Failed keys are counted per client address; past the ``failed_auth`` rate that
    address gets 429 for any key, right or wrong, until the window passes.

    A scoped token (``ApiToken.scope_model``) is refused, before any view code runs, everywhere except on the
    actions it names of the one object it names, and only on views that declare they take scoped tokens
    (``token_scopes``: action -> model label). Checked here, where every API view authenticates, so a view that
    forgets about scopes refuses them rather than granting the user's full rights.
    """

    def authenticate(self, request):
        scheme = authentication.get_authorization_header(request).split(maxsplit=1)[:1]
        if not scheme or scheme[0].lower() != self.keyword.lower().encode():
            return None  # not this scheme's credentials: nothing to count
        throttle = FailedAuthenticationThrottle()
        throttle.refuse_if_exhausted(request)
        try:
            user, token = super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.count_failure(request)
            raise
        if token.scoped and not scope_admits(token, request):
            raise exceptions.PermissionDenied(SCOPED_REFUSAL)
        return user, token

    def authenticate_credentials(self, key):
        try:
            token = ApiToken.objects.select_related("user").get(key_hash=hash_token(key))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token.user, token


class BearerTokenAuthentication(HashedTokenAuthentication):
    """``Authorization: Bearer <token>`` (what Backstage clients and CI tools send): the same hashed tokens."""

    keyword = "Bearer"


def scope_admits(token: ApiToken, request) -> bool:
    """Whether the view this request reached is one action ``token`` is scoped to, on its one object."""
    context = getattr(request, "parser_context", None) or {}
    view = context.get("view")
    action = getattr(view, "action", None)
    taken = getattr(view, "token_scopes", None) or {}
    if not action or action not in token.scope_actions or taken.get(action) != token.scope_model:
        return False
    return str((context.get("kwargs") or {}).get("pk", "")) == str(token.scope_pk)


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """The two schemes in the OpenAPI schema, under names of their own."""

    target_class = HashedTokenAuthentication
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'An API token (profile page) with the prefix "Token ", or see bearerAuth.'}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The same API tokens, as 'Authorization: Bearer <key>'."}
