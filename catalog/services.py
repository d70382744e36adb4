"""Write services of the catalog: locations, ingestion, entity settings."""
from __future__ import annotations

import gc
import json
import logging
import os
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from catalog import readcache
from catalog.choices import LocationStatus, LocationType
from catalog.models import (
    CatalogIdentity, CatalogMembership, Entity, EntityDocument, EntityGroupObjectPermission, Location, LocationError, Relation,
)
from catalog.processing import ProcessedEntity, ProcessingError, process_document, process_tree
from catalog.refs import parse_ref
from catalog.sources import LocationUnreadable, TargetRefused, check_target, checkout
from catalog.validation import EntityInvalid, FieldError
from portal.models import MembershipRole, Team, TeamMembership, Visibility
from portal.services import audit_record, ownership_grant, team_create, team_membership_remove, team_membership_set

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


def _is_platform_admin(actor) -> bool:
    return actor is None or getattr(actor, "is_superuser", False)


def _check_target(actor, type: str, target: str) -> None:
    """The URL policy (``catalog.sources.check_target``) for this actor: a directory is a permission
    question (403), a refused URL a question of the field (400)."""
    trusted = _is_platform_admin(actor)
    try:
        check_target(type=type, target=target, trusted=trusted)
    except TargetRefused as exc:
        if type == LocationType.PATH:
            raise PermissionDenied(str(exc)) from None
        raise ValidationError({"target": [str(exc)]}) from None


def _check_published(type: str, target: str) -> None:
    """``target`` is a repository inside the scaffolder's own folder, by its resolved path (no ``..``, no link out)."""
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    root = Path(settings.SCAFFOLDER_REPOS_DIR).resolve()
    parsed = urlparse(target)
    inside = False
    if type == LocationType.GIT and parsed.scheme == "file" and not parsed.netloc:
        path = Path(unquote(parsed.path)).resolve()
        inside = root in path.parents and path.suffix == ".git"
    if not inside:
        raise PermissionDenied("Only repositories the scaffolder created may be registered this way.")


@dataclass
class LocationPreview:
    location: Location
    entities: list
    errors: list


def location_preview(*, actor, type: str, target: str, branch: str = "", path: str = "catalog-info.yaml",
                     owner_team: Team | None = None) -> LocationPreview:
    """What registering this location would ingest, without storing anything (a dry run).

    Checked exactly as ``location_register``: the same URL policy and the same team; git gets
    ``CATALOG_DRY_RUN_SECONDS`` because a dry run clones inside the request.
    Raises ``LocationUnreadable`` when the target cannot be read.
    """
    import tempfile
    from pathlib import Path

    _check_target(actor, type, target)
    _check_team(actor, owner_team)
    probe = Location(pk=0, type=type, target=target.strip(), branch=branch.strip(),
                     path=(path or "catalog-info.yaml").strip(), owner_team=owner_team)
    probe.full_clean(validate_constraints=False, validate_unique=False)
    with tempfile.TemporaryDirectory(prefix="wayline-dryrun-") as tmp:
        source = checkout(probe, dest=Path(tmp) / "checkout", timeout=settings.CATALOG_DRY_RUN_SECONDS)
        result = process_tree(source.root, [p.strip() for p in probe.path.split(",") if p.strip()],
                              base_urls=source.base_urls)
    return LocationPreview(location=probe, entities=result.entities, errors=list(result.errors))


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
    directory: bool = False,
    refresh: bool = True,
    published_by_wayline: bool = False,
) -> Location:
    """Register a location; with ``refresh`` its first processing is queued after commit.

    Local directories and repositories are for platform admins only: they read the server's own disk.
    ``directory``: the organisation's directory (its Groups and Users become teams and memberships),
    for platform admins only. ``published_by_wayline``: a repository the scaffolder created in its own folder
    (``SCAFFOLDER_REPOS_DIR``) for this team's run; the URL policy for server paths does not apply to it, and
    nothing else passes as one.
    """
    if published_by_wayline:
        _check_published(type, target)
    else:
        _check_target(actor, type, target)
    _check_team(actor, owner_team)
    if directory and not _is_platform_admin(actor):
        raise PermissionDenied("Only platform admins may make a location the organisation's directory.")
    location = Location(
        type=type, target=target.strip(), branch=branch.strip(), path=(path or "catalog-info.yaml").strip(),
        owner_team=owner_team, visibility=visibility, is_directory=directory,
    )
    location.full_clean(validate_constraints=False)
    _check_unregistered(location)
    location.save()
    if owner_team is not None:
        ownership_grant(obj=location)
    audit_record(actor=actor, action="catalog.location_register", obj=location, team=owner_team,
                 changes={"type": type, "target": location.target, "branch": location.branch, "path": location.path,
                          **({"directory": True} if directory else {})})
    if refresh:
        from catalog.tasks import location_refresh_task

        location_id = location.pk
        transaction.on_commit(lambda: location_refresh_task.delay(location_id))
    return location


def _check_unregistered(location: Location) -> None:
    """One row per source (type, target, branch, path): another location reading the same files is refused."""
    if Location.objects.filter(type=location.type, target=location.target, branch=location.branch,
                               path=location.path).exclude(pk=location.pk).exists():
        raise ValidationError({"target": [f"{location} is already registered."]})


