"""Write services of the catalog: locations, ingestion, entity settings."""
from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.models import GroupObjectPermission

from catalog.choices import LocationStatus, LocationType
from catalog.models import Entity, Location, LocationError, Relation
from catalog.processing import ProcessedEntity, ProcessingError, process_document, process_tree
from catalog.refs import parse_ref
from catalog.sources import LocationUnreadable, checkout
from catalog.validation import EntityInvalid, FieldError
from portal.models import MembershipRole, Team, TeamMembership, Visibility
from portal.services import audit_record, ownership_grant, team_create, team_membership_set

logger = logging.getLogger(__name__)

CHUNK = 900  # stays under SQLite's bound-parameter limits for IN lists


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- locations ---


def _check_team(actor, owner_team: Team | None) -> None:
    from portal.selectors import teams_user_can_edit_for

    if actor is None or getattr(actor, "is_superuser", False):
        return
    if owner_team is None:
        raise ValidationError({"owner_team": ["Choose the team that owns this location."]})
    if not teams_user_can_edit_for(user=actor).filter(pk=owner_team.pk).exists():
        raise PermissionDenied("You may not register locations for that team.")


@transaction.atomic
def location_register(
    *,
    actor,
    type: str,
    target: str,
    branch: str = "",
    path: str = "catalog-info.yaml",
    owner_team: Team | None = None,
    visibility: str = Visibility.PUBLIC,
    refresh: bool = True,
) -> Location:
    """Register a location; with ``refresh`` its first processing is queued after commit.

    Local directories are for platform admins only: they read the server's own disk.
    """
    if type == LocationType.PATH and actor is not None and not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only platform admins may register a directory on the server.")
    _check_team(actor, owner_team)
    location = Location(
        type=type, target=target.strip(), branch=branch.strip(), path=(path or "catalog-info.yaml").strip(),
        owner_team=owner_team, visibility=visibility,
    )
    location.full_clean(validate_constraints=False)
    if Location.objects.filter(type=location.type, target=location.target, branch=location.branch, path=location.path).exists():
        raise ValidationError({"target": [f"{location} is already registered."]})
    location.save()
    if owner_team is not None:
        ownership_grant(obj=location)
    audit_record(actor=actor, action="catalog.location_register", obj=location, team=owner_team,
                 changes={"type": type, "target": location.target, "branch": location.branch, "path": location.path})
    if refresh:
        from catalog.tasks import location_refresh_task

        location_id = location.pk
        transaction.on_commit(lambda: location_refresh_task.delay(location_id))
    return location


@transaction.atomic
def location_delete(*, actor, location: Location) -> None:
    """Remove a location and every entity it supplied."""
    audit_record(actor=actor, action="catalog.location_delete", obj=location, team=location.owner_team,
                 changes={"target": str(location), "entities": location.entities.count()})
    location.delete()


def location_refresh_request(*, actor, location: Location) -> None:
    """Queue a refresh of ``location`` (the "refresh now" button)."""
    from catalog.tasks import location_refresh_task

    audit_record(actor=actor, action="catalog.location_refresh", obj=location, team=location.owner_team)
    location_id = location.pk
    transaction.on_commit(lambda: location_refresh_task.delay(location_id))


# --- ingestion ---


@dataclass
class RefreshReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    orphaned: int = 0
    removed: int = 0
    errors: int = 0
    files: int = 0
    commit: str = ""
    seconds: float = 0.0
    failure: str = ""
    error_list: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("error_list")
        return data


def team_slug_for(namespace: str, name: str) -> str:
    """The portal team slug a catalog Group maps onto (``default`` namespace left out)."""
    raw = name if namespace == "default" else f"{namespace}-{name}"
    slug = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:63].strip("-")
    return slug or "team"


