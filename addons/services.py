"""Writes of the add-ons app: a VAN's add-ons, its Grafana settings and dashboard pins. Callers check permissions first (the
views through ``get_permitted_object_or_404``); these validate what comes from outside and record an audit row."""
from __future__ import annotations

import json
import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from addons import grafana
from addons.models import AddonInstallation, CustomAddon, DashboardPin, InfraClaim, SealedSecretRecord
from addons.registry import DefinitionError, addon_get, builtins, definition_parse, definitions, missing_needs
from addons.rendering import (
    ARGOCD_FOLDER, addon_render, claim_workspace, claims_applicationset, grafana_datasources, k8sgpt_objects, local_applicationset,
    per_cluster_folders_applicationset, placed_clusters, prometheus_routing_key,
    prometheus_van_objects, sealed_secrets_applicationset,
)
from van.rendering.render import RenderError, dump
from portal.services import audit_record
from portal.validators import grafana_url_validator

logger = logging.getLogger(__name__)


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


# --- add-ons of a VAN: chosen, turned on and off, set; each one's files proposed through its own change sets ----------


def installation_environment(*, installation: AddonInstallation, paths=(), hints=()) -> str:
    """The environment whose policy governs a change to the add-on's files: the most protected one among the
    clusters it is placed on (so an add-on on a Prod cluster waits for approval), except that what it keeps for
    one cluster (``secrets/``, ``analysers/`` or ``van/<cluster>/``) is that cluster's alone; the most protected of
    all when the VAN cannot be placed (no hub) or the definition is gone."""
    from portal.gitops.environments import SLUGS
    from van.selectors import van_spec
    from van.services import _most_protected

    definition = installation.definition
    try:
        spec = van_spec(van=installation.van, apps=[], rules=[])  # add-ons are placed by cluster labels only
    except ValueError:
        return SLUGS[-1]
    if definition is None:
        return SLUGS[-1]
    env_of = {c.name: c.environment for c in spec.clusters}
    placed = {c.environment for c in placed_clusters(spec, definition)}
    root = installation.gitops_root()
    # Folders of one cluster's objects: a sealed Secret, a K8sGPT analyser (on the hub, reading that cluster), a
    # Prometheus Connector; the hub's Listener for an edge's Prometheus is that edge's, like its kube-api Listener.
    listeners = {f"{prometheus_routing_key(spec.name, e.name)}.yaml": e.name for e in spec.edges}
    touched = set(hints)
    for path in paths or ("",):
        rest = path[len(root):].split("/") if path.startswith(root) else []
        if len(rest) == 3 and rest[0] in ("secrets", "analysers", "van"):
            cluster = listeners.get(rest[2], rest[1]) if rest[0] == "van" and rest[1] == spec.hub.name else rest[1]
            # a cluster gone from the VAN: the environments the edit says it left (as the VAN's own files), else Prod
            touched.update([env_of[cluster]] if cluster in env_of else (set(hints) or {SLUGS[-1]}))
        else:
            touched |= placed
    return _most_protected(touched or {spec.hub.environment})


def installation_render_files(*, installation: AddonInstallation, spec=None) -> dict[str, str]:
    """Exactly the files the add-on has in git when its change sets land (none while it is off)."""
    from portal.gitops.services import with_generated_header
    from van.selectors import van_spec

    definition = installation.definition
    if not installation.enabled:
        return {}
    if definition is None:  # a tool whose stored definition this Wayline refuses: leave its files alone, say so
        raise ValidationError({"slug": f"add-on {installation.slug}: its definition is gone or no longer valid; "
                                       "its files are left as they are"})
    spec = spec or van_spec(van=installation.van, apps=[], rules=[])
    settings, errors = definition.settings_clean(installation.settings)
    if errors:  # stored settings a newer definition no longer accepts: say which, commit nothing
        raise ValidationError({name: f"{definition.name}: {message}" for name, message in errors.items()})
    root = installation.gitops_root()
    extra = {}
    if installation.slug == "grafana" and (prometheus := addon_get("prometheus")) is not None:
        # one data source per cluster running Prometheus: the hub's in-cluster, each edge's through the VAN
        extra = {source.name: {"datasources": grafana_datasources(spec, prometheus)} for source in definition.sources}
    files = addon_render(spec, definition, settings, extra)
    if installation.slug == "prometheus":  # each edge's Prometheus offered to the hub over the VAN
        files[f"{root}{ARGOCD_FOLDER}/van.yaml"] = dump(per_cluster_folders_applicationset(
            spec, slug="prometheus", part="van", folder=f"{root}van", namespace=spec.skupper_namespace))
        files.update({root + name: dump(obj) for name, obj in prometheus_van_objects(spec, definition).items()})
    if installation.slug == "grafana":  # the starter dashboards, for the chart's dashboard sidecar on the hub
        from addons.dashboards import dashboard_configmaps

        files[f"{root}{ARGOCD_FOLDER}/dashboards.yaml"] = dump(local_applicationset(spec, definition, "dashboards", f"{root}dashboards"))
        files.update({root + name: dump(obj) for name, obj in dashboard_configmaps(namespace=definition.namespace).items()})
    if installation.slug == "k8sgpt":  # one analyser per cluster, on the hub, reading it through the VAN
        from van.services import sealer_for_render

        sealer, persist = sealer_for_render()
        try:
            analysers = k8sgpt_objects(spec, settings, sealer=sealer)
        except RenderError as exc:
            raise ValidationError({"slug": f"add-on k8sgpt: {exc}"}) from None
        persist()
        files[f"{root}{ARGOCD_FOLDER}/analysers.yaml"] = dump(local_applicationset(spec, definition, "analysers", f"{root}analysers"))
        files.update({root + name: dump(obj) for name, obj in analysers.items()})
    if installation.slug == "argo-workflows":  # what syncs each app's CI pipeline (in a namespace of its own) to the hub
        from addons.pipelines import pipelines_applicationset

        files[f"{root}{ARGOCD_FOLDER}/pipelines.yaml"] = dump(pipelines_applicationset(spec))
    if installation.slug == "crossplane":  # the VAN's infrastructure claims, applied on the hub
        files[f"{root}{ARGOCD_FOLDER}/claims.yaml"] = dump(claims_applicationset(spec))
    if installation.slug == "sealed-secrets":
        # What syncs each cluster's sealed Secrets to it (always: a git directory generator with no folder yet
        # makes nothing, so sealing the first Secret touches that cluster alone), and the Secrets.
        files[f"{root}{ARGOCD_FOLDER}/secrets.yaml"] = dump(sealed_secrets_applicationset(spec, root))
        for record in installation.sealed_secrets.order_by("pk"):
            record.installation = installation
            files[record.path] = record.manifest
    return {path: with_generated_header(path, text) for path, text in files.items()}


