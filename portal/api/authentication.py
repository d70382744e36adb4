from django.utils import timezone
from rest_framework import authentication, exceptions

from portal.api.throttling import FailedAuthenticationThrottle
from portal.models import ApiToken
from portal.models.tokens import hash_token


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` checked against the stored SHA-256 of the key.

    Failed keys are counted per client address; past the ``failed_auth`` rate that
    address gets 429 for any key, right or wrong, until the window passes.
    """

    def authenticate(self, request):
        scheme = authentication.get_authorization_header(request).split(maxsplit=1)[:1]
        if not scheme or scheme[0].lower() != self.keyword.lower().encode():
            return None  # not this scheme's credentials: nothing to count
        throttle = FailedAuthenticationThrottle()
        throttle.refuse_if_exhausted(request)
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.count_failure(request)
            raise

    def authenticate_credentials(self, key):
        try:
            token = ApiToken.objects.select_related("user").get(key_hash=hash_token(key))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token.user, token