def location_refresh(*, actor, location_id: int) -> RefreshReport:
    """Read a location, validate its documents and bring its entities, relations and errors up to date.

    Unchanged documents (same hash) are skipped; writes are in bulk. Entities
    the location no longer supplies are flagged orphaned, then removed once
    ``CATALOG_ORPHAN_GRACE_SECONDS`` has passed (0: in the same refresh).
    """
    started = time.monotonic()
    location = Location.objects.get(pk=location_id)
    report = RefreshReport()
    try:
        source = checkout(location)
    except LocationUnreadable as exc:
        report.failure = str(exc)
        report.seconds = round(time.monotonic() - started, 3)
        Location.objects.filter(pk=location.pk).update(
            status=LocationStatus.FAILED, status_message=str(exc), last_refreshed=timezone.now(),
            last_report=report.as_dict(),
        )
        audit_record(actor=actor, action="catalog.location_refresh_failed", obj=location, team=location.owner_team,
                     changes={"reason": str(exc)[:500]})
        return report
    patterns = [p.strip() for p in location.path.split(",") if p.strip()]
    result = process_tree(source.root, patterns, base_urls=source.base_urls)
    report.files = len(result.files)
    report.commit = source.commit
    with transaction.atomic():
        _store(actor, location, result.entities, result.errors, source.commit, report)
        report.seconds = round(time.monotonic() - started, 3)
        Location.objects.filter(pk=location.pk).update(
            status=LocationStatus.ERRORS if report.errors else LocationStatus.OK,
            status_message="",
            last_commit=source.commit,
            last_refreshed=timezone.now(),
            last_report=report.as_dict(),
        )
        audit_record(actor=actor, action="catalog.location_refreshed", obj=location, team=location.owner_team,
                     changes=report.as_dict())
    return report


def _store(actor, location: Location, processed: list[ProcessedEntity], errors: list[ProcessingError], commit: str,
           report: RefreshReport) -> None:
    now = timezone.now()
    existing = {ref: (pk, digest, owner_team_id) for pk, ref, digest, owner_team_id in
                Entity.objects.filter(location=location).values_list("pk", "ref", "hash", "owner_team_id")}

    # A ref another location already supplies stays with that location (as in Backstage).
    foreign: dict[str, int] = {}
    candidate_refs = [entity.key for entity in processed if entity.key not in existing]
    for chunk in _chunks(candidate_refs):
        foreign.update(Entity.objects.filter(ref__in=chunk).exclude(location=location).values_list("ref", "location_id"))
    if foreign:
        kept = []
        for entity in processed:
            if entity.key in foreign:
                errors.append(ProcessingError(
                    path=entity.path, doc_index=entity.doc_index, line=entity.line, field="metadata.name",
                    message=f"{entity.key} is already supplied by location #{foreign[entity.key]}",
                    entity_ref=entity.key, code="conflict",
                ))
            else:
                kept.append(entity)
        processed = kept

    changed = [entity for entity in processed if entity.key not in existing or existing[entity.key][1] != entity.hash]
    report.unchanged = len(processed) - len(changed)
    group_teams = _sync_org(actor, [entity for entity in changed if entity.data["kind"] in ("Group", "User")])
    teams = dict(Team.objects.values_list("slug", "pk"))

    to_create, to_update = [], []
    for entity in changed:
        row = _entity_row(entity, location, commit, now, teams)
        row.team_id = group_teams.get(entity.key)
        if entity.key in existing:
            row.pk = existing[entity.key][0]
            to_update.append(row)
        else:
            to_create.append(row)
    Entity.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        Entity.objects.bulk_update(to_update, fields=_UPDATE_FIELDS, batch_size=200)
    report.added, report.updated = len(to_create), len(to_update)

    # Relations: replace those emitted by changed entities.
    ids = {row.ref: row.pk for row in to_create + to_update}
    if to_update:
        for chunk in _chunks([row.pk for row in to_update]):
            Relation.objects.filter(originating_id__in=chunk).delete()
    Relation.objects.bulk_create(
        [Relation(originating_id=ids[entity.key], source_ref=s, type=t, target_ref=o)
         for entity in changed for s, t, o in entity.relations],
        batch_size=1000,
    )

    # Owner-team permissions for new entities and those whose owner team changed.
    regrant = [row for row in to_create] + [
        row for row in to_update if existing[row.ref][2] != row.owner_team_id
    ]
    _grant_bulk(regrant, revoke=[row.pk for row in to_update if existing[row.ref][2] != row.owner_team_id])

    # Everything still supplied was processed now (only changed rows got a new commit).
    supplied = {entity.key for entity in processed}
    Entity.objects.filter(location=location).update(processed=now)
    back = [ref for ref in Entity.objects.filter(location=location, orphaned__isnull=False).values_list("ref", flat=True)
            if ref in supplied]
    for chunk in _chunks(back):
        Entity.objects.filter(location=location, ref__in=chunk).update(orphaned=None)
    missing = [ref for ref in existing if ref not in supplied]
    for chunk in _chunks(missing):
        report.orphaned += Entity.objects.filter(location=location, ref__in=chunk, orphaned__isnull=True).update(orphaned=now)
    if missing:
        cutoff = now - timezone.timedelta(seconds=getattr(settings, "CATALOG_ORPHAN_GRACE_SECONDS", 0))
        evicted = list(Entity.objects.filter(location=location, orphaned__lte=cutoff).values_list("pk", flat=True))
        for chunk in _chunks(evicted):
            _revoke(chunk)
            Entity.objects.filter(pk__in=chunk).delete()
        report.removed = len(evicted)

    LocationError.objects.filter(location=location).delete()
    LocationError.objects.bulk_create(
        [LocationError(location=location, path=e.path[:1000], doc_index=e.doc_index, line=e.line,
                       field=e.field[:500], message=e.message, entity_ref=e.entity_ref[:500], code=e.code)
         for e in errors],
        batch_size=500,
    )
    report.errors = len(errors)
    report.error_list = [str(e) for e in errors]