@transaction.atomic
def location_target_update(*, actor, location: Location, type: str, target: str, branch: str = "",
                           path: str = "catalog-info.yaml") -> Location:
    """Point ``location`` somewhere else (Backstage's ``PUT /locations/:id``): checked as registering the new target
    would be (the URL policy, who may read the server's disk), by whoever may change the location; the
    organisation's directory only by platform admins. Every file is read again at the refresh queued after commit;
    what the new target no longer supplies is orphaned as any refresh does."""
    location = Location.objects.select_for_update().get(pk=location.pk)
    if not Location.objects.permits(actor, "change", location):
        raise PermissionDenied("You may not change this location")
    if location.is_directory and not _is_platform_admin(actor):
        raise PermissionDenied("Only platform admins may move the organisation's directory.")
    _check_target(actor, type, target)
    before = str(location)
    location.type, location.target, location.branch = type, target.strip(), branch.strip()
    location.path = (path or "catalog-info.yaml").strip()
    location.full_clean(validate_constraints=False)
    _check_unregistered(location)
    location.fingerprints = {}  # a new source: nothing read before counts
    location.save(update_fields=["type", "target", "branch", "path", "fingerprints", "updated"])
    audit_record(actor=actor, action="catalog.location_update", obj=location, team=location.owner_team,
                 changes={"target": [before, str(location)]})
    from catalog.tasks import location_refresh_task

    location_id = location.pk
    transaction.on_commit(lambda: location_refresh_task.delay(location_id))
    return location


@transaction.atomic
def location_delete(*, actor, location: Location) -> None:
    """Remove a location and every entity it supplied (who may change it may; ``actor`` None: the system)."""
    if actor is not None and not Location.objects.permits(actor, "change", location):
        raise PermissionDenied("You may not delete this location")
    audit_record(actor=actor, action="catalog.location_delete", obj=location, team=location.owner_team,
                 changes={"target": str(location), "entities": location.entities.count()})
    was_directory = location.is_directory
    location.delete()
    readcache.changed()
    if was_directory:
        _sync_memberships(actor)  # what it made members of teams goes with it


@transaction.atomic
def location_directory_set(*, actor, location: Location, directory: bool) -> Location:
    """Mark ``location`` as the organisation's directory, or unmark it (platform admins only).

    Unmarking ends what it granted at once: its Groups stop mapping onto teams and the memberships it
    caused are removed. Marking takes effect with a full refresh, queued after commit.
    """
    if not _is_platform_admin(actor):
        raise PermissionDenied("Only platform admins may choose the organisation's directory.")
    if location.is_directory == directory:
        return location
    location.is_directory = directory
    location.save(update_fields=["is_directory", "updated"])
    readcache.changed()
    audit_record(actor=actor, action="catalog.location_directory", obj=location, team=location.owner_team,
                 changes={"directory": directory})
    if directory:
        from catalog.tasks import location_refresh_task

        # Its Groups and Users are written again by the refresh (as if changed), which maps them onto teams.
        Entity.objects.filter(location=location, kind__in=("Group", "User")).update(hash="")
        location_id = location.pk
        transaction.on_commit(lambda: location_refresh_task.delay(location_id, full=True))
    else:
        Entity.objects.filter(location=location, team__isnull=False).update(team=None)
        _sync_memberships(actor)
    return location


def location_refresh_request(*, actor, location: Location) -> None:
    """Queue a full refresh of ``location`` (the "refresh now" button: every file is read again); who may change
    the location may."""
    from catalog.tasks import location_refresh_task

    if not Location.objects.permits(actor, "change", location):
        raise PermissionDenied("You may not refresh this location")

    audit_record(actor=actor, action="catalog.location_refresh", obj=location, team=location.owner_team)
    location_id = location.pk
    transaction.on_commit(lambda: location_refresh_task.delay(location_id, full=True))


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


def location_refresh(*, actor, location_id: int, full: bool = False, git_timeout: float | None = None) -> RefreshReport:
    """Read a location, validate its documents and bring its entities, relations and errors up to date.

    Files whose bytes (and placeholder targets) did not change since the last
    run are not parsed again, and entities whose document hash is unchanged
    are not written (``full`` processes every file). Writes are in bulk.
    Entities the location no longer supplies are flagged orphaned and kept, as Backstage's
    default orphan strategy does; with ``CATALOG_ORPHAN_STRATEGY = "delete"`` they are removed
    once ``CATALOG_ORPHAN_GRACE_SECONDS`` has passed (0: in the same refresh).
    """
    started = time.monotonic()
    location = Location.objects.get(pk=location_id)
    report = RefreshReport()
    try:
        source = checkout(location, timeout=git_timeout)
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
    with _collector_paused():
        result = process_tree(source.root, patterns, base_urls=source.base_urls,
                              previous=None if full else location.fingerprints,
                              processes=getattr(settings, "CATALOG_PARSE_PROCESSES", None) or os.cpu_count() or 1,
                              blobs=source.blobs)
        report.files = len(result.files)
        report.commit = source.commit
        with transaction.atomic():
            errors = _store(actor, location, result, source.commit, report)
            _keep_dropped_fingerprints(location, result)
            report.seconds = round(time.monotonic() - started, 3)
            Location.objects.filter(pk=location.pk).update(
                status=LocationStatus.ERRORS if errors else LocationStatus.OK,
                status_message="",
                last_commit=source.commit,
                last_refreshed=timezone.now(),
                last_report=report.as_dict(),
                fingerprints=result.fingerprints,
            )
            if actor is not None or report.added or report.updated or report.removed or report.orphaned:
                # Periodic refreshes that change nothing leave no audit row (they run every few minutes).
                audit_record(actor=actor, action="catalog.location_refreshed", obj=location,
                             team=location.owner_team, changes=report.as_dict())
    if report.added + report.updated + report.removed >= ANALYZE_AFTER_ROWS:
        _analyze()
    return report


