"""How Wayline reaches a cluster's API: a hub directly, an edge through its VAN listener on the hub (never the edge's
own address), with the credentials stored for it. ``docs/van-control-plane.md`` draws the paths."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from portal.kube import Endpoint
from van.models import Cluster


def listener_address(server: str) -> str:
    """``server`` (a VAN listener's URL on the hub) as Wayline dials it: unchanged when Wayline runs on the hub, else
    the address ``WAYLINE_VAN_LISTENER_ADDRESSES`` gives for the listener's host (a port-forward, a load balancer)."""
    parts = urlsplit(server)
    addresses = getattr(settings, "WAYLINE_VAN_LISTENER_ADDRESSES", {}) or {}
    address = addresses.get(parts.hostname or "")
    return urlunsplit(parts._replace(netloc=address)) if address else server


def cluster_endpoint(cluster: Cluster) -> Endpoint:
    """How Wayline reaches ``cluster``'s API (the VAN is ``select_related``): a hub (or a cluster in no VAN) at its
    API URL; an edge through its VAN listener, verifying the edge API server's own name. ``ValueError`` without
    credentials."""
    from van.rendering.spec import edge_api
    from van.services import credentials_parse

    creds = credentials_parse(cluster.credentials_kind, cluster.credentials) if cluster.credentials else None
    if creds is None:
        raise ValueError(f"cluster {cluster.name!r} has no credentials: Wayline cannot read it")
    server, server_name = cluster.api_url, ""
    if cluster.role == "edge" and cluster.van is not None:
        api = edge_api(van=cluster.van.name, cluster=cluster.name, api_url=cluster.api_url,
                       skupper_namespace=cluster.van.skupper_namespace)
        server, server_name = listener_address(api.server), ("" if creds.insecure else api.server_name)
    return Endpoint(server=server, token=creds.bearer_token, ca_data=creds.ca_data, cert_data=creds.cert_data,
                    key_data=creds.key_data, insecure=creds.insecure, server_name=server_name)