_UPDATE_FIELDS = [
    "kind", "namespace", "name", "title", "description", "type", "lifecycle", "owner", "system", "domain", "tags",
    "tag_index", "search_text", "data", "source_text", "source_path", "doc_index", "line", "commit", "hash", "etag",
    "processed", "orphaned", "owner_team", "team",
]


def _entity_row(entity: ProcessedEntity, location: Location, commit: str, now, teams: dict[str, int]) -> Entity:
    data = entity.data
    meta, spec = data["metadata"], data.get("spec") or {}
    namespace = meta.get("namespace") or "default"
    tags = [tag for tag in meta.get("tags") or [] if isinstance(tag, str)]
    owner = _ref_or_blank(spec.get("owner"), "Group", namespace)
    owner_team_id = None
    if owner.startswith("group:"):
        owner_namespace, _, owner_name = owner[len("group:"):].partition("/")
        owner_team_id = teams.get(team_slug_for(owner_namespace, owner_name))
    spec_type = spec.get("type")
    return Entity(
        ref=entity.key,
        kind=data["kind"],
        namespace=namespace,
        name=meta["name"],
        title=(meta.get("title") or "")[:500],
        description=meta.get("description") or "",
        type=spec_type[:200] if isinstance(spec_type, str) else "",
        lifecycle=str(spec.get("lifecycle") or "")[:200],
        owner=owner,
        system=_ref_or_blank(spec.get("system"), "System", namespace),
        domain=_ref_or_blank(spec.get("domain"), "Domain", namespace),
        tags=tags,
        tag_index=("|" + "|".join(tags) + "|")[:2000] if tags else "",
        search_text=" ".join([meta["name"], meta.get("title") or "", meta.get("description") or "", *tags]).lower(),
        data=data,
        source_text=entity.text,
        location=location,
        source_path=entity.path,
        doc_index=entity.doc_index,
        line=entity.line,
        commit=commit,
        hash=entity.hash,
        etag=entity.hash[:20],
        processed=now,
        orphaned=None,
        owner_team_id=owner_team_id,
    )


def _ref_or_blank(value, default_kind: str, namespace: str) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        return parse_ref(value, default_kind=default_kind, default_namespace=namespace).key
    except ValueError:
        return ""


def _entity_permissions() -> tuple[ContentType, dict[str, Permission]]:
    content_type = ContentType.objects.get_for_model(Entity)
    perms = {p.codename.split("_", 1)[0]: p for p in Permission.objects.filter(content_type=content_type)}
    return content_type, perms


def _revoke(entity_ids: list[int]) -> None:
    content_type = ContentType.objects.get_for_model(Entity)
    GroupObjectPermission.objects.filter(content_type=content_type, object_pk__in=[str(pk) for pk in entity_ids]).delete()


def _grant_bulk(rows: list[Entity], *, revoke: list[int]) -> None:
    """``ownership_grant`` for many entities at once: view to the team's readers, change/delete to its editors."""
    for chunk in _chunks(revoke):
        _revoke(chunk)
    owned = [row for row in rows if row.owner_team_id]
    if not owned:
        return
    content_type, perms = _entity_permissions()
    groups = {pk: (readers, editors) for pk, readers, editors in
              Team.objects.filter(pk__in={row.owner_team_id for row in owned}).values_list("pk", "readers_id", "editors_id")}
    grants = []
    for row in owned:
        readers, editors = groups[row.owner_team_id]
        for action, group_id in (("view", readers), ("change", editors), ("delete", editors)):
            grants.append(GroupObjectPermission(
                content_type=content_type, object_pk=str(row.pk), group_id=group_id, permission=perms[action]
            ))
    GroupObjectPermission.objects.bulk_create(grants, batch_size=1000, ignore_conflicts=True)