def installation_publish(*, actor, installation: AddonInstallation, message: str, spec=None, environments=()):
    """Propose what the add-on's root must become (its files, or none when off); None when git already holds it.
    The installation owns the change: bounded to ``addons/<van>/<slug>/``, approved as its clusters' environments."""
    from portal.gitops.services import files_to_change, gitops_default_repo, propose_change

    files = installation_render_files(installation=installation, spec=spec)
    repo = installation.van.repo or gitops_default_repo()
    to_write, to_delete = files_to_change(repo=repo, root=installation.gitops_root(), files=files)
    if not to_write and not to_delete:
        return None
    return propose_change(actor=actor, owner=installation, files_to_write=to_write, files_to_delete=to_delete,
                          message=f"{installation.gitops_label()}: {message}", environment_hints=environments)


def addons_publish(*, actor, van, message: str, spec=None, environments=()) -> list:
    """Publish every add-on of ``van`` (called with the VAN's own publish); the change sets proposed."""
    from van.selectors import van_spec

    out = []
    installations = list(AddonInstallation.objects.filter(van=van).select_related("van", "van__repo"))
    if spec is None and any(i.enabled for i in installations):
        spec = van_spec(van=van, apps=[], rules=[])  # add-ons are placed by cluster labels only: once for all
    for installation in installations:
        try:
            cs = installation_publish(actor=actor, installation=installation, message=message, spec=spec,
                                      environments=environments)
        except ValidationError as exc:
            # One add-on that cannot render (settings a newer definition refuses, a tool's broken definition) is
            # left as git has it and shown on the VAN's add-ons page; it never blocks the VAN or the other add-ons.
            logger.warning("add-on %s of VAN %s not published: %s", installation.slug, van.name, "; ".join(exc.messages))
            continue
        if cs:
            out.append(cs)
    return out


def _choice_errors(chosen: set[str], known=None) -> str:
    known = definitions() if known is None else known
    missing = missing_needs(chosen, known)
    names = {slug: d.name for slug, d in known.items()}
    return "; ".join(f"{names[slug]} needs {', '.join(names[n] for n in needs)}" for slug, needs in missing.items())


def addons_check(chosen=None) -> set[str]:
    """The add-ons a new VAN turns on (``chosen``, else the golden path), or ``ValidationError`` on ``addons``:
    checked before anything of the VAN is written."""
    known = definitions()
    chosen = {slug for slug, d in builtins().items() if d.default_enabled} if chosen is None else set(chosen)
    unknown = sorted(chosen - set(known))
    if unknown:
        raise ValidationError({"addons": f"add-ons: no add-on {', '.join(unknown)}"})
    if problem := _choice_errors(chosen, known):
        raise ValidationError({"addons": f"add-ons: {problem}: choose both or neither"})
    return chosen


@transaction.atomic
def addons_choose(*, actor, van, chosen=None) -> list[AddonInstallation]:
    """A new VAN's add-ons: every built-in gets a row, on when it is on by default (the golden path) or, when
    ``chosen`` is given, when it is chosen (a tool ops added, too). Publishing is the VAN's (``van_create``)."""
    known = definitions()
    chosen = addons_check(chosen)
    # every built-in gets a row (on or off); a tool ops added only when chosen
    rows = [AddonInstallation(van=van, slug=slug, enabled=slug in chosen, settings=d.settings_defaults())
            for slug, d in known.items() if slug in builtins() or slug in chosen]
    AddonInstallation.objects.bulk_create(rows)
    audit_record(actor=actor, action="addons.choose", obj=van, changes={"enabled": sorted(chosen)})
    return rows


def _republish(*, actor, installation: AddonInstallation, message: str) -> None:
    from van.services import _publish_unless_blocked

    _publish_unless_blocked(actor=actor, van=installation.van, message=message)  # the VAN, then its add-ons


def _lock(van) -> None:
    """Serialise turning a VAN's add-ons on and off (each checks what the others need) on the VAN's row."""
    type(van).objects.select_for_update().filter(pk=van.pk).first()


