"""Which hosts the portal's server may be told to call by a user: public addresses only, unless an admin allows a network.

Used wherever a user-supplied URL makes Wayline's server open a connection (catalog git remotes, a VAN's Grafana),
so the portal is no window onto its own machine or private networks.
"""
from __future__ import annotations

import ipaddress
import socket


def not_public(host: str, allowed_networks=()) -> str:
    """Why ``host`` may not be called ('' if it may).

    Refused: names and addresses of this server (loopback), private and shared ranges (RFC 1918, ULA, CGNAT: internal
    services, cloud metadata such as fd00:ec2::254 and 100.100.100.200), link-local, and anything not globally
    routable, unless the address is in one of ``allowed_networks`` (an admin's setting). A host a client would decode
    (``%``) is refused. A name that does not resolve passes (nothing can reach it either); callers check again right
    before each connection, so a name pointed elsewhere later is caught then.
    """
    if not host:
        return "it names no host"
    if "%" in host:
        return "its host is percent-encoded"
    lowered = host.lower().rstrip(".")
    if lowered in ("localhost", "localhost.localdomain") or lowered.endswith(".localhost"):
        return "it is the Wayline server itself"
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError, ValueError):
            return ""
    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if any(mapped.version == network.version and mapped in network for network in allowed):
            continue
        if mapped.is_loopback or mapped.is_unspecified:
            return "it is the Wayline server itself"
        if not mapped.is_global or mapped.is_multicast:
            return "it is a private, link-local or reserved address (an admin may allow a network)"
    return ""
