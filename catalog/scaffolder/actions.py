"""The actions a template's steps may name: each with its input and output JSON Schemas and whether a dry run may
take it. A step naming another action, or giving an input its schema refuses, is reported before anything runs."""
from __future__ import annotations

from dataclasses import dataclass, field

_TEXT = {"type": "string"}


def _object(properties: dict, required=(), **extra) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), **extra}


@dataclass(frozen=True)
class Action:
    id: str
    description: str
    input: dict
    output: dict = field(default_factory=lambda: _object({}))
    supports_dry_run: bool = False
    examples: tuple = ()

    def as_backstage(self) -> dict:
        """As ``GET /v2/actions`` lists it."""
        return {"id": self.id, "description": self.description,
                "examples": [{"description": d, "example": e} for d, e in self.examples],
                "schema": {"input": self.input, "output": self.output}}


ACTIONS: dict[str, Action] = {a.id: a for a in (
    Action(
        "fetch:template",
        "Copies a skeleton directory (relative to the template's location) into the workspace, rendering each file's "
        "${{ values.x }} expressions, its name too.",
        _object({
            "url": {**_TEXT, "title": "Skeleton", "description": "Folder of the skeleton, relative to the template."},
            "targetPath": {**_TEXT, "description": "Where in the workspace, relative to it (default: its root)."},
            "values": {"type": "object", "description": "What ${{ values.x }} reads."},
            "copyWithoutTemplating": {"type": "array", "items": _TEXT, "description": "Globs copied as they are."},
            "copyWithoutRender": {"type": "array", "items": _TEXT, "description": "Former name of copyWithoutTemplating."},
            "templateFileExtension": {"type": ["boolean", "string"],
                                      "description": "Render only files with this extension (.njk when true), dropping it."},
            "replace": {"type": "boolean", "description": "Replace files already in the workspace."},
        }, ["url"], additionalProperties=False),
        supports_dry_run=True,
        examples=(("Fetch the skeleton with the component's name", "url: ./skeleton\nvalues:\n  name: ${{ parameters.name }}"),),
    ),
    Action(
        "fetch:plain",
        "Copies a directory (relative to the template's location) into the workspace as it is.",
        _object({"url": {**_TEXT, "description": "Folder, relative to the template."},
                 "targetPath": {**_TEXT, "description": "Where in the workspace, relative to it."}},
                ["url"], additionalProperties=False),
        supports_dry_run=True,
    ),
    Action(
        "publish:git",
        "Creates a new git repository (a bare repository on Wayline's server by default, or on the configured git "
        "server) and pushes the workspace to it.",
        _object({
            "repoUrl": {**_TEXT, "description": "host?owner=...&repo=..., as the RepoUrlPicker writes it."},
            "defaultBranch": {**_TEXT, "default": "main"},
            "description": _TEXT,
            "gitCommitMessage": {**_TEXT, "default": "initial commit"},
            "sourcePath": {**_TEXT, "description": "The workspace folder to publish (default: its root)."},
        }, ["repoUrl"], additionalProperties=False),
        _object({"remoteUrl": _TEXT, "repoContentsUrl": _TEXT, "commitHash": _TEXT}),
    ),
    Action(
        "catalog:register",
        "Registers a catalog file (by URL, or a repository's contents URL and the file's path) as a location of the "
        "run's team.",
        {"oneOf": [
            _object({"catalogInfoUrl": _TEXT, "optional": {"type": "boolean"}}, ["catalogInfoUrl"], additionalProperties=False),
            _object({"repoContentsUrl": _TEXT, "catalogInfoPath": {**_TEXT, "default": "/catalog-info.yaml"},
                     "optional": {"type": "boolean"}}, ["repoContentsUrl"], additionalProperties=False),
        ]},
        _object({"entityRef": _TEXT, "catalogInfoUrl": _TEXT}),
    ),
    Action(
        "catalog:write",
        "Writes a catalog entity as YAML into the workspace.",
        _object({"filePath": {**_TEXT, "default": "catalog-info.yaml"}, "entity": {"type": "object"}},
                ["entity"], additionalProperties=False),
        supports_dry_run=True,
    ),
    Action(
        "wayline:app",
        "Creates the app in Wayline, owned by the run's team and tagged so that distribution rules place it; its "
        "manifests are proposed to the GitOps repository through the owning VANs' change sets, as the run's user.",
        _object({
            "name": {**_TEXT, "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
            "owner": {**_TEXT, "description": "The owning team (group:default/<team> or the team's slug)."},
            "namespace": {**_TEXT, "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
            "repoUrl": {**_TEXT, "description": "The app's manifests: a git repository URL."},
            "path": _TEXT,
            "image": _TEXT,
            "version": _TEXT,
            "tags": {"type": "array", "items": _TEXT},
            "componentRef": _TEXT,
        }, ["name", "namespace", "repoUrl"], additionalProperties=False),
        _object({"app": _TEXT, "changeSets": {"type": "array", "items": {"type": "integer"}}}),
        supports_dry_run=True,
    ),
    Action(
        "wayline:pipeline",
        "Sets up the golden CI pipeline (Argo Events + Workflows: test, build, scan, propose the version) of an app the "
        "run created, on the one VAN the user may change that runs the Argo add-on (or the VAN named); skipped when "
        "there is none. The webhook secret is shown on the pipeline's page, never kept by the run.",
        _object({
            "app": {**_TEXT, "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
            "van": _TEXT,
            "branch": _TEXT,
            "testImage": _TEXT,
            "testCommand": _TEXT,
        }, ["app"], additionalProperties=False),
        _object({"pipelineId": {"type": ["integer", "null"]}, "van": _TEXT, "pipelineUrl": _TEXT}),
        supports_dry_run=True,
    ),
    Action(
        "debug:log",
        "Writes a message to the run's log (and, asked to, what the workspace holds).",
        _object({"message": _TEXT, "listWorkspace": {"enum": [True, False, "with-filenames", "with-contents"]}},
                additionalProperties=False),
        supports_dry_run=True,
    ),
)}


def action_get(action_id: str) -> Action | None:
    return ACTIONS.get(action_id)