@transaction.atomic
def addon_enable(*, actor, installation: AddonInstallation) -> AddonInstallation:
    """Turn an add-on on for its VAN (its needs must be on already); its files are proposed."""
    definition = installation.definition
    if definition is None:
        raise ValidationError({"enabled": f"add-on {installation.slug!r} is no longer defined"})
    _lock(installation.van)
    on = set(AddonInstallation.objects.filter(van=installation.van, enabled=True).values_list("slug", flat=True))
    if problem := _choice_errors(on | {installation.slug}):
        raise ValidationError({"enabled": f"{problem}: turn that on first"})
    if not installation.enabled:
        installation.enabled = True
        installation.save(update_fields=["enabled", "updated"])
        audit_record(actor=actor, action="addons.enable", obj=installation, team=installation.owner_team,
                     changes={"van": installation.van.name, "addon": installation.slug})
        _republish(actor=actor, installation=installation, message="turn on")
    return installation


@transaction.atomic
def addon_disable(*, actor, installation: AddonInstallation) -> AddonInstallation:
    """Turn an add-on off: one change set removes exactly its files. Refused while an add-on that needs it is on."""
    _lock(installation.van)
    on = set(AddonInstallation.objects.filter(van=installation.van, enabled=True).values_list("slug", flat=True))
    needing = sorted(slug for slug in on - {installation.slug} if installation.slug in getattr(addon_get(slug), "needs", ()))
    if needing:
        names = ", ".join(addon_get(slug).name for slug in needing)
        raise ValidationError({"enabled": f"{names} needs {installation.definition.name}: turn that off first"})
    if installation.slug in ("argo-workflows", "sealed-secrets"):
        from addons.models import CiPipeline

        # a pipeline left behind would keep running (and its token working) with nothing to show or stop it: a count,
        # not names (the apps may be other teams' private ones)
        running = CiPipeline.objects.filter(van=installation.van).count()
        if running:
            raise ValidationError({"enabled": f"{running} CI pipeline{'s' if running > 1 else ''} of apps run on this hub "
                                              "and need it: their apps' teams must delete them first"})
    if installation.enabled:
        installation.enabled = False
        installation.save(update_fields=["enabled", "updated"])
        audit_record(actor=actor, action="addons.disable", obj=installation, team=installation.owner_team,
                     changes={"van": installation.van.name, "addon": installation.slug})
        _republish(actor=actor, installation=installation, message="turn off")
    return installation


@transaction.atomic
def addon_settings_set(*, actor, installation: AddonInstallation, settings: dict) -> AddonInstallation:
    """Validate ``settings`` against the definition's schema (errors per field) and propose the new values."""
    definition = installation.definition
    if definition is None:
        raise ValidationError({"settings": f"add-on {installation.slug!r} is no longer defined"})
    if not isinstance(settings, dict):
        raise ValidationError({"settings": "settings: an object of setting -> value"})
    cleaned, errors = definition.settings_clean(settings)
    if errors:
        raise ValidationError(errors)
    changed = {k for k in set(cleaned) | set(installation.settings) if installation.settings.get(k) != cleaned.get(k)}
    installation.settings = cleaned
    installation.save(update_fields=["settings", "updated"])
    audit_record(actor=actor, action="addons.settings", obj=installation, team=installation.owner_team,
                 changes={"van": installation.van.name, "addon": installation.slug, "changed": sorted(changed)})
    if installation.enabled and changed:
        _republish(actor=actor, installation=installation, message=f"settings ({', '.join(sorted(changed))})")
    return installation


@transaction.atomic
def addon_add(*, actor, van, slug: str) -> AddonInstallation:
    """Turn on, for ``van``, an add-on it has no row for yet (a tool ops added after the VAN was created)."""
    definition = addon_get(slug)
    if definition is None:
        raise ValidationError({"slug": f"add-on: no add-on {slug!r}"})
    installation, _ = AddonInstallation.objects.get_or_create(
        van=van, slug=slug, defaults={"enabled": False, "settings": definition.settings_defaults()})
    return addon_enable(actor=actor, installation=installation)


# --- tools from outside the golden path, added by ops ----------------------------------------------------------------

# where a definition's field lands on the form that adds a tool
_FORM_FIELDS = (("sources[0].helm.repoURL", "repo_url"), ("sources[0].git.repoURL", "repo_url"),
                ("sources[0].helm.chart", "chart"), ("sources[0].helm.version", "version"),
                ("sources[0].git.revision", "version"), ("sources[0].git.path", "path"), ("sources[0].values", "values"),
                ("sources", "source_kind"), ("slug", "slug"), ("name", "name"), ("summary", "summary"),
                ("upstream", "upstream"), ("placement", "placement"), ("tags", "tags"), ("namespace", "namespace"),
                ("needs", "needs"), ("(top level)", "__all__"))


@transaction.atomic
def custom_addon_create(*, actor, slug: str, name: str, summary: str, upstream: str, namespace: str, source_kind: str,
                        repo_url: str, version: str, chart: str = "", path: str = "", placement: str = "tagged",
                        tags=(), needs=(), values=None) -> CustomAddon:
    """Add a tool from its Helm chart or git repository (pinned), placed on the clusters with ``tags``. The
    definition is checked like a built-in's; each error names its field."""
    from van.services import tags_parse

    slug = (slug or "").strip()
    if slug in builtins() or CustomAddon.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"slug: an add-on {slug!r} exists already"})
    if isinstance(tags, str):
        tags = tags_parse(tags, field="tags")
    source: dict = {"name": slug or "source"}
    if source_kind == "helm":
        source["helm"] = {"repoURL": repo_url, "chart": chart, "version": version}
    elif source_kind == "git":
        source["git"] = {"repoURL": repo_url, "path": path, "revision": version}
    else:
        raise ValidationError({"source_kind": "source: helm (a chart repository) or git (a repository path)"})
    if values:
        source["values"] = values
    data = {"slug": slug, "name": name, "summary": summary, "upstream": upstream, "placement": placement,
            "tags": list(tags), "namespace": namespace, "needs": list(needs), "sources": [source], "default_enabled": False}
    if placement != "tagged":
        data.pop("tags")
    try:
        definition_parse(data, "the new add-on")
        check_known = definitions()
        missing = [need for need in needs if need not in check_known]
        if missing:
            raise ValidationError({"needs": f"needs: no add-on {', '.join(missing)}"})
    except DefinitionError as exc:
        where = str(exc).removeprefix("the new add-on: ")
        field = next((form for prefix, form in _FORM_FIELDS if where.startswith(prefix)), "__all__")
        raise ValidationError({field: where}) from None
    custom = CustomAddon.objects.create(slug=slug, definition=data, added_by=actor if getattr(actor, "pk", None) else None)
    audit_record(actor=actor, action="addons.custom.create", obj=custom, changes={"slug": slug, "source": source_kind})
    return custom


