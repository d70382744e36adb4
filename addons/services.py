"""Writes of the add-ons app: a VAN's Grafana settings and dashboard pins. Callers check permissions first (the
views through ``get_permitted_object_or_404``); these validate what comes from outside and record an audit row."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from addons import grafana
from addons.models import DashboardPin
from portal.services import audit_record
from portal.validators import grafana_url_validator


@transaction.atomic
def van_grafana_set(*, actor, van, url: str, token: str = ""):
    """Set the VAN hub's Grafana URL and (when given) its token; an empty URL removes Grafana and its token.
    An empty token keeps the stored one. Nothing goes to git: Grafana is read by Wayline and browsers, not deployed."""
    url, token = (url or "").strip().rstrip("/"), (token or "").strip()
    if url:
        try:
            grafana_url_validator(url)
        except ValidationError as exc:
            raise ValidationError({"grafana_url": exc.messages}) from None
        refused = grafana.host_refusal(url)
        if refused:
            raise ValidationError({"grafana_url": f"Grafana URL: that host is refused: {refused}. An admin may allow "
                                                  "Grafana's network (WAYLINE_GRAFANA_ALLOWED_NETWORKS)."})
    if token and grafana.token_problem(token):
        raise ValidationError({"grafana_token": f"Service-account token: {grafana.token_problem(token)}."})
    changes = {}
    if url != van.grafana_url:
        changes["grafana_url"] = url
    moved = bool(van.grafana_url) and grafana.origin(url or "x://") != grafana.origin(van.grafana_url)
    van.grafana_url = url
    if token and url:
        van.grafana_token, changes["grafana_token"] = token, "replaced"
    elif van.grafana_token and (not url or moved):
        # the stored token was given for the old Grafana: it never goes to another host
        van.grafana_token, changes["grafana_token"] = "", "removed"
    van.full_clean(validate_unique=False, validate_constraints=False)
    van.save(update_fields=["grafana_url", "grafana_token"])
    audit_record(actor=actor, action="van.grafana", obj=van, changes=changes)
    return van


@transaction.atomic
def dashboard_pin(*, actor, van, target, uid: str) -> DashboardPin:
    """Pin dashboard ``uid`` of the VAN's Grafana to ``target``'s page; the uid must be one that Grafana has now."""
    uid = (uid or "").strip()
    if not uid:
        raise ValidationError({"uid": "uid: choose a dashboard"})
    try:
        found = grafana.dashboard(van, uid)
    except grafana.GrafanaError as exc:
        raise ValidationError({"uid": str(exc)}) from None
    if found is None:
        raise ValidationError({"uid": f"uid: VAN {van.name}'s Grafana has no dashboard {uid!r} that its token may read"})
    from django.contrib.contenttypes.models import ContentType

    pin, _ = DashboardPin.objects.update_or_create(
        van=van, target_type=ContentType.objects.get_for_model(target), target_id=target.pk, uid=found.uid,
        defaults={"title": found.title, "path": found.path, "origin": grafana.origin(van.grafana_url), "pinned_by": actor})
    audit_record(actor=actor, action="dashboard.pin", obj=target, changes={"van": van.name, "dashboard": found.title})
    return pin


@transaction.atomic
def dashboard_unpin(*, actor, pin: DashboardPin) -> None:
    target = pin.target
    audit_record(actor=actor, action="dashboard.unpin", obj=target, changes={"van": pin.van.name, "dashboard": pin.title})
    pin.delete()
