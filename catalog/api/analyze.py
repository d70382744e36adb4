"""Backstage's ``POST /analyze-location`` (``@backstage/catalog-client``'s ``analyzeLocation``), under ``/api/catalog/``.

It is a dry run of registering the location, so it is checked as ``POST /locations?dryRun=true`` is (the same
team, the same URL policy, the same service): then it says which entities the location's files hold, and whether
a location the caller may see already supplies them, or, when there is no catalog file, what one could say.
"""
from __future__ import annotations

import re

from rest_framework.response import Response

from catalog import selectors
from catalog.api.backstage import BackstageError, BackstageView, location_preview, location_team, parse_target
from catalog.choices import ErrorCode, LocationType
from catalog.models import Location
from catalog.processing import ProcessingError

MAX_NAME = 63  # Backstage's bound on metadata.name


class AnalyzeLocationView(BackstageView):
    """``{"location": {type, target}, "catalogFilename"?, "team"?}`` -> ``{existingEntityFiles, generateEntities}``."""

    def post(self, request):
        location_type, target, catalog_filename = _checked_body(request.data)
        if not Location.creatable_by(request.user):
            raise BackstageError(403, "NotAllowedError", "You may not register a location: you edit for no team")
        fields = parse_target(location_type, target)
        # parse_target keeps the target whole only when it names no file; then the catalog file is the one asked for.
        if catalog_filename is not None and fields["target"] == target:
            fields["path"] = catalog_filename
        team = location_team(request)
        preview = location_preview(request, fields, team)
        if preview.entities:
            return Response({"existingEntityFiles": _existing_entity_files(request.user, preview),
                             "generateEntities": []})
        # No entity: because no file is there (then suggest one), or because the files there are invalid or
        # unreadable (then say so, as the dry run does).
        faults = [error for error in preview.errors if not _is_missing_file(error)]
        if faults:
            raise BackstageError(400, "InputError", "; ".join(str(e) for e in faults[:5]))
        return Response({"existingEntityFiles": [], "generateEntities": [_generated_component(preview.location, team)]})


def _checked_body(body: dict) -> tuple[str, str, str | None]:
    """``location.type``, ``location.target`` and ``catalogFilename``, each checked where it enters (400 naming it)."""
    location = body.get("location")
    if not isinstance(location, dict):
        raise BackstageError(400, "InputError", "location must be an object {type, target}")
    location_type = location.get("type") or "url"  # as POST /locations
    if location_type not in ("url", "file"):
        raise BackstageError(400, "InputError", "location.type must be \"url\" or \"file\"")
    target = location.get("target")
    if not isinstance(target, str) or not target.strip():
        raise BackstageError(400, "InputError", "location.target must be a non-empty string")
    catalog_filename = body.get("catalogFilename")
    if catalog_filename is not None and (not isinstance(catalog_filename, str) or not catalog_filename.strip()):
        raise BackstageError(400, "InputError", "catalogFilename must be a non-empty string")
    if body.get("team") is not None and not isinstance(body["team"], str):
        raise BackstageError(400, "InputError", "team must be a team's slug")
    return location_type, target, catalog_filename


def _is_missing_file(error: ProcessingError) -> bool:
    """An error that says a pattern of the location matched no file (``process_tree``): nothing was read, nothing
    was wrong. Files too large, unreadable or invalid, and refused patterns, are other errors."""
    return (error.code == ErrorCode.UNREADABLE and error.doc_index is None
            and error.message == f"no file matches {error.path!r} in this location")


def _file_location(probe: Location, path: str) -> dict:
    """The file an entity came from, as Backstage names it: a blob URL in the repository, or a path on disk."""
    if probe.type == LocationType.PATH:
        return {"type": "file", "target": f"{probe.target.rstrip('/')}/{path}"}
    return {"type": "url", "target": f"{probe.target.rstrip('/')}/blob/{probe.branch or 'HEAD'}/{path}"}


def _existing_entity_files(user, preview) -> list[dict]:
    """Each entity found, with its file and whether a location ``user`` may see supplies it: the location analysed,
    or one registered for that very file. A location hidden from ``user`` counts as missing."""
    probe = preview.location
    registered = set(selectors.location_list(user=user)
                     .filter(type=probe.type, target=probe.target, branch=probe.branch,
                             path__in={probe.path, *(entity.path for entity in preview.entities)})
                     .values_list("path", flat=True))
    return [{"location": _file_location(probe, entity.path),
             "isRegistered": probe.path in registered or entity.path in registered,
             "entity": entity.data}
            for entity in preview.entities]


def repository_name(target: str) -> str:
    """A Component name from a repository or directory: its last path segment, lower-cased, without ``.git``,
    other characters than Backstage allows made ``-``, at most 63, starting and ending with a letter or digit
    ('' when nothing is left)."""
    segment = target.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]  # scp-like git@host:repo.git too
    name = re.sub(r"[^a-z0-9\-_.]", "-", segment.lower().removesuffix(".git")).strip("-_.")
    return name[:MAX_NAME].rstrip("-_.")


def _generated_component(probe: Location, team) -> dict:
    """The Component Backstage's analyser proposes for a repository without a catalog file, with how each field
    left to decide was chosen."""
    name = repository_name(probe.target)
    fields = []
    if not name:
        fields.append({"field": "metadata.name", "state": "needsUserInput", "value": None,
                       "description": "The location's name gives no usable entity name; choose one."})
    if team is not None:
        fields.append({"field": "spec.owner", "state": "analysisSuggestedValue", "value": f"group:default/{team.slug}",
                       "description": f"The team {team.slug} would own this location, so it is suggested as the owner."})
    else:
        fields.append({"field": "spec.owner", "state": "needsUserInput", "value": None,
                       "description": "No team was chosen for this location; say which group owns the component."})
    return {"entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                       "metadata": {"name": name} if name else {},
                       "spec": {"type": "other", "lifecycle": "unknown"}},
            "fields": fields}