# --- sealing a Secret for one cluster -----------------------------------------------------------------------------

SECRET_KEY_RE = r"^[-._a-zA-Z0-9]{1,253}$"
SECRET_MAX_BYTES = 512 * 1024


@transaction.atomic
def secret_seal(*, actor, installation: AddonInstallation, cluster: str, namespace: str, name: str, scope: str,
                data: dict[str, str]) -> SealedSecretRecord:
    """Seal ``data`` for ``cluster``'s Sealed Secrets controller (its certificate as the VAN stores it) and propose
    the SealedSecret through the add-on's change set. Only ciphertext and key names are kept; the values are in no
    row, file, log or audit entry. Sealing again under the same name replaces the Secret."""
    import re

    from portal.sealing import SCOPES, SealingError, Sealer, certificate_load
    from van.labels import dns_label_errors
    from van.models import Cluster

    if installation.slug != "sealed-secrets" or not installation.enabled:
        raise ValidationError({"cluster": "Sealed Secrets is off on this VAN: turn it on first"})
    target = Cluster.objects.filter(van=installation.van, name=cluster).first()
    if target is None:
        raise ValidationError({"cluster": f"cluster: no cluster {cluster!r} in VAN {installation.van.name}"})
    if not target.sealing_cert:
        raise ValidationError({"cluster": f"cluster: {cluster} has no sealing certificate (its controller's public "
                                          "certificate, kubeseal --fetch-cert): add it on the cluster's page"})
    errors = {}
    if problems := dns_label_errors(namespace or "", what="namespace"):
        errors["namespace"] = problems
    if not re.match(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", name or ""):
        errors["name"] = "name: lower-case letters, digits, '-' and '.', at most 253, starting and ending alphanumeric"
    if scope not in SCOPES:
        errors["scope"] = f"scope: one of {', '.join(SCOPES)}"
    if not isinstance(data, dict) or not data:
        errors["data"] = "data: at least one KEY=value"
    else:
        bad = [key for key in data if not re.match(SECRET_KEY_RE, str(key))]
        if bad:
            errors["data"] = f"data: {', '.join(map(repr, bad))}: a key is letters, digits, '-', '_' and '.'"
        elif sum(len(str(k)) + len(str(v).encode()) for k, v in data.items()) > SECRET_MAX_BYTES:
            errors["data"] = "data: more than 512 KiB"
    if errors:
        raise ValidationError(errors)
    try:
        sealed = Sealer().sealed_secret(certificate_load(target.sealing_cert), name=name, namespace=namespace,
                                        data={str(k): str(v) for k, v in data.items()}, scope=scope,
                                        labels={"app.kubernetes.io/managed-by": "wayline"})
    except SealingError as exc:
        raise ValidationError({"cluster": f"cluster: {exc}"}) from None
    record, _ = SealedSecretRecord.objects.update_or_create(
        installation=installation, cluster=cluster, namespace=namespace, name=name,
        defaults={"scope": scope, "keys": sorted(map(str, data)), "manifest": dump(sealed),
                  "sealed_by": actor if getattr(actor, "pk", None) else None})
    audit_record(actor=actor, action="addons.secret.seal", obj=record, team=installation.owner_team,
                 changes={"van": installation.van.name, "cluster": cluster, "namespace": namespace, "name": name,
                          "scope": scope, "keys": record.keys})
    _republish(actor=actor, installation=installation, message=f"seal {namespace}/{name} for {cluster}")
    return record


# --- upgrading a tool: a reviewed version change, its diff shown before it is proposed --------------------------------


def _tool_definition(custom: CustomAddon, *, version: str, values) -> dict:
    data = json.loads(json.dumps(custom.definition))
    source = data["sources"][0]
    kind = "helm" if "helm" in source else "git"
    source[kind]["version" if kind == "helm" else "revision"] = (version or "").strip()
    if values:
        source["values"] = values
    else:
        source.pop("values", None)
    return data


def _tool_check(data: dict) -> None:
    try:
        definition_parse(data, "the tool")
    except DefinitionError as exc:
        where = str(exc).removeprefix("the tool: ")
        field = "version" if ".version" in where or ".revision" in where else "values" if ".values" in where else "__all__"
        raise ValidationError({field: where}) from None


def custom_addon_upgrade_preview(*, user, custom: CustomAddon, version: str, values=None) -> list[dict]:
    """What upgrading ``custom`` would change, per VAN where it is on and ``user`` may see the VAN: the unified diff
    of each file (nothing is written). Refused like the upgrade itself (``ValidationError`` on the field)."""
    import difflib

    from portal.gitops.services import with_generated_header
    from van.selectors import van_spec

    data = _tool_definition(custom, version=version, values=values)
    _tool_check(data)
    new = definition_parse(data, "the tool")
    out = []
    installations = AddonInstallation.objects.restrict(user, "view").filter(slug=custom.slug, enabled=True).select_related("van")
    for installation in installations.order_by("van__name"):
        try:
            spec = van_spec(van=installation.van, apps=[], rules=[])
        except ValueError:
            continue
        try:
            old = installation_render_files(installation=installation, spec=spec)
        except ValidationError:
            old = {}
        settings = new.settings_clean(installation.settings)[0]
        after = {p: with_generated_header(p, t) for p, t in addon_render(spec, new, settings).items()}
        diff = []
        for path in sorted(set(old) | set(after)):
            if old.get(path) != after.get(path):
                diff += difflib.unified_diff((old.get(path) or "").splitlines(keepends=True),
                                             (after.get(path) or "").splitlines(keepends=True), f"a/{path}", f"b/{path}")
        out.append({"van": installation.van.name, "diff": "".join(diff)})
    return out


@transaction.atomic
def custom_addon_upgrade(*, actor, obj: CustomAddon, version: str, values=None) -> CustomAddon:
    """Pin ``obj`` to another version (and values): every VAN where it is on gets a change set of its own, through
    that add-on's approval (a Prod cluster waits)."""
    data = _tool_definition(obj, version=version, values=values)
    _tool_check(data)
    before = obj.definition["sources"][0]
    obj.definition = data
    obj.save(update_fields=["definition", "updated"])
    audit_record(actor=actor, action="addons.custom.upgrade", obj=obj,
                 changes={"slug": obj.slug, "from": (before.get("helm") or before.get("git") or {}), "to": version})
    for installation in AddonInstallation.objects.filter(slug=obj.slug, enabled=True).select_related("van", "van__repo"):
        _republish(actor=actor, installation=installation, message=f"upgrade {obj.slug} to {version}")
    return obj


# --- infrastructure claims ------------------------------------------------------------------------------------------


def _claim_clean(*, van, environment: str, node_count, node_size: str) -> str:
    """The Crossplane add-on's cluster module, once the claim's fields hold; field errors otherwise."""
    from portal.gitops.models import Environment

    errors = {}
    if not Environment.objects.filter(slug=environment).exists():
        errors["environment"] = f"environment: no environment {environment!r}"
    if not isinstance(node_count, int) or isinstance(node_count, bool) or not 1 <= node_count <= 100:
        errors["node_count"] = "node count: a whole number from 1 to 100"
    if node_size not in InfraClaim.NODE_SIZES:
        errors["node_size"] = f"node size: one of {', '.join(InfraClaim.NODE_SIZES)}"
    crossplane = AddonInstallation.objects.filter(van=van, slug="crossplane", enabled=True).first()
    module = (crossplane.settings.get("cluster_module") or "") if crossplane else ""
    if crossplane is None:
        errors["__all__"] = "Crossplane is off on this VAN: turn it on first (its add-ons page)"
    elif not module:
        errors["__all__"] = ("Crossplane has no cluster module yet: set the Terraform module claims apply in its "
                             "settings (its add-ons page)")
    if errors:
        raise ValidationError(errors)
    return module


def _claim_publish(*, actor, claim: InfraClaim, module: str, message: str):
    from portal.gitops.services import files_to_change, gitops_default_repo, propose_change, with_generated_header

    workspace = claim_workspace(van=claim.van.name, name=claim.name, environment=claim.environment,
                                node_count=claim.node_count, node_size=claim.node_size, module=module)
    path = f"{claim.gitops_root()}workspace.yaml"
    files = {path: with_generated_header(path, dump(workspace))}
    to_write, to_delete = files_to_change(repo=claim.van.repo or gitops_default_repo(), root=claim.gitops_root(), files=files)
    if to_write or to_delete:
        return propose_change(actor=actor, owner=claim, files_to_write=to_write, files_to_delete=to_delete,
                              message=f"{claim.gitops_label()}: {message}")
    return None


@transaction.atomic
def claim_create(*, actor, van, name: str, environment: str, node_count: int, node_size: str) -> InfraClaim:
    """Declare infrastructure for ``van`` (a cluster: node count and size); committed through a change set the
    claim owns, approved as its environment says."""
    from van.labels import dns_label_errors

    name = (name or "").strip()
    if problems := dns_label_errors(name, what="name"):
        raise ValidationError({"name": problems})
    if InfraClaim.objects.filter(van=van, name=name).exists():
        raise ValidationError({"name": f"name: VAN {van.name} has a claim {name!r} already"})
    from portal.gitops.services import gitops_default_repo, paths_to_remove

    if paths_to_remove(repo=van.repo or gitops_default_repo(), root=f"claims/{van.name}/{name}/"):
        # a deleted claim whose removal still waits for approval: reusing its name (and so its Workspace) would
        # change that infrastructure under a new claim's environment, without the old one's approval
        raise ValidationError({"name": f"name: a claim {name!r} of VAN {van.name} is still being removed from git; "
                                       "choose another name, or wait until its removal is approved"})
    module = _claim_clean(van=van, environment=environment, node_count=node_count, node_size=node_size)
    claim = InfraClaim.objects.create(van=van, name=name, environment=environment, node_count=node_count, node_size=node_size)
    audit_record(actor=actor, action="addons.claim.create", obj=claim, team=van.owner_team,
                 changes={"van": van.name, "name": name, "environment": environment, "node_count": node_count,
                          "node_size": node_size})
    _claim_publish(actor=actor, claim=claim, module=module, message="create")
    return claim


@transaction.atomic
def claim_update(*, actor, obj: InfraClaim, node_count: int, node_size: str) -> InfraClaim:
    """Change a claim's desired values (a Prod claim's change waits for approval)."""
    module = _claim_clean(van=obj.van, environment=obj.environment, node_count=node_count, node_size=node_size)
    changes = {k: [getattr(obj, k), v] for k, v in (("node_count", node_count), ("node_size", node_size)) if getattr(obj, k) != v}
    obj.node_count, obj.node_size = node_count, node_size
    obj.save(update_fields=["node_count", "node_size", "updated"])
    audit_record(actor=actor, action="addons.claim.update", obj=obj, team=obj.van.owner_team, changes=changes)
    text = ", ".join(f"{k.replace('_', ' ')} {a} -> {b}" for k, (a, b) in changes.items()) or "no change"
    _claim_publish(actor=actor, claim=obj, module=module, message=text)
    return obj


# --- the golden CI pipeline of an app ---------------------------------------------------------------------------------

TEST_IMAGE_RE = r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"


def _pipeline_clean(*, van, app, branch: str, test_image: str, test_command: str) -> dict:
    """Field errors for what a pipeline is set up with, or the Argo add-on's definition it renders with."""
    import re

    from django.conf import settings as django_settings

    from portal.validators import git_branch_validator
    from van.choices import ClusterRole

    errors = {}
    try:
        git_branch_validator(branch or "")
    except ValidationError as exc:
        errors["branch"] = f"branch: {' '.join(exc.messages)}"
    if not branch:
        errors["branch"] = "branch: the branch whose pushes run the pipeline"
    elif not re.fullmatch(r"[A-Za-z0-9._/-]{1,200}", branch):
        # it reaches a Sensor filter, an Argo template and kaniko's context: plain branch names only
        errors["branch"] = "branch: letters, digits, '.', '_', '/' and '-' only"
    if len(test_image or "") > 300 or not re.match(TEST_IMAGE_RE, test_image or ""):
        errors["test_image"] = "test image: an image reference such as python:3.12-slim"
    if not (test_command or "").strip() or len(test_command) > 500 or any(ord(c) < 32 for c in test_command):
        errors["test_command"] = "test command: one line of shell, at most 500 characters"
    if not app.image:
        errors["app"] = f"app: {app.name} has no image to build (set its image first)"
    elif not app.repo_url.startswith("https://"):
        errors["app"] = f"app: {app.name}'s repository is not an https:// git URL, which the build checks out"
    on = set(AddonInstallation.objects.filter(van=van, enabled=True).values_list("slug", flat=True))
    if "argo-workflows" not in on:
        errors["van"] = f"VAN {van.name}: Argo Events + Workflows is off; turn it on first (its add-ons page)"
    elif "sealed-secrets" not in on:
        errors["van"] = f"VAN {van.name}: Sealed Secrets is off; the pipeline's token is sealed for the hub"
    else:
        hub = van.clusters.filter(role=ClusterRole.HUB).first()
        if hub is None or not hub.sealing_cert:
            errors["van"] = (f"VAN {van.name}: its hub has no sealing certificate (kubeseal --fetch-cert), so the "
                             "pipeline's token cannot be sealed for it")
    if not getattr(django_settings, "WAYLINE_PUBLIC_URL", ""):
        errors["__all__"] = ("Wayline's address as the hubs reach it is not configured (WAYLINE_PUBLIC_URL): the "
                             "pipeline's last step could not call it")
    if errors:
        raise ValidationError(errors)
    return {"hub": hub}


def pipeline_files(*, pipeline) -> dict[str, str]:
    """Exactly the files of ``pipelines/<van>/<app>/``."""
    from django.conf import settings as django_settings

    from addons.pipelines import pipeline_objects
    from portal.gitops.services import with_generated_header

    app = pipeline.app
    root = pipeline.gitops_root()
    objects = pipeline_objects(van=pipeline.van.name, app=app.name, app_id=app.pk, repo_url=app.repo_url, branch=pipeline.branch, image=app.image,
                               test_image=pipeline.test_image, test_command=pipeline.test_command,
                               wayline_url=django_settings.WAYLINE_PUBLIC_URL)
    files = {root + name: dump(obj) for name, obj in objects.items()}
    files[root + "secrets.yaml"] = pipeline.secrets_manifest
    return {path: with_generated_header(path, text) for path, text in files.items()}


def _pipeline_publish(*, actor, pipeline, message: str, files=None):
    from portal.gitops.services import files_to_change, gitops_default_repo, propose_change

    files = pipeline_files(pipeline=pipeline) if files is None else files
    to_write, to_delete = files_to_change(repo=pipeline.van.repo or gitops_default_repo(), root=pipeline.gitops_root(),
                                          files=files)
    if to_write or to_delete:
        return propose_change(actor=actor, owner=pipeline, files_to_write=to_write, files_to_delete=to_delete,
                              message=f"{pipeline.gitops_label()}: {message}")
    return None


def _pipeline_secrets(*, actor, app, van, hub):
    """A new token for ``actor`` scoped to ``app``'s version bumps and a new webhook secret, both sealed for ``hub``:
    (the token's row, the SealedSecrets manifest, the webhook secret in clear, to be shown once)."""
    import secrets as stdlib_secrets

    from addons.pipelines import TOKEN_KEY, pipeline_name, token_secret_name, webhook_secret_name
    from portal.models import ApiToken
    from portal.models.tokens import hash_token
    from portal.sealing import STRICT, SealingError, Sealer, certificate_load

    key, webhook_secret = ApiToken.new_key(), stdlib_secrets.token_urlsafe(32)
    namespace = pipeline_name(app.name)  # the pipeline's own namespace: its secrets are for it alone
    try:
        certificate = certificate_load(hub.sealing_cert)
        sealer = Sealer()
        sealed = [sealer.sealed_secret(certificate, name=name, namespace=namespace, data={TOKEN_KEY: value}, scope=STRICT,
                                       labels={"app.kubernetes.io/managed-by": "wayline"})
                  for name, value in ((token_secret_name(app.name), key), (webhook_secret_name(app.name), webhook_secret))]
    except SealingError as exc:
        raise ValidationError({"van": f"VAN {van.name}: its hub's sealing certificate: {exc}"}) from None
    token = ApiToken.objects.create(user=actor, prefix=key[:8], key_hash=hash_token(key), label=f"CI pipeline of {app.name}",
                                    scope_model="van.app", scope_pk=app.pk, scope_actions=["version"])
    return token, "---\n".join(dump(obj) for obj in sealed), webhook_secret


@transaction.atomic
def pipeline_secrets_rotate(*, actor, obj) -> str:
    """New secrets for the pipeline ``obj``: a new webhook secret (returned, to be shown once, as at set-up) and a new
    version-bump token for ``actor``; the old token stops working at once, both are sealed again for the hub and
    proposed in one change set. Callers check that ``actor`` may change the pipeline (its app)."""
    from portal.models import ApiToken
    from van.choices import ClusterRole

    hub = obj.van.clusters.filter(role=ClusterRole.HUB).first()
    if hub is None or not hub.sealing_cert:
        raise ValidationError({"van": f"VAN {obj.van.name}: its hub has no sealing certificate, so new secrets cannot "
                                      "be sealed for it"})
    old_token = obj.token_id
    token, manifest, webhook_secret = _pipeline_secrets(actor=actor, app=obj.app, van=obj.van, hub=hub)
    obj.token, obj.secrets_manifest = token, manifest
    obj.save(update_fields=["token", "secrets_manifest", "updated"])
    ApiToken.objects.filter(pk=old_token).delete()
    audit_record(actor=actor, action="addons.pipeline.secrets_rotate", obj=obj, team=obj.app.owner_team,
                 changes={"secrets": "rotated"})
    _pipeline_publish(actor=actor, pipeline=obj, message="new webhook secret and token")
    return webhook_secret


@transaction.atomic
def pipeline_create(*, actor, app, van, branch: str = "main", test_image: str = "python:3.12-slim",
                    test_command: str = "make test"):
    """Set up ``app``'s CI pipeline on ``van``'s hub. A token scoped to the app's version bumps is made for
    ``actor`` and sealed for the hub with the webhook secret; neither key is stored. The webhook secret is returned
    once (``pipeline.webhook_secret``), for the git server's webhook. Callers check that ``actor`` may change the
    app; the VAN must be one ``actor`` may change too (it decides what runs on its hub)."""
    from addons.models import CiPipeline
    from van.models import Van

    # What runs on a hub is its VAN's editors' to decide (the hub holds every edge's credentials): a VAN the actor
    # may not change is refused like a missing one, without saying whether it exists.
    if not Van.objects.restrict(actor, "change").filter(pk=getattr(van, "pk", None)).exists():
        raise ValidationError({"van": "VAN: no VAN you may change by that name"})
    if CiPipeline.objects.filter(app=app).exists():
        raise ValidationError({"app": f"app: {app.name} has a CI pipeline already (delete it to move it)"})
    from portal.gitops.services import gitops_default_repo, paths_to_remove

    if paths_to_remove(repo=van.repo or gitops_default_repo(), root=f"pipelines/{van.name}/{app.name}/"):
        raise ValidationError({"app": f"app: {app.name}'s previous CI pipeline on this hub is still being removed from "
                                      "git; set the new one up once its removal is approved"})
    branch, test_command = (branch or "").strip(), (test_command or "").strip()
    found = _pipeline_clean(van=van, app=app, branch=branch, test_image=(test_image or "").strip(), test_command=test_command)
    token, manifest, webhook_secret = _pipeline_secrets(actor=actor, app=app, van=van, hub=found["hub"])
    pipeline = CiPipeline.objects.create(
        app=app, van=van, branch=branch, test_image=test_image.strip(), test_command=test_command, token=token,
        secrets_manifest=manifest, created_by=actor if getattr(actor, "pk", None) else None)
    audit_record(actor=actor, action="addons.pipeline.create", obj=pipeline, team=app.owner_team,
                 changes={"app": app.name, "van": van.name, "branch": branch, "test_image": pipeline.test_image,
                          "test_command": test_command})
    _pipeline_publish(actor=actor, pipeline=pipeline, message="set up")
    pipeline.webhook_secret = webhook_secret  # shown once; only its sealed form is kept
    return pipeline


@transaction.atomic
def pipeline_update(*, actor, obj, branch: str, test_image: str, test_command: str):
    """Change what runs the pipeline (branch) and how it tests; its secrets stay as they are."""
    branch, test_image, test_command = (branch or "").strip(), (test_image or "").strip(), (test_command or "").strip()
    _pipeline_clean(van=obj.van, app=obj.app, branch=branch, test_image=test_image, test_command=test_command)
    changes = {k: [getattr(obj, k), v] for k, v in (("branch", branch), ("test_image", test_image),
                                                   ("test_command", test_command)) if getattr(obj, k) != v}
    obj.branch, obj.test_image, obj.test_command = branch, test_image, test_command
    obj.save(update_fields=["branch", "test_image", "test_command", "updated"])
    audit_record(actor=actor, action="addons.pipeline.update", obj=obj, team=obj.app.owner_team, changes=changes)
    _pipeline_publish(actor=actor, pipeline=obj, message="update " + (", ".join(changes) or "nothing"))
    return obj


def pipeline_files_remove(*, actor, pipeline, message: str) -> None:
    """Propose the removal of the pipeline's files (while it still exists, so it owns the change) and end its token."""
    from portal.gitops.services import owner_files_remove
    from portal.models import ApiToken

    owner_files_remove(actor=actor, owner=pipeline, message=f"{pipeline.gitops_label()}: {message}")
    ApiToken.objects.filter(pk=pipeline.token_id).delete()


@transaction.atomic
def pipeline_delete(*, actor, obj) -> None:
    """Stop the pipeline: its files leave git through one change set it owns, its token stops working at once."""
    audit_record(actor=actor, action="addons.pipeline.delete", obj=obj, team=obj.app.owner_team,
                 changes={"app": obj.app.name, "van": obj.van.name})
    pipeline_files_remove(actor=actor, pipeline=obj, message="delete")
    obj.delete()


@transaction.atomic
def claim_delete(*, actor, obj: InfraClaim) -> None:
    """Stop declaring the claim: its Workspace leaves git in one change set it owns. The infrastructure stays
    (``deletionPolicy: Orphan``): removing it is a decision made in the cloud, not a side effect of a click."""
    from portal.gitops.services import owner_files_remove

    audit_record(actor=actor, action="addons.claim.delete", obj=obj, team=obj.van.owner_team,
                 changes={"van": obj.van.name, "name": obj.name})
    owner_files_remove(actor=actor, owner=obj, message=f"{obj.gitops_label()}: delete (the infrastructure is kept)")
    obj.delete()


def pipeline_app_changed(*, actor, app, renamed: bool) -> None:
    """``app_update`` calls this: an app with a CI pipeline keeps its name (the pipeline's folder and namespace are
    named after it), and a new image or repository is re-checked and re-rendered, so the pipeline never builds and
    scans one image while proposing tags of another."""
    from addons.models import CiPipeline

    pipeline = CiPipeline.objects.filter(app=app).select_related("van", "van__repo").first()
    if pipeline is None:
        return
    if renamed:
        raise ValidationError({"name": "name: this app has a CI pipeline, named after it; delete the pipeline first"})
    pipeline.app = app
    try:
        _pipeline_clean(van=pipeline.van, app=app, branch=pipeline.branch, test_image=pipeline.test_image,
                        test_command=pipeline.test_command)
    except ValidationError as exc:
        problems = exc.message_dict
        if "app" in problems:  # the app's own fields no longer suit a pipeline: say so on those fields
            raise ValidationError({"image" if not app.image else "repo_url": problems["app"]}) from None
        logger.warning("CI pipeline of %s not re-rendered: %s", app.name, "; ".join(exc.messages))
        return
    _pipeline_publish(actor=actor, pipeline=pipeline, message="the app's image or repository changed")


# --- a new Wayline release's add-on definitions, shown then proposed to every VAN ---------------------------------------


def addons_upgrade_preview(*, van) -> list[dict]:
    """What this Wayline's definitions would change in ``van``'s add-ons (a new release pins new chart versions):
    per add-on whose files differ from what git holds, the unified diff of each file. Writes nothing."""
    import difflib

    from portal.gitops.models import ManagedFile
    from portal.gitops.services import files_to_change, gitops_default_repo
    from van.selectors import van_spec

    try:
        spec = van_spec(van=van, apps=[], rules=[])
    except ValueError:
        return []
    repo = van.repo or gitops_default_repo()
    out = []
    for installation in AddonInstallation.objects.filter(van=van, enabled=True).select_related("van", "van__repo").order_by("slug"):
        try:
            files = installation_render_files(installation=installation, spec=spec)
        except ValidationError as exc:
            out.append({"slug": installation.slug, "paths": [], "diff": "", "problem": "; ".join(exc.messages)})
            continue
        to_write, to_delete = files_to_change(repo=repo, root=installation.gitops_root(), files=files)
        if not to_write and not to_delete:
            continue
        paths = sorted({*to_write, *to_delete})
        held = dict(ManagedFile.objects.filter(repo=repo, path__in=paths).values_list("path", "content"))
        diff = []
        for path in paths:
            diff += difflib.unified_diff((held.get(path) or "").splitlines(keepends=True),
                                         (to_write.get(path) or "").splitlines(keepends=True), f"a/{path}", f"b/{path}")
        out.append({"slug": installation.slug, "paths": paths, "diff": "".join(diff), "problem": ""})
    return out


def addons_upgrade(*, actor, van) -> list:
    """Propose what ``addons_upgrade_preview`` shows: one change set per add-on, approved as its clusters say."""
    from van.selectors import van_spec

    spec = van_spec(van=van, apps=[], rules=[])
    out = []
    for installation in AddonInstallation.objects.filter(van=van, enabled=True).select_related("van", "van__repo").order_by("slug"):
        with transaction.atomic():
            try:
                changeset = installation_publish(actor=actor, installation=installation, spec=spec,
                                                 message="upgrade to this Wayline's definitions")
            except ValidationError as exc:
                logger.warning("add-on %s of VAN %s not upgraded: %s", installation.slug, van.name, "; ".join(exc.messages))
                continue
        if changeset is not None:
            out.append(changeset)
    return out
