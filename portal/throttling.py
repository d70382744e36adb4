"""Who is asking, and the login lockout (django-axes) built on it.

``client_ip`` is the one answer to "which address is this request from", used by
the login lockout and the API throttles alike, so that both trust the same proxies.
"""
from __future__ import annotations

import ipaddress
import math
from functools import lru_cache

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.WAYLINE_TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the nearest X-Forwarded-For hop not theirs.

    Read from the right: every hop left of the first untrusted one could have been written by the client.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if not _trusted(address):
        return address
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # not written by a proxy: the last trusted hop is all that is known
        if not _trusted(hop):
            return hop
        address = hop
    return address


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit per lockout parameter set.

    ``AXES_LOCKOUT_PARAMETERS`` is the pair (username, address), locked at
    ``AXES_FAILURE_LIMIT``, then the address alone, locked at the higher
    ``WAYLINE_LOGIN_ADDRESS_FAILURE_LIMIT`` (one password tried on many accounts).
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        pair, address = (
            attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if address >= settings.WAYLINE_LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(pair, get_failure_limit(request, credentials))  # on axes' single scale: locked
        return pair

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        # A sign-in clears that account's failures from that address only: owning one account must not wipe
        # the address's record of failures against the others.
        pair = self.filter_user_attempts(request, credentials)[0]
        count, _ = pair.delete()
        return count


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 with the same page whoever the username was (nothing tells whether the account exists)."""
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds())
    context = {"retry_minutes": math.ceil(seconds / 60), "retry_at": timezone.now() + cool_off}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
