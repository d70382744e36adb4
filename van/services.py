"""Write services for VANs, clusters and apps."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from portal.models import Team
from portal.services import audit_record, ownership_grant
from van.models import Cluster

_TAG_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_TAG_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def tags_parse(raw: str | list[str]) -> list[str]:
    """Normalise tags from a comma/space separated string or list; each must be a label key or key=value."""
    items = raw if isinstance(raw, list) else re.split(r"[,\s]+", raw or "")
    tags, errors = [], []
    for item in (i.strip() for i in items):
        if not item:
            continue
        key, _, value = item.partition("=")
        if not _TAG_KEY.match(key) or len(key.split("/")[-1]) > 63:
            errors.append(f"{item!r}: the key must be a Kubernetes label key (letters, digits, '-', '_', '.'; 63 at most).")
        elif not _TAG_VALUE.match(value):
            errors.append(f"{item!r}: the value must be 63 letters, digits, '-', '_' or '.' at most, alphanumeric at both ends.")
        elif item not in tags:
            tags.append(item)
    if errors:
        raise ValidationError({"tags": errors})
    return sorted(tags)


@transaction.atomic
def cluster_create(
    *,
    actor,
    name: str,
    api_url: str,
    owner_team: Team,
    environment: str,
    provider: str,
    tags: str | list[str] = "",
    description: str = "",
    visibility: str = "public",
) -> Cluster:
    """Register a cluster owned by ``owner_team``."""
    cluster = Cluster(
        name=name,
        api_url=api_url,
        owner_team=owner_team,
        environment=environment,
        provider=provider,
        tags=tags_parse(tags),
        description=description,
        visibility=visibility,
    )
    cluster.full_clean()
    cluster.save()
    ownership_grant(obj=cluster)
    audit_record(actor=actor, action="cluster.create", obj=cluster, changes={"name": name, "tags": cluster.tags})
    return cluster


@transaction.atomic
def cluster_update(*, actor, obj: Cluster, **fields) -> Cluster:
    """Change a cluster's settings; a new owner team takes over its object permissions."""
    if "tags" in fields:
        fields["tags"] = tags_parse(fields["tags"])
    previous_team = obj.owner_team
    changes = {}
    for field, value in fields.items():
        if getattr(obj, field) != value:
            changes[field] = str(value) if not isinstance(value, (list, str)) else value
            setattr(obj, field, value)
    obj.full_clean()
    obj.save()
    if obj.owner_team_id != previous_team.pk:
        ownership_grant(obj=obj, previous_team=previous_team)
    audit_record(actor=actor, action="cluster.update", obj=obj, changes=changes)
    return obj


@transaction.atomic
def cluster_delete(*, actor, obj: Cluster) -> None:
    audit_record(actor=actor, action="cluster.delete", obj=obj, changes={"name": obj.name})
    obj.delete()