ANALYZE_AFTER_ROWS = 1000


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while a refresh builds and writes its rows.

    A 10,000-entity refresh allocates a few million long-lived dicts, lists and
    strings; every generation-2 pass re-walks all of them (about a fifth of the
    refresh time). Reference counting still frees everything as usual; cycles
    wait until the refresh is over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _analyze() -> None:
    """Refresh PostgreSQL's planner statistics of the catalog tables after a large write.

    Autovacuum gets to it only a minute or more later; until then the planner
    assumes the pre-import row counts and picks sequential scans and sorts
    where an index scan that stops after one page of rows is far cheaper.
    """
    db = connections[Entity.objects.db]
    if db.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Entity, Relation, EntityGroupObjectPermission)]
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        # A 3,000-row sample (not 30,000) is plenty for row estimates and costs a third (0.1 s for 10k entities).
        cursor.execute("SET LOCAL default_statistics_target = 10")
        cursor.execute(f"ANALYZE {', '.join(db.ops.quote_name(t) for t in tables)}")


def _store(actor, location: Location, result, commit: str, report: RefreshReport) -> int:
    """Write one refresh's outcome; returns how many errors the location now has.

    Files holding a conflict lose their fingerprint in ``result.fingerprints`` (saved after this), so every refresh
    reads them again until the ref they want is free.
    """
    _refresh_write_lock()
    now = timezone.now()
    processed, errors, skipped = result.entities, list(result.errors), set(result.skipped)
    error_paths = {e.path for e in errors}
    existing, in_skipped = _existing_rows(location, skipped)

    # A ref that another location (or an unchanged file of this one) already supplies stays where it is.
    foreign: dict[str, int] = {}
    defined_in: dict[str, str] = {}  # refs of this location's skipped files, whose rows were not loaded
    candidate_refs = [entity.key for entity in processed if entity.key not in existing]
    for chunk in _chunks(candidate_refs):
        for ref, location_id, path in Entity.objects.filter(ref__in=chunk).values_list("ref", "location_id", "source_path"):
            if location_id == location.pk:
                defined_in[ref] = path
            else:
                foreign[ref] = location_id
    if location.is_directory:
        _take_over_org_refs(location, foreign, now)
    kept = []
    # Another location is named only when it is public: a private one's existence is its team's.
    public = set(Location.objects.filter(pk__in=set(foreign.values()), visibility=Visibility.PUBLIC)
                 .values_list("pk", flat=True)) if foreign else set()
    for entity in processed:
        if entity.key in foreign:
            where = f"location #{foreign[entity.key]}" if foreign[entity.key] in public else "another location"
            message = f"{entity.key} is already supplied by {where}"
        elif entity.key in defined_in:  # a skipped file's row: never the file read now (its rows are loaded)
            message = f"{entity.key} is already defined in {defined_in[entity.key]}"
        else:
            kept.append(entity)
            continue
        errors.append(ProcessingError(path=entity.path, doc_index=entity.doc_index, line=entity.line,
                                      field="metadata.name", message=message, entity_ref=entity.key, code="conflict"))
    processed = kept
    # Unchanged files are skipped, so a file holding a conflict must be read again at every refresh: then it takes
    # the ref over once its holder lets go (drops it, is deleted, or the entity is), and its conflict error goes.
    # Conflicts stored for skipped files count too (fingerprinted before this rule, or written by the directory).
    conflicted = {e.path for e in errors if e.code == "conflict"}
    if skipped:
        conflicted |= skipped & set(LocationError.objects.filter(location=location, code="conflict")
                                    .values_list("path", flat=True))
    for path in conflicted:
        result.fingerprints.pop(path, None)

    changed = [entity for entity in processed if entity.key not in existing or existing[entity.key][1] != entity.hash]
    report.unchanged = len(processed) - len(changed) + in_skipped
    group_teams = _sync_org(actor, location, [entity for entity in changed if entity.data["kind"] in ("Group", "User")])
    teams = dict(Team.objects.values_list("slug", "pk"))
    private = location.visibility == Visibility.PRIVATE
    chosen = location.entity_visibility or {}

    to_create, to_update = [], []
    for entity in changed:
        values = _entity_values(entity, location, commit, now, teams)
        values["team_id"] = group_teams.get(entity.key)
        # A private location's entities are private; otherwise what the owning team chose, even for an entity
        # evicted and supplied again. Updates never write visibility (it is not the location's to reset).
        values["visibility"] = Visibility.PRIVATE if private else chosen.get(entity.key, Visibility.PUBLIC)
        if entity.key in existing:
            to_update.append(Entity(pk=existing[entity.key][0], **values))
        else:
            to_create.append(values)
    _insert_rows(Entity, to_create)
    if to_update:
        Entity.objects.bulk_update(to_update, fields=_UPDATE_FIELDS, batch_size=200)
    report.added, report.updated = len(to_create), len(to_update)
    ids = {row.ref: row.pk for row in to_update}
    if to_create:
        ids.update(Entity.objects.filter(location=location, created=now).values_list("ref", "pk"))

    # Documents: new ones inserted, changed ones rewritten.
    _insert_rows(EntityDocument, [
        {"entity_id": ids[entity.key], "data": entity.data, "source_text": entity.text}
        for entity in changed if entity.key not in existing
    ])
    if to_update:
        EntityDocument.objects.bulk_update(
            [EntityDocument(entity_id=ids[entity.key], data=entity.data, source_text=entity.text)
             for entity in changed if entity.key in existing],
            fields=["data", "source_text"], batch_size=200,
        )

    # Relations: one row per pair (the reverse direction is read from the same row), replaced for changed entities.
    for chunk in _chunks([row.pk for row in to_update]):
        Relation.objects.filter(originating_id__in=chunk).delete()
    _insert_rows(Relation, [
        {"originating_id": ids[entity.key], "source_ref": s, "type": t, "target_ref": o}
        for entity in changed for s, t, o in entity.relations if s == entity.key
    ])

    # Owner-team permissions for new entities and those whose owner team changed. A private location's
    # entities belong to the location's team, whatever owner their documents name.
    if private:
        _grant_bulk([(ids[values["ref"]], location.owner_team_id) for values in to_create], revoke=[])
    else:
        moved = [(row.pk, row.owner_team_id) for row in to_update if existing[row.ref][2] != row.owner_team_id]
        _grant_bulk([(ids[values["ref"]], values["owner_team_id"]) for values in to_create] + moved,
                    revoke=[pk for pk, _ in moved])

    # A file that failed to parse or validate keeps the entities it supplied last time (as Backstage keeps
    # an entity's last good state), so a broken commit neither orphans nor evicts them.
    kept_paths = skipped | error_paths
    supplied = {entity.key for entity in processed} | {ref for ref, v in existing.items() if v[3] in kept_paths}
    Location.objects.filter(pk=location.pk).update(entities_processed=now)
    back = [ref for ref in Entity.objects.filter(location=location, orphaned__isnull=False).values_list("ref", flat=True)
            if ref in supplied]
    for chunk in _chunks(back):
        Entity.objects.filter(location=location, ref__in=chunk).update(orphaned=None)
    missing = [ref for ref in existing if ref not in supplied]
    for chunk in _chunks(missing):
        report.orphaned += Entity.objects.filter(location=location, ref__in=chunk, orphaned__isnull=True).update(orphaned=now)
    if missing and settings.CATALOG_ORPHAN_STRATEGY == "delete":
        cutoff = now - timezone.timedelta(seconds=settings.CATALOG_ORPHAN_GRACE_SECONDS)
        evicted = list(Entity.objects.filter(location=location, orphaned__lte=cutoff).values_list("pk", flat=True))
        for chunk in _chunks(evicted):
            Entity.objects.filter(pk__in=chunk).delete()  # relations and permissions cascade
        report.removed = len(evicted)
    if changed or back or missing:
        readcache.changed()  # the counts kept for readers are out of date (an unchanged refresh keeps them)

    org_changed = any(entity.data["kind"] in ("Group", "User") for entity in changed)
    org_moved = any(ref.startswith(("group:", "user:")) for ref in [*missing, *back])  # orphaned, or back
    if location.is_directory and (org_changed or org_moved):
        for problem in _sync_memberships(actor):
            if problem.location_id == location.pk:
                errors.append(ProcessingError(path=problem.path, doc_index=None, line=problem.line,
                                              field=f"metadata.annotations.{USERNAME_ANNOTATION}",
                                              message=problem.message, entity_ref=problem.entity_ref, code="invalid"))

    # Errors of files processed now replace the old ones; unchanged files keep theirs.
    stale = LocationError.objects.filter(location=location)
    if skipped:
        stale = stale.exclude(path__in=sorted(skipped))
    stale.delete()
    _insert_rows(LocationError, [
        {"location_id": location.pk, "path": e.path[:1000], "doc_index": e.doc_index, "line": e.line,
         "field": e.field[:500], "message": e.message, "entity_ref": e.entity_ref[:500], "code": e.code,
         "created": now, "updated": now}
        for e in errors
    ])
    report.error_list = [str(e) for e in errors]
    total = LocationError.objects.filter(location=location).count()
    report.errors = total
    return total


