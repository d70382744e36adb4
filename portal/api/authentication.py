from django.utils import timezone
from rest_framework import authentication, exceptions

from portal.models import ApiToken
from portal.models.tokens import hash_token


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` checked against the stored SHA-256 of the key."""

    def authenticate_credentials(self, key):
        try:
            token = ApiToken.objects.select_related("user").get(key_hash=hash_token(key))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token.user, token