def _sync_org(actor, org_entities: list[ProcessedEntity]) -> dict[str, int]:
    """Map catalog Groups onto portal teams and Users onto portal users with memberships.

    A Group whose slug already names a team adopts it; otherwise a team is
    created (by the system, so the importing user does not become its admin).
    Memberships are added as plain members; existing roles are kept.
    Returns the team id of each Group entity (by ref).
    """
    if not org_entities:
        return {}
    User = get_user_model()
    teams_by_key: dict[str, Team] = {}
    members: dict[str, set[str]] = {}
    for entity in org_entities:
        data = entity.data
        meta, spec = data["metadata"], data.get("spec") or {}
        namespace = meta.get("namespace") or "default"
        if data["kind"] == "Group":
            slug = team_slug_for(namespace, meta["name"])
            team = Team.objects.filter(slug=slug).first()
            profile = spec.get("profile") or {}
            if team is None:
                email = profile.get("email") or ""
                try:
                    team = team_create(
                        actor=None, slug=slug, name=(profile.get("displayName") or meta.get("title") or meta["name"])[:200],
                        description=meta.get("description") or "", email=email if "@" in email else "",
                    )
                except (ValidationError, IntegrityError):
                    logger.warning("catalog group %s could not become a team", entity.key)
                    continue
            teams_by_key[entity.key] = team
            for member in spec.get("members") or []:
                user_key = _ref_or_blank(member, "User", namespace)
                members.setdefault(entity.key, set()).add(user_key)
        else:
            for group in spec.get("memberOf") or []:
                group_key = _ref_or_blank(group, "Group", namespace)
                members.setdefault(group_key, set()).add(entity.key)
    for group_key, team_id in Entity.objects.filter(ref__in=list(members), team__isnull=False).values_list("ref", "team_id"):
        teams_by_key.setdefault(group_key, Team.objects.get(pk=team_id))
    profiles = {e.key: (e.data.get("spec") or {}).get("profile") or {} for e in org_entities if e.data["kind"] == "User"}
    for group_key, user_keys in members.items():
        team = teams_by_key.get(group_key)
        if team is None:
            continue
        for user_key in sorted(user_keys):
            if not user_key.startswith("user:"):
                continue
            username = user_key.split("/", 1)[1][:150]
            user = User.objects.filter(username=username).first()
            if user is None:
                if not getattr(settings, "CATALOG_CREATE_USERS", True):
                    continue
                email = profiles.get(user_key, {}).get("email") or ""
                user = User(username=username, email=email if "@" in email else "")
                user.set_unusable_password()
                user.save()
            if not TeamMembership.objects.filter(team=team, user=user).exists():
                team_membership_set(actor=actor, team=team, user=user, role=MembershipRole.MEMBER)
    group_teams: dict[str, int] = {}
    for entity in org_entities:
        team = teams_by_key.get(entity.key)
        if team is None or team.pk in group_teams.values():
            continue
        if not Entity.objects.filter(team=team).exclude(ref=entity.key).exists():
            group_teams[entity.key] = team.pk
    return group_teams


@transaction.atomic
def entity_settings_update(*, actor, obj: Entity, visibility: str) -> Entity:
    """Change an entity's portal-side settings (its catalog fields come only from its location)."""
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": [f"Unknown visibility {visibility!r}."]})
    changes = {"visibility": visibility} if obj.visibility != visibility else {}
    obj.visibility = visibility
    obj.save(update_fields=["visibility", "updated"])
    audit_record(actor=actor, action="catalog.entity_update", obj=obj, team=obj.owner_team, changes=changes)
    return obj


def entity_validate(*, document) -> list[FieldError]:
    """Validate a raw entity document exactly as ingestion does (placeholders cannot be read here)."""
    try:
        process_document(document, reader=None, path="<request>")
    except EntityInvalid as exc:
        return [exc.error]
    return []