def _keep_dropped_fingerprints(location: Location, result) -> None:
    """A fingerprint dropped while this refresh was reading (an entity deleted through the API: its file must be read
    again) stays dropped; the refresh would otherwise write back the fingerprints it started from, and the entity
    would stay gone until its file changed. Read under the location row's lock; the fingerprints themselves only when
    the location changed meanwhile."""
    updated = Location.objects.select_for_update().filter(pk=location.pk).values_list("updated", flat=True).first()
    if updated == location.updated:
        return
    current = Location.objects.filter(pk=location.pk).values_list("fingerprints", flat=True).first() or {}
    for path in set(location.fingerprints or {}) - set(current):
        result.fingerprints.pop(path, None)


REFRESH_WRITE_LOCK = 0x5761796C  # PostgreSQL advisory lock key ("Wayl") for the write phase of refreshes


def _refresh_write_lock() -> None:
    """Refreshes write one at a time: which location first supplied a ref is decided on committed rows, never by two
    refreshes that both saw it free (on PostgreSQL the second one's insert then failed on the unique ref, and its
    whole refresh with it). Reading git and parsing stay parallel; only this transaction's writes wait. SQLite has
    one writer anyway. The lock is the transaction's: it ends at COMMIT or ROLLBACK."""
    db = connections[Entity.objects.db]
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_WRITE_LOCK])


