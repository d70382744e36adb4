"""API rates: per user when signed in, per client address when not, and per address for failed credentials.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read when a throttle
is made (DRF's own classes read them once at import), and addresses from
``portal.throttling.client_ip``, the same the login lockout uses.
"""
from __future__ import annotations

from rest_framework import exceptions, throttling
from rest_framework.settings import api_settings

from portal.throttling import client_ip


class _PortalThrottle(throttling.SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        return client_ip(request)


class UserThrottle(_PortalThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None  # AnonThrottle's
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonThrottle(_PortalThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedAuthenticationThrottle(_PortalThrottle):
    """Counts failed API credentials per address; once over the rate, credentials from there are not even checked.

    Used from authentication, where ``request.user`` is still being decided, so only the address is read.
    """

    scope = "failed_auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def refuse_if_exhausted(self, request) -> None:
        """429 while the address is over its rate: a right guess must look the same as a wrong one."""
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        self.history = [when for when in self.cache.get(self.key, []) if when > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            raise exceptions.Throttled(wait=self.duration - (self.now - self.history[-1]))

    def count_failure(self, request) -> None:
        self.allow_request(request, None)  # records it; the request itself is refused as unauthenticated