def _existing_rows(location: Location, skipped: set[str]) -> tuple[dict[str, tuple], int]:
    """This location's entity rows a refresh may change, by ref ``(pk, hash, owner team, source path)``, and how
    many rows it leaves alone. Rows of skipped (unchanged) files stay as they are, so an incremental refresh loads
    only the rows of files read again or gone: one changed file of a 100,000-entity location reads its own rows,
    not 100,000 (SQLite: 0.3-0.4 s less)."""
    rows = Entity.objects.filter(location=location)
    columns = ("pk", "ref", "hash", "owner_team_id", "source_path")
    if not skipped:
        return {ref: (pk, digest, team, path) for pk, ref, digest, team, path in rows.values_list(*columns)}, 0
    paths = set(rows.order_by().values_list("source_path", flat=True).distinct()) - skipped
    existing = {}
    for chunk in _chunks(sorted(paths)):
        existing.update({ref: (pk, digest, team, path) for pk, ref, digest, team, path in
                         rows.filter(source_path__in=chunk).values_list(*columns)})
    return existing, rows.count() - len(existing)


def _take_over_org_refs(directory: Location, foreign: dict[str, int], now) -> None:
    """The organisation's directory wins its Group and User refs from locations that are not directories.

    Otherwise a team location registered first could hold ``group:default/<team>`` and keep the
    directory from mapping it. The other location's copy goes, with an error there saying why.
    """
    org_refs = [ref for ref in foreign if ref.startswith(("group:", "user:"))]
    rows = list(Entity.objects.filter(ref__in=org_refs, location__is_directory=False)
                .values_list("pk", "ref", "location_id", "source_path", "doc_index", "line"))
    for pk, ref, location_id, path, doc_index, line in rows:
        Entity.objects.filter(pk=pk).delete()
        foreign.pop(ref)
        LocationError.objects.create(
            location_id=location_id, path=path, doc_index=doc_index, line=line, field="metadata.name",
            entity_ref=ref, code="conflict",
            message=f"{ref} is supplied by the organisation's directory (location #{directory.pk})")


def _insert_rows(model, rows: list[dict], *, method: str | None = None) -> None:
    """INSERT many rows (dicts of field attname -> Python value) in bulk.

    Django's ``bulk_create`` builds a model instance per row and splits inserts
    at SQLite's 999-parameter limit (38 entity rows per statement); plain
    values are what make a 10,000-entity import take seconds. Values are
    adapted by the fields' own ``get_db_prep_save`` except for the plain types
    that need no adapting. ``method``: ``"executemany"`` (one prepared statement,
    the default on SQLite, which runs it in-process) or ``"copy"`` (PostgreSQL's
    ``COPY ... FROM STDIN``, the default there: psycopg formats rows in C and the
    server parses no SQL, where multi-row VALUES spent seconds of client CPU
    binding tens of thousands of parameters).
    """
    if not rows:
        return
    db = connections[Entity.objects.db]  # the real connection, not the thread-local proxy (hot loop)
    method = method or ("copy" if db.vendor == "postgresql" else "executemany")
    names = list(rows[0])
    fields = [model._meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name) for name in names]
    adapters = []
    for f in fields:
        internal = f.get_internal_type()
        if internal in ("CharField", "TextField", "PositiveIntegerField", "IntegerField", "ForeignKey", "OneToOneField",
                        "BigAutoField"):
            adapters.append(None)
        elif internal == "DateTimeField":
            adapters.append(_memoized(lambda value, f=f: f.get_db_prep_save(value, db)))  # one "now" per import
        elif internal == "UUIDField":
            adapters.append(None if db.features.has_native_uuid_field else (lambda value: value.hex))
        elif internal == "JSONField" and f.encoder is None:
            adapters.append(_json_text)
        else:
            adapters.append(lambda value, f=f: f.get_db_prep_save(value, db))
    quote = db.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    prepared = [
        [value if adapt is None or value is None else adapt(value) for value, adapt in zip(row.values(), adapters)]
        for row in rows
    ]
    with db.cursor() as cursor:
        if method == "copy":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
            return
        statement = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        for chunk in _chunks(prepared, 5000):
            cursor.executemany(statement, chunk)


def _json_text(value) -> str:
    """JSON text for a JSON column: orjson (~10x faster than json.dumps for 10,000 documents)."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits: JSON allows it, orjson not
        return json.dumps(value)


def _memoized(adapt):
    cache: dict = {}

    def adapted(value):
        if value not in cache:
            cache[value] = adapt(value)
        return cache[value]

    return adapted


_UPDATE_FIELDS = [  # not visibility: see _store
    "kind", "namespace", "name", "title", "description", "type", "lifecycle", "owner", "system", "domain", "tags",
    "tag_index", "search_text", "source_path", "doc_index", "line", "commit", "hash", "etag",
    "orphaned", "owner_team", "team",
]


def _entity_values(entity: ProcessedEntity, location: Location, commit: str, now, teams: dict[str, int]) -> dict:
    """Column values of an entity row (all fields, so inserts and updates share them)."""
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
    return dict(
        uid=uuid.uuid4(),
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
        location_id=location.pk,
        source_path=entity.path[:1000],
        doc_index=entity.doc_index,
        line=entity.line,
        commit=commit,
        hash=entity.hash,
        etag=entity.hash[:20],
        orphaned=None,
        owner_team_id=owner_team_id,
        visibility=Visibility.PUBLIC,
        created=now,
        updated=now,
    )


def _ref_or_blank(value, default_kind: str, namespace: str) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        return parse_ref(value, default_kind=default_kind, default_namespace=namespace).key
    except ValueError:
        return ""


def _revoke(entity_ids: list[int]) -> None:
    EntityGroupObjectPermission.objects.filter(content_object_id__in=entity_ids).delete()


def _grant_bulk(rows: list[tuple[int, int | None]], *, revoke: list[int]) -> None:
    """``ownership_grant`` for many ``(entity id, owner team id)`` at once: view to readers, change to editors.

    (Entities are never deleted through the portal, only by their location, so no delete permission.)
    """
    for chunk in _chunks(revoke):
        _revoke(chunk)
    owned = [(pk, team_id) for pk, team_id in rows if team_id]
    if not owned:
        return
    content_type = ContentType.objects.get_for_model(Entity)
    perms = {p.codename.split("_", 1)[0]: p.pk for p in Permission.objects.filter(content_type=content_type)}
    groups = {pk: (readers, editors) for pk, readers, editors in
              Team.objects.filter(pk__in={team_id for _, team_id in owned}).values_list("pk", "readers_id", "editors_id")}
    grants = []
    for pk, team_id in owned:
        readers, editors = groups[team_id]
        grants.append({"content_object_id": pk, "group_id": readers, "permission_id": perms["view"]})
        grants.append({"content_object_id": pk, "group_id": editors, "permission_id": perms["change"]})
    _insert_rows(EntityGroupObjectPermission, grants)


def _sync_org(actor, location: Location, org_entities: list[ProcessedEntity]) -> dict[str, int]:
    """Map the Groups of a directory location onto portal teams; return the team id of each Group entity (by ref).

    Only a location a platform admin marked as the organisation's directory does this: Groups from
    any other location are catalog entries and map onto nothing. A Group whose slug already names a
    team adopts it; otherwise a team is created (by the system, so the importing user does not
    become its admin). Memberships follow in ``_sync_memberships`` once the entities are stored.
    """
    group_teams: dict[str, int] = {}
    if not location.is_directory:
        return group_teams
    for entity in org_entities:
        data = entity.data
        if data["kind"] != "Group":
            continue
        meta, spec = data["metadata"], data.get("spec") or {}
        slug = team_slug_for(meta.get("namespace") or "default", meta["name"])
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            profile = spec.get("profile") or {}
            email = profile.get("email") or ""
            try:
                team = team_create(
                    actor=None, slug=slug, name=(profile.get("displayName") or meta.get("title") or meta["name"])[:200],
                    description=meta.get("description") or "", email=email if "@" in email else "",
                )
            except (ValidationError, IntegrityError):
                logger.warning("catalog group %s could not become a team", entity.key)
                continue
        if team.pk in group_teams.values() or Entity.objects.filter(team=team).exclude(ref=entity.key).exists():
            continue  # another Group already maps onto this team
        group_teams[entity.key] = team.pk
    return group_teams


USERNAME_ANNOTATION = "wayline.io/username"


@dataclass
class MembershipProblem:
    entity_ref: str
    location_id: int
    path: str
    line: int
    message: str


def _directory_users(org: list[dict], problems: list[MembershipProblem]) -> dict[str, object]:
    """Portal users of the directory's User entities, by entity ref (created where allowed).

    A User entity is a portal user by its ``wayline.io/username`` annotation, else by a
    ``CatalogIdentity`` holding its full ref; a new one is created (named after the entity:
    ``name``, or ``namespace.name`` outside the default namespace) only when no portal user has
    that name. A portal user of the same name that is not linked is never taken over.
    """
    User = get_user_model()
    user_entities = [row for row in org if row["kind"] == "User"]
    identities = dict(CatalogIdentity.objects.filter(ref__in=[row["ref"] for row in user_entities])
                      .values_list("ref", "user_id"))
    wanted_names = {}
    for row in user_entities:
        annotations = (row["data"].get("metadata") or {}).get("annotations") or {}
        named = annotations.get(USERNAME_ANNOTATION)
        if isinstance(named, str) and named.strip():
            wanted_names[row["ref"]] = (named.strip()[:150], True)
        elif row["ref"] not in identities:
            name = row["ref"].split("/", 1)[1]
            wanted_names[row["ref"]] = ((name if row["namespace"] == "default" else f"{row['namespace']}.{name}")[:150], False)
    by_name = {u.username: u for u in User.objects.filter(username__in={n for n, _ in wanted_names.values()})}
    by_id = User.objects.in_bulk(set(identities.values()))
    linked_users = dict(CatalogIdentity.objects.filter(user__in=by_name.values()).values_list("user_id", "ref"))
    users: dict[str, object] = {}
    for row in user_entities:
        ref = row["ref"]
        if ref in identities and ref not in wanted_names:
            users[ref] = by_id[identities[ref]]
            continue
        username, annotated = wanted_names[ref]
        user = by_name.get(username)
        if user is not None and not annotated and linked_users.get(user.pk) != ref:
            problems.append(MembershipProblem(ref, row["location_id"], row["source_path"], row["line"],
                f"{ref}: a portal user {username!r} exists but is not linked to this entity; add the annotation "
                f"{USERNAME_ANNOTATION}: {username} here, or link them in the admin (catalog identities)"))
            continue
        if user is None:
            if not getattr(settings, "CATALOG_CREATE_USERS", True):
                continue
            email = ((row["data"].get("spec") or {}).get("profile") or {}).get("email") or ""
            user = User(username=username, email=email if isinstance(email, str) and "@" in email else "")
            user.set_unusable_password()
            user.save()
            by_name[username] = user
        if linked_users.get(user.pk) not in (None, ref):
            problems.append(MembershipProblem(ref, row["location_id"], row["source_path"], row["line"],
                f"{ref}: portal user {username!r} is already {linked_users[user.pk]}"))
            continue
        CatalogIdentity.objects.update_or_create(ref=ref, defaults={"user": user})
        linked_users[user.pk] = ref
        users[ref] = user
    return users


def _sync_memberships(actor) -> list[MembershipProblem]:
    """Make team memberships follow the Groups and Users of the organisation's directory locations.

    The wanted pairs come from Groups (``spec.members``) and Users (``spec.memberOf``) stored from
    locations a platform admin marked as the directory; nothing else counts. Users map onto portal
    users by full ref (``_directory_users``), never by name alone. Missing memberships are added
    as plain members and remembered in ``CatalogMembership`` with the location, commit and entity
    that caused them (the audit row says the same). A remembered membership the directory no
    longer lists is removed, unless someone has since made it an admin membership. Memberships
    made in the portal are never touched. Returns what could not be mapped.
    """
    problems: list[MembershipProblem] = []
    # Orphans stay in the catalog, flagged, but grant nothing: the directory no longer lists them.
    org = list(Entity.objects.filter(kind__in=("Group", "User"), location__is_directory=True, orphaned__isnull=True).values(
        "ref", "kind", "namespace", "team_id", "location_id", "commit", "source_path", "line", data=F("document__data")))
    users = _directory_users(org, problems)
    group_team = {row["ref"]: row["team_id"] for row in org if row["kind"] == "Group" and row["team_id"]}
    # Members named by a Group with no User entity of their own count only when already linked to a portal user.
    member_refs = {_ref_or_blank(member, "User", row["namespace"]) for row in org
                   if row["kind"] == "Group" and row["ref"] in group_team for member in (row["data"].get("spec") or {}).get("members") or []}
    for identity in CatalogIdentity.objects.filter(ref__in=member_refs - set(users)).select_related("user"):
        users[identity.ref] = identity.user
    wanted: dict[tuple[int, object], dict] = {}
    for row in org:
        spec = row["data"].get("spec") or {}
        cause = {"location": row["location_id"], "commit": row["commit"], "entity": row["ref"]}
        if row["kind"] == "Group" and row["ref"] in group_team:
            for member in spec.get("members") or []:
                user = users.get(_ref_or_blank(member, "User", row["namespace"]))
                if user is not None:
                    wanted.setdefault((group_team[row["ref"]], user), cause)
        elif row["kind"] == "User" and row["ref"] in users:
            for group in spec.get("memberOf") or []:
                team_id = group_team.get(_ref_or_blank(group, "Group", row["namespace"]))
                if team_id:
                    wanted.setdefault((team_id, users[row["ref"]]), cause)
    wanted_ids = {(team_id, user.pk): cause for (team_id, user), cause in wanted.items()}
    remembered = {(m.team_id, m.user_id): m for m in CatalogMembership.objects.select_related("user", "team")}
    existing = set(TeamMembership.objects.filter(team_id__in={t for t, _ in wanted_ids}).values_list("team_id", "user_id"))
    teams = Team.objects.in_bulk({t for t, _ in wanted_ids})
    for (team_id, user), cause in sorted(wanted.items(), key=lambda item: (item[0][0], item[0][1].pk)):
        if (team_id, user.pk) in existing:
            continue
        team_membership_set(actor=actor, team=teams[team_id], user=user, role=MembershipRole.MEMBER, cause=cause)
        CatalogMembership.objects.update_or_create(team_id=team_id, user=user, defaults={
            "location_id": cause["location"], "commit": cause["commit"], "entity_ref": cause["entity"]})
    for key, record in remembered.items():
        if key in wanted_ids:
            continue
        membership = TeamMembership.objects.filter(team_id=record.team_id, user_id=record.user_id).first()
        if membership is not None and membership.role == MembershipRole.MEMBER:
            team_membership_remove(actor=actor, team=record.team, user=record.user, cause={
                "location": record.location_id, "commit": record.commit, "entity": record.entity_ref,
                "reason": "no longer listed by the organisation's directory"})
        record.delete()
    return problems


@transaction.atomic
def catalog_identity_link(*, actor, user, ref: str) -> CatalogIdentity:
    """Say that portal ``user`` is the catalog User entity ``ref`` (platform admins only), then resync memberships."""
    if not _is_platform_admin(actor):
        raise PermissionDenied("Only platform admins may link portal users to catalog users.")
    try:
        key = parse_ref(ref, default_kind="User").key
    except ValueError as exc:
        raise ValidationError({"ref": [str(exc)]}) from None
    if not key.startswith("user:"):
        raise ValidationError({"ref": [f"{ref!r} is not a User entity ref (user:namespace/name)."]})
    if CatalogIdentity.objects.filter(ref=key).exclude(user=user).exists():
        raise ValidationError({"ref": [f"{key} is already linked to another portal user."]})
    identity, _ = CatalogIdentity.objects.update_or_create(user=user, defaults={"ref": key})
    audit_record(actor=actor, action="catalog.identity_link", obj=identity, changes={"user": user.username, "ref": key})
    _sync_memberships(actor)
    return identity


@transaction.atomic
def catalog_identity_unlink(*, actor, identity: CatalogIdentity) -> None:
    """Forget which catalog user a portal user is (platform admins only); the memberships it gave go."""
    if not _is_platform_admin(actor):
        raise PermissionDenied("Only platform admins may unlink catalog users.")
    audit_record(actor=actor, action="catalog.identity_unlink", obj=identity,
                 changes={"user": identity.user.username, "ref": identity.ref})
    identity.delete()
    _sync_memberships(actor)


@transaction.atomic
def entity_settings_update(*, actor, obj: Entity, visibility: str) -> Entity:
    """Change an entity's portal-side settings (its catalog fields come only from its location).

    The choice is remembered on the location by ref, so it outlives the entity row (an entity
    evicted and supplied again comes back as its team left it). A private location's entities
    stay private.
    """
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": [f"Unknown visibility {visibility!r}."]})
    location = Location.objects.select_for_update().get(pk=obj.location_id)
    if location.visibility == Visibility.PRIVATE and visibility != Visibility.PRIVATE:
        raise ValidationError({"visibility": ["Its location is private: its entities are private to the location's team."]})
    changes = {"visibility": visibility} if obj.visibility != visibility else {}
    obj.visibility = visibility
    obj.save(update_fields=["visibility", "updated"])  # drops the counts kept for readers (catalog.apps)
    chosen = dict(location.entity_visibility or {})
    if visibility == Visibility.PUBLIC:
        chosen.pop(obj.ref, None)
    else:
        chosen[obj.ref] = visibility
    Location.objects.filter(pk=location.pk).update(entity_visibility=chosen)
    audit_record(actor=actor, action="catalog.entity_update", obj=obj, team=obj.owner_team, changes=changes)
    return obj


@transaction.atomic
def entity_delete(*, actor, obj: Entity) -> None:
    """Remove one entity until its location supplies it again (Backstage's ``DELETE /entities/by-uid``): the row,
    its relations and permissions go, and the file that supplied it is read again at the next refresh (its
    fingerprint is dropped), which brings it back while the file still holds it.

    Who may change the entity's location may do it. A Group or User of the organisation's directory is refused: it
    holds team memberships, which change through the directory only."""
    location = Location.objects.select_for_update().get(pk=obj.location_id)
    if not Location.objects.permits(actor, "change", location):
        raise PermissionDenied("You may not delete entities of this location")
    if location.is_directory and obj.kind in ("Group", "User"):
        raise PermissionDenied(f"{obj.ref} comes from the organisation's directory, which holds team memberships: "
                               "change it there")
    fingerprints = dict(location.fingerprints or {})
    fingerprints.pop(obj.source_path, None)
    # ``updated`` tells a refresh running now that a fingerprint went (``_keep_dropped_fingerprints``)
    Location.objects.filter(pk=location.pk).update(fingerprints=fingerprints, updated=timezone.now())
    audit_record(actor=actor, action="catalog.entity_delete", obj=obj, team=obj.owner_team,
                 changes={"ref": obj.ref, "location": location.pk})
    Entity.objects.filter(pk=obj.pk).delete()  # relations and permissions cascade
    readcache.changed()


def entity_validate(*, document) -> list[FieldError]:
    """Validate a raw entity document exactly as ingestion does (placeholders cannot be read here)."""
    try:
        process_document(document, reader=None, path="<request>")
    except EntityInvalid as exc:
        return [exc.error]
    return []
