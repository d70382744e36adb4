"""Write services for VANs, clusters, apps and distribution rules.

Every change that alters what a VAN's GitOps files say re-renders the VAN and
proposes the difference as one ChangeSet, inside the same transaction (the GitOps
engine's outbox), so a failed write never reaches git and a committed one always does.
A VAN that cannot publish yet (``van.selectors.van_publish_blockers``: a missing hub
address, certificate or edge credentials) keeps every save and commits nothing; the
save that clears its last blocker publishes it. ``publish_outcomes`` tells a page which.
"""
from __future__ import annotations

import base64
import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from portal.models import Team
from portal.sealing import SealingError, certificate_load
from portal.services import audit_record, ownership_grant
from portal.validators import version_validator
from van.choices import ClusterRole, CredentialsKind
from van.labels import LabelError, selector_parse, tags_parse as _tags_parse
from van.models import App, AppRelease, Cluster, DistributionRule, SealedValue, Van
from van.rendering import RenderError
from van.rendering.pki import link_ca_issue, link_client_issue
from van.rendering.spec import ENVIRONMENTS, Credentials


# --- parsing and validation (field errors) -------------------------------------------------------


def tags_parse(raw: str | list[str], *, field: str = "tags") -> list[str]:
    """Normalise tags from a comma/space separated string or list; each must be a label key or key=value."""
    try:
        return [str(tag) for tag in _tags_parse(raw if isinstance(raw, list) else (raw or ""))]
    except LabelError as exc:
        raise ValidationError({field: f"{field}: {exc}"}) from None


def selector_clean(text: str, *, field: str = "cluster_selector") -> str:
    try:
        return str(selector_parse(text or ""))
    except LabelError as exc:
        raise ValidationError({field: f"{field}: {exc}"}) from None


def version_clean(value: str, *, field: str = "version") -> str:
    value = (value or "").strip()
    if value:
        try:
            version_validator(value)
        except ValidationError as exc:
            raise ValidationError({field: f"{field}: {exc.messages[0]}"}) from None
    return value


def sealing_cert_clean(pem: str, *, field: str = "sealing_cert") -> str:
    pem = (pem or "").strip()
    if not pem:
        return ""
    try:
        return certificate_load(pem).pem
    except SealingError as exc:
        raise ValidationError({field: f"{field}: {exc}"}) from None


def credentials_parse(kind: str, text: str) -> Credentials | None:
    """What ArgoCD needs from a bearer token or a kubeconfig; errors name the kubeconfig field."""
    if not text:
        return None
    if not kind:
        raise ValidationError({"credentials_kind": "credentials_kind: say whether the credentials are a bearer token or a kubeconfig"})
    if kind == CredentialsKind.TOKEN:
        token = text.strip()
        if not token or any(c.isspace() for c in token):
            raise ValidationError({"credentials": "credentials: a bearer token is one line without spaces"})
        return Credentials(bearer_token=token)
    if kind != CredentialsKind.KUBECONFIG:
        raise ValidationError({"credentials_kind": f"credentials_kind: unknown kind {kind!r}"})
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValidationError({"credentials": f"credentials: the kubeconfig is not valid YAML{where}"}) from None
    if not isinstance(config, dict):
        raise ValidationError({"credentials": "credentials: the kubeconfig is not a mapping"})

    def named(section: str, name: str) -> dict:
        for item in config.get(section) or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item.get(section[:-1]) or {}
        raise ValidationError({"credentials": f"credentials: kubeconfig {section} has no entry named {name!r}"})

    current = config.get("current-context")
    if not current:
        raise ValidationError({"credentials": "credentials: kubeconfig field current-context is empty"})
    context = named("contexts", current)
    cluster, user = named("clusters", context.get("cluster", "")), named("users", context.get("user", ""))
    if "exec" in user or "auth-provider" in user:
        raise ValidationError(
            {"credentials": f"credentials: kubeconfig user {context.get('user')!r} uses an exec/auth-provider plugin, "
                            "which ArgoCD cannot run; use a service-account token"}
        )
    creds = Credentials(
        bearer_token=str(user.get("token") or ""),
        ca_data=str(cluster.get("certificate-authority-data") or ""),
        cert_data=str(user.get("client-certificate-data") or ""),
        key_data=str(user.get("client-key-data") or ""),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
    )
    if not creds.bearer_token and not (creds.cert_data and creds.key_data):
        raise ValidationError(
            {"credentials": f"credentials: kubeconfig user {context.get('user')!r} has neither token nor "
                            "client-certificate-data + client-key-data (file paths are not readable here)"}
        )
    for field_name, value in (("certificate-authority-data", creds.ca_data), ("client-certificate-data", creds.cert_data)):
        if value:
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                raise ValidationError({"credentials": f"credentials: kubeconfig field {field_name} is not base64"}) from None
    return creds


def _environments_clean(values, *, field: str = "environments") -> list[str]:
    values = [values] if isinstance(values, str) else list(values or [])
    bad = [v for v in values if v not in ENVIRONMENTS]
    if bad:
        raise ValidationError({field: f"{field}: unknown environment(s) {', '.join(map(repr, bad))}; use {', '.join(ENVIRONMENTS)}"})
    return [e for e in ENVIRONMENTS if e in values]


def _overrides_clean(overrides: dict | None) -> dict:
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise ValidationError({"overrides": "overrides: must be a mapping of environment to settings"})
    _environments_clean(list(overrides), field="overrides")
    out = {}
    for env, data in overrides.items():
        if not isinstance(data, dict):
            raise ValidationError({"overrides": f"overrides.{env}: must be a mapping"})
        unknown = set(data) - {"version", "chart_version", "values"}
        if unknown:
            raise ValidationError({"overrides": f"overrides.{env}: unknown field(s) {', '.join(sorted(unknown))}"})
        try:
            out[env] = {
                "version": version_clean(data.get("version", ""), field=f"overrides.{env}.version"),
                "chart_version": version_clean(data.get("chart_version", ""), field=f"overrides.{env}.chart_version"),
                "values": data.get("values") or {},
            }
        except ValidationError as exc:
            raise ValidationError({"overrides": [m for msgs in exc.message_dict.values() for m in msgs]}) from None
        if not isinstance(out[env]["values"], dict):
            raise ValidationError({"overrides": f"overrides.{env}.values: must be a mapping"})
    return out


def _save(obj) -> None:
    obj.full_clean()
    obj.save()


def _apply_fields(obj, fields: dict) -> dict:
    changes = {}
    for field, value in fields.items():
        if getattr(obj, field) != value:
            changes[field] = value if isinstance(value, (list, str, dict, int, bool)) or value is None else str(value)
            setattr(obj, field, value)
    return changes


# --- publishing ----------------------------------------------------------------------------------


class _DatabaseSealCache(dict):
    """Sealed values kept in the database; new ones are written back after a render."""

    def __init__(self):
        super().__init__(SealedValue.objects.values_list("digest", "sealed"))
        self._known = set(self)

    def save_new(self) -> None:
        new = [SealedValue(digest=d, sealed=s) for d, s in self.items() if d not in self._known]
        SealedValue.objects.bulk_create(new, ignore_conflicts=True)
        self._known.update(self)


def sealer_for_render():
    """A Sealer whose cache lives in the database (and a callback that persists what it sealed)."""
    from portal.sealing import Sealer

    cache = _DatabaseSealCache()
    secret = hashlib.sha256(b"wayline-seal-cache:" + settings.SECRET_KEY.encode()).digest()
    return Sealer(cache=cache, secret=secret), cache.save_new


def van_change_environment(*, van: Van, paths: list[str], hints=()) -> str:
    """The most protected environment a change of ``van``'s files touches (so Prod placements wait for approval).

    ``hints``: environments of clusters or rules the edit removed, which the current spec no longer knows.
    A path the spec cannot place (a file of a removed cluster or rule) counts as Prod unless hints say otherwise.
    """
    from van.rendering.placement import cluster_labels, rule_selector
    from van.selectors import van_spec

    try:
        spec = van_spec(van=van)
    except ValueError:
        return ENVIRONMENTS[-1]  # a VAN without a hub: nothing to place by, so the most protected
    env_of = {c.name: c.environment for c in spec.clusters}
    unknown = set(hints) or {ENVIRONMENTS[-1]}
    touched: set[str] = set(hints)
    rules = {r.name: r for r in spec.rules}
    for path in paths:
        rest = path[len(spec.root) + 1:]
        parts = rest.split("/")
        if parts[0] == "clusters" and len(parts) == 4 and parts[1] == spec.hub.name and parts[2] == "skupper" \
                and parts[3].startswith("kube-api-"):
            # The hub's Listener for an edge's API is that edge's, like its cluster Secret on the hub.
            edge = parts[3].removeprefix("kube-api-").removesuffix(".yaml")
            touched.update([env_of[edge]] if edge in env_of else unknown)
        elif parts[0] == "clusters" and len(parts) > 1:
            touched.update([env_of[parts[1]]] if parts[1] in env_of else unknown)
        elif parts[:2] == ["hub", "clusters"] and len(parts) > 2:
            name = parts[2].removesuffix(".yaml")
            touched.update([env_of[name]] if name in env_of else unknown)
        elif parts[:2] == ["hub", "applicationsets"] and len(parts) > 2:
            rule = rules.get(parts[2])
            if rule is None:
                touched.update(unknown)
                continue
            selector = rule_selector(spec, rule)
            envs = {c.environment for c in spec.clusters if selector.matches(cluster_labels(spec, c))} | set(rule.environments)
            # "<app>.<env>-<env>.yaml" is the ApplicationSet for those environments only.
            stem = parts[-1].removesuffix(".yaml")
            if "." in stem:
                envs &= set(stem.rpartition(".")[2].split("-"))
            touched.update(envs or unknown)
        else:
            touched.add(spec.hub.environment)
    return _most_protected(touched or {spec.hub.environment})


def _most_protected(slugs: set[str]) -> str:
    """The environment whose policy governs a change touching ``slugs`` (``Environment.most_protected``, as the
    rows say now); a slug no row has is returned as it is, so proposing the change names it as unknown."""
    from portal.gitops.models import Environment

    environment = Environment.most_protected(slugs)
    unknown = sorted(set(slugs) - set(Environment.objects.filter(slug__in=slugs).values_list("slug", flat=True)))
    return unknown[-1] if unknown or environment is None else environment.slug


def van_render_files(*, van: Van, spec=None) -> dict[str, str]:
    """Exactly the files a commit of this VAN writes (path -> text, with the generated-file header)."""
    from portal.gitops.services import with_generated_header
    from van.rendering import van_render
    from van.selectors import van_spec

    spec = spec or van_spec(van=van)
    # the add-ons turned on: while there is one, the hub syncs addons/<van>/ (one query, for renders only)
    spec = replace(spec, addons=tuple(van.addons.filter(enabled=True).order_by("slug").values_list("slug", flat=True)))
    sealer, persist = sealer_for_render()
    try:
        files = {path: with_generated_header(path, text) for path, text in van_render(spec, sealer=sealer).items()}
    except (RenderError, LabelError) as exc:
        raise ValidationError({"__all__": f"VAN {van.name}: {exc}"}) from None
    persist()
    return files


def rule_environments(rule: DistributionRule) -> set[str]:
    """Environments of the clusters a rule matches now (its placements before an edit or deletion)."""
    from van.rendering.placement import cluster_labels, rule_selector
    from van.selectors import rule_spec, van_spec

    spec = van_spec(van=rule.van, rules=[])
    selector = rule_selector(spec, rule_spec(rule))
    return {c.environment for c in spec.clusters if selector.matches(cluster_labels(spec, c))}


def van_publish(*, actor, van: Van, message: str, environments=()):
    """Render the VAN and propose what differs from what Wayline last wrote (None if nothing).

    The VAN owns the change: the engine bounds it to ``vans/<name>/`` and takes
    its environment from ``Van.gitops_environment`` (``environments``: those of
    clusters or rules the edit removed), so Prod placements wait for approval. A
    change set of the VAN still waiting for approval is updated in place.
    """
    from portal.gitops.services import files_to_change, gitops_default_repo, propose_change
    from van.selectors import van_spec

    spec = van_spec(van=van)
    files = van_render_files(van=van, spec=spec)
    to_write, to_delete = files_to_change(repo=van.repo or gitops_default_repo(), root=spec.root + "/", files=files)
    if not to_write and not to_delete:
        return None
    return propose_change(
        actor=actor, owner=van, files_to_write=to_write, files_to_delete=to_delete,
        message=f"{van.gitops_label()}: {message}", environment_hints=environments,
    )


@dataclass(frozen=True)
class PublishOutcome:
    """What one save did to one VAN's files: blocked (``blockers``), nothing to change (no ``changeset``), or proposed."""

    van: Van
    changeset: object = None  # portal.gitops ChangeSet
    blockers: tuple = ()


_outcomes: ContextVar[list[PublishOutcome] | None] = ContextVar("van_publish_outcomes", default=None)


@contextmanager
def publish_outcomes():
    """Collect the outcome of every VAN publish the services inside run, so the page can say why nothing was
    committed (a save that changes no VAN's files records nothing)."""
    token = _outcomes.set([])
    try:
        yield _outcomes.get()
    finally:
        _outcomes.reset(token)


def _publish_unless_blocked(*, actor, van: Van, message: str, environments=(), blockers=None):
    """Publish ``van`` unless something blocks it (the save is kept either way); the change set, or None."""
    from van.selectors import van_publish_blockers

    blockers = van_publish_blockers(van=van) if blockers is None else blockers
    changeset = None if blockers else van_publish(actor=actor, van=van, message=message, environments=environments)
    if not blockers:
        from addons.services import addons_publish

        addons_publish(actor=actor, van=van, message=message, environments=environments)  # each its own change set
    if (collected := _outcomes.get()) is not None:
        collected.append(PublishOutcome(van=van, changeset=changeset, blockers=tuple(blockers)))
    return changeset


def _publish_all(*, actor, vans, message: str, app: App | None = None) -> list:
    """Publish each VAN once (those not blocked). ``message`` may hold ``{app}``: the app's name where the VAN's
    team may see the app, else "an app of another team", so a change message never names a private app to its readers."""
    from van.selectors import van_publish_blockers

    vans = {v.pk: v for v in vans if v is not None}
    clusters = {}
    for cluster in Cluster.objects.filter(van_id__in=list(vans)):
        clusters.setdefault(cluster.van_id, []).append(cluster)
    changesets = []
    for van in vans.values():
        text = message
        if app is not None:
            visible = app.visibility == "public" or app.owner_team_id == van.owner_team_id
            text = message.format(app=app.name if visible else "an app of another team")
        blockers = van_publish_blockers(van=van, clusters=clusters.get(van.pk, []))
        if cs := _publish_unless_blocked(actor=actor, van=van, message=text, blockers=blockers):
            changesets.append(cs)
    return changesets


def _vans_of_rules_selecting(app: App) -> list[Van]:
    tags = set(app.tags)
    keys = {t.partition("=")[0] for t in tags}
    vans = {}
    for rule in DistributionRule.objects.select_related("van", "van__repo"):
        if any(t in tags or t in keys for t in rule.app_tags):
            vans[rule.van_id] = rule.van
    return list(vans.values())


# --- clusters ------------------------------------------------------------------------------------


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
    credentials_kind: str = "",
    credentials: str = "",
    sealing_cert: str = "",
) -> Cluster:
    """Register a cluster owned by ``owner_team`` (it joins a VAN later, as hub or edge)."""
    credentials_parse(credentials_kind, credentials)
    cluster = Cluster(
        name=name, api_url=api_url, owner_team=owner_team, environment=environment, provider=provider,
        tags=tags_parse(tags), description=description, visibility=visibility,
        credentials_kind=credentials_kind if credentials else "", credentials=credentials.strip() if credentials else "",
        sealing_cert=sealing_cert_clean(sealing_cert),
    )
    _save(cluster)
    ownership_grant(obj=cluster)
    audit_record(actor=actor, action="cluster.create", obj=cluster, changes={
        "name": name, "tags": cluster.tags, "credentials": "set" if cluster.credentials else "none",
    })
    return cluster


@transaction.atomic
def cluster_update(*, actor, obj: Cluster, credentials: str = "", credentials_kind: str | None = None, **fields) -> Cluster:
    """Change a cluster's settings; empty credentials keep the stored ones. Re-publishes its VAN."""
    if "tags" in fields:
        fields["tags"] = tags_parse(fields["tags"])
    if "sealing_cert" in fields:
        fields["sealing_cert"] = sealing_cert_clean(fields["sealing_cert"]) or obj.sealing_cert
    previous_team, previous_environment = obj.owner_team, obj.environment
    changes = _apply_fields(obj, fields)
    if credentials:
        kind = credentials_kind or obj.credentials_kind or CredentialsKind.TOKEN
        credentials_parse(kind, credentials)
        obj.credentials_kind, obj.credentials = kind, credentials.strip()
        changes["credentials"] = "replaced"
    _save(obj)
    if obj.owner_team_id != previous_team.pk:
        ownership_grant(obj=obj, previous_team=previous_team)
    if "sealing_cert" in changes:
        changes["sealing_cert"] = "replaced"  # a public certificate, but long: the audit row says only that it changed
    audit_record(actor=actor, action="cluster.update", obj=obj, changes=changes)
    if obj.van_id:
        # The cluster's environment before the edit counts too: relabelling a Prod cluster as Dev, or moving it out of
        # a Prod placement by its tags, is a Prod change and waits for Prod's approvers.
        _publish_unless_blocked(actor=actor, van=obj.van, message=f"update cluster {obj.name}", environments=[previous_environment])
    return obj


@transaction.atomic
def cluster_delete(*, actor, obj: Cluster) -> None:
    if obj.van_id and obj.role == ClusterRole.HUB:
        raise ValidationError({"__all__": f"{obj.name} is the hub of VAN {obj.van.name}; delete the VAN first"})
    van = obj.van
    audit_record(actor=actor, action="cluster.delete", obj=obj, changes={"name": obj.name})
    obj.delete()
    if van is not None:
        _publish_unless_blocked(actor=actor, van=van, message=f"remove cluster {obj.name}", environments=[obj.environment])


# --- VANs ----------------------------------------------------------------------------------------


def _join(cluster: Cluster, van: Van, role: str, *, actor=None) -> None:
    if cluster.van_id and cluster.van_id != van.pk:
        # Name the other VAN only to someone who may see it: invisible is exactly like missing.
        other = f"VAN {cluster.van.name}" if Van.objects.permits(actor, "view", cluster.van) else "another VAN"
        raise ValidationError({"hub" if role == ClusterRole.HUB else "cluster": f"{cluster.name} already belongs to {other}"})
    cluster.van, cluster.role = van, role
    if role == ClusterRole.EDGE and not cluster.link_cert:
        ca = van_link_ca(van)
        cluster.link_cert, cluster.link_key = link_client_issue(ca=ca, edge_name=cluster.name)
    elif role == ClusterRole.HUB:
        cluster.link_cert = cluster.link_key = ""
    _save(cluster)


def van_link_ca(van: Van):
    from van.rendering import LinkCA

    return LinkCA(cert_pem=van.link_ca_cert, key_pem=van.link_ca_key)


@transaction.atomic
def van_create(
    *,
    actor,
    name: str,
    owner_team: Team,
    hub: Cluster,
    edges=(),
    repo=None,
    reachability: str = "loadbalancer",
    hub_host: str = "",
    inter_router_port: int = 55671,
    edge_port: int = 45671,
    description: str = "",
    visibility: str = "public",
    skupper_namespace: str = "skupper",
    addons=None,
) -> Van:
    """Create a VAN around a hub; Wayline issues its link CA and each edge's client certificate. ``addons``: the
    slugs of the golden-path add-ons to turn on (None: every one on by default)."""
    from addons.services import addons_check, addons_choose

    addons = addons_check(addons)  # a choice that does not hold together is refused before anything is written
    ca = link_ca_issue(van_name=name)
    van = Van(
        name=name, owner_team=owner_team, repo=repo, reachability=reachability, hub_host=hub_host.strip(),
        inter_router_port=inter_router_port, edge_port=edge_port, description=description, visibility=visibility,
        skupper_namespace=skupper_namespace, link_ca_cert=ca.cert_pem, link_ca_key=ca.key_pem,
    )
    _save(van)
    ownership_grant(obj=van)
    _join(hub, van, ClusterRole.HUB, actor=actor)
    for edge in edges:
        if edge.pk == hub.pk:
            raise ValidationError({"edges": f"edges: {edge.name} is already the hub"})
        _join(edge, van, ClusterRole.EDGE, actor=actor)
    audit_record(actor=actor, action="van.create", obj=van, changes={"name": name, "hub": hub.name, "edges": [e.name for e in edges]})
    addons_choose(actor=actor, van=van, chosen=addons)
    _publish_unless_blocked(actor=actor, van=van, message="create")
    return van


@transaction.atomic
def van_update(*, actor, obj: Van, edges=None, hub=None, **fields) -> Van:
    """Change VAN settings and (optionally) its edge set; re-publishes."""
    fields.pop("link_ca_cert", None), fields.pop("link_ca_key", None)
    if fields.pop("addons", None) is not None:
        raise ValidationError({"addons": "add-ons: turn a VAN's add-ons on and off one by one (its add-ons page, or "
                                         "/api/addon-installations/<id>/enable/ and disable/)"})
    if fields.get("name", obj.name) != obj.name:
        # The name is the VAN's folder in git (vans/<name>/) and the identity its change sets are owned by.
        raise ValidationError({"name": f"name: a VAN keeps its name (its GitOps folder is vans/{obj.name}/); create a new VAN instead"})
    previous_team = obj.owner_team
    changes = _apply_fields(obj, fields)
    _save(obj)
    if obj.owner_team_id != previous_team.pk:
        ownership_grant(obj=obj, previous_team=previous_team)
    if hub is not None and hub.van_id != obj.pk:
        raise ValidationError({"hub": "hub: moving a VAN to another hub is not supported; create a new VAN"})
    if edges is not None:
        wanted = {c.pk: c for c in edges}
        hub_pk = obj.clusters.filter(role=ClusterRole.HUB).values_list("pk", flat=True).first()
        if hub_pk in wanted:
            raise ValidationError({"edges": f"edges: {wanted[hub_pk].name} is the hub of VAN {obj.name}; it cannot also be an edge"})
        current = {c.pk: c for c in obj.clusters.filter(role=ClusterRole.EDGE)}
        for pk in set(current) - set(wanted):
            van_edge_remove(actor=actor, van=obj, cluster=current[pk], publish=False)
        for pk in set(wanted) - set(current):
            van_edge_add(actor=actor, van=obj, cluster=wanted[pk], publish=False)
        changes["edges"] = sorted(c.name for c in edges)
    audit_record(actor=actor, action="van.update", obj=obj, changes=changes)
    _publish_unless_blocked(actor=actor, van=obj, message="update")
    return obj


@transaction.atomic
def van_edge_add(*, actor, van: Van, cluster: Cluster, publish: bool = True) -> Cluster:
    """Attach an edge: its cluster Secret, Site, Link and sealed link credentials appear in git."""
    _join(cluster, van, ClusterRole.EDGE, actor=actor)
    audit_record(actor=actor, action="van.edge_add", obj=van, changes={"edge": cluster.name})
    if publish:
        _publish_unless_blocked(actor=actor, van=van, message=f"add edge {cluster.name}")
    return cluster


@transaction.atomic
def van_edge_remove(*, actor, van: Van, cluster: Cluster, publish: bool = True) -> Cluster:
    """Detach an edge; its files leave git and its client certificate is discarded."""
    if cluster.van_id != van.pk or cluster.role != ClusterRole.EDGE:
        raise ValidationError({"cluster": f"cluster: {cluster.name} is not an edge of {van.name}"})
    cluster.van, cluster.role, cluster.link_cert, cluster.link_key = None, "", "", ""
    _save(cluster)
    audit_record(actor=actor, action="van.edge_remove", obj=van, changes={"edge": cluster.name})
    if publish:
        _publish_unless_blocked(actor=actor, van=van, message=f"remove edge {cluster.name}", environments=[cluster.environment])
    return cluster


def _pipelines_stop(*, actor, why: str, **which) -> None:
    """CI pipelines that go with their app or VAN: their files leave git through change sets they own, their tokens end."""
    from addons.models import CiPipeline
    from addons.services import pipeline_files_remove

    for pipeline in CiPipeline.objects.filter(**which).select_related("app", "van", "van__repo"):
        pipeline_files_remove(actor=actor, pipeline=pipeline, message=f"delete: {why}")


@transaction.atomic
def van_delete(*, actor, obj: Van) -> None:
    """Delete a VAN; its files leave git through one last change set it owns (approved like Prod)."""
    from portal.gitops.services import owner_files_remove

    for installation in obj.addons.select_related("van", "van__repo"):  # each add-on's files leave through its own change
        owner_files_remove(actor=actor, owner=installation, message=f"{installation.gitops_label()}: delete the VAN",
                           environment_hints=[ENVIRONMENTS[-1]])
    _pipelines_stop(actor=actor, why="its VAN is deleted", van=obj)
    from addons.services import claim_delete

    for claim in obj.claims.select_related("van", "van__repo"):  # their Workspaces leave git; the infrastructure stays
        claim_delete(actor=actor, obj=claim)
    audit_record(actor=actor, action="van.delete", obj=obj, changes={"name": obj.name})
    # Proposed while the VAN still exists, so the change set is owned by it and bounded to its folder.
    owner_files_remove(actor=actor, owner=obj, message=f"{obj.gitops_label()}: delete", environment_hints=[ENVIRONMENTS[-1]])
    obj.clusters.update(van=None, role="", link_cert="", link_key="")
    obj.rules.all().delete()
    obj.delete()


# --- apps ----------------------------------------------------------------------------------------


_APP_TEXT_FIELDS = ("repo_url", "path", "revision", "chart", "chart_version", "namespace", "image", "version")


def _app_fields_clean(fields: dict) -> dict:
    """Normalise what the model's validators then check (App.full_clean: every field that reaches a manifest)."""
    for name in _APP_TEXT_FIELDS:
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip()
    if "tags" in fields:
        fields["tags"] = tags_parse(fields["tags"])
    for name in ("version", "chart_version"):
        if name in fields:
            fields[name] = version_clean(fields[name], field=name)
    if "overrides" in fields:
        fields["overrides"] = _overrides_clean(fields["overrides"])
    if fields.get("values") is None and "values" in fields:
        fields["values"] = {}
    if "values" in fields and not isinstance(fields["values"], dict):
        raise ValidationError({"values": "values: Helm values must be a mapping"})
    return fields


@transaction.atomic
def app_create(*, actor, name: str, owner_team: Team, namespace: str, repo_url: str, visibility: str = "public", **fields) -> App:
    """Register an app; it deploys wherever a distribution rule sends it."""
    fields = _app_fields_clean({"namespace": namespace, "repo_url": repo_url, **fields})
    app = App(name=name, owner_team=owner_team, visibility=visibility, **fields)
    _save(app)
    ownership_grant(obj=app)
    if app.version or app.chart_version:
        AppRelease.objects.create(app=app, version=app.version, chart_version=app.chart_version, author=actor if actor and actor.is_authenticated else None)
    audit_record(actor=actor, action="app.create", obj=app, changes={"name": name, "tags": app.tags, "version": app.version})
    _publish_all(actor=actor, vans=_vans_of_rules_selecting(app), message="add app {app}", app=app)
    return app


@transaction.atomic
def app_update(*, actor, obj: App, **fields) -> App:
    """Change an app; every VAN that deployed it before or deploys it now is re-published."""
    fields = _app_fields_clean(fields)
    before = _vans_of_rules_selecting(obj)
    previous_team = obj.owner_team
    old_version, old_chart = obj.version, obj.chart_version
    changes = _apply_fields(obj, fields)
    _save(obj)
    if {"name", "image", "repo_url"} & set(changes):  # its CI pipeline builds this image from this repository
        from addons.services import pipeline_app_changed

        pipeline_app_changed(actor=actor, app=obj, renamed="name" in changes)
    if obj.owner_team_id != previous_team.pk:
        ownership_grant(obj=obj, previous_team=previous_team)
    release = None
    if (obj.version, obj.chart_version) != (old_version, old_chart):
        release = AppRelease.objects.create(app=obj, version=obj.version, chart_version=obj.chart_version, author=actor if actor and actor.is_authenticated else None)
    audit_record(actor=actor, action="app.update", obj=obj, changes=changes)
    changesets = _publish_all(actor=actor, vans=before + _vans_of_rules_selecting(obj), message="update app {app}", app=obj)
    if release is not None and changesets:
        release.changesets.set(changesets)
    return obj


@transaction.atomic
def app_version_set(*, actor, app: App, version: str = "", chart_version: str = "", rollback_of: AppRelease | None = None) -> AppRelease:
    """Upgrade (or roll back) an app's image version and/or chart version; one ChangeSet per VAN it runs in."""
    version = version_clean(version, field="version")
    chart_version = version_clean(chart_version, field="chart_version")
    if app.source_kind == "helm" and not (version or chart_version):
        raise ValidationError({"version": "version: give an image version or a chart version"})
    if app.source_kind != "helm" and not version:
        raise ValidationError({"version": "version: give the new version"})
    changes = {"version": [app.version, version or app.version], "chart_version": [app.chart_version, chart_version or app.chart_version]}
    app.version = version or app.version
    app.chart_version = chart_version or app.chart_version
    _save(app)
    release = AppRelease.objects.create(
        app=app, version=app.version, chart_version=app.chart_version,
        author=actor if actor and actor.is_authenticated else None, rollback_of=rollback_of,
    )
    audit_record(actor=actor, action="app.rollback" if rollback_of else "app.upgrade", obj=app, changes=changes)
    verb = "roll back {app} to" if rollback_of else "upgrade {app} to"
    changesets = _publish_all(actor=actor, vans=_vans_of_rules_selecting(app),
                              message=f"{verb} {app.version or app.chart_version}", app=app)
    release.changesets.set(changesets)
    return release


def app_rollback(*, actor, app: App, release: AppRelease) -> AppRelease:
    """Go back to a past release's versions (a new release row, and a new ChangeSet under the same approval rules)."""
    if release.app_id != app.pk:
        raise ValidationError({"release": "release: it belongs to another app"})
    return app_version_set(actor=actor, app=app, version=release.version, chart_version=release.chart_version, rollback_of=release)


@transaction.atomic
def app_delete(*, actor, obj: App) -> None:
    vans = _vans_of_rules_selecting(obj)
    audit_record(actor=actor, action="app.delete", obj=obj, changes={"name": obj.name})
    _pipelines_stop(actor=actor, why="its app is deleted", app=obj)
    gone = App(name=obj.name, visibility=obj.visibility, owner_team_id=obj.owner_team_id)
    obj.delete()
    _publish_all(actor=actor, vans=vans, message="remove app {app}", app=gone)


# --- distribution rules --------------------------------------------------------------------------


def _rule_fields_clean(fields: dict) -> dict:
    if "app_tags" in fields:
        fields["app_tags"] = tags_parse(fields["app_tags"], field="app_tags")
        if not fields["app_tags"]:
            raise ValidationError({"app_tags": "app_tags: a rule needs at least one app tag"})
    if "cluster_selector" in fields:
        fields["cluster_selector"] = selector_clean(fields["cluster_selector"])
    if "environments" in fields:
        fields["environments"] = _environments_clean(fields["environments"])
    return fields


@transaction.atomic
def rule_create(*, actor, van: Van, name: str, app_tags, cluster_selector: str = "", **fields) -> DistributionRule:
    """Add a distribution rule to a VAN and commit the ApplicationSets it compiles to."""
    fields = _rule_fields_clean({"app_tags": app_tags, "cluster_selector": cluster_selector, **fields})
    fields.pop("owner_team", None), fields.pop("visibility", None)
    rule = DistributionRule(van=van, name=name, **fields)
    _save(rule)
    audit_record(actor=actor, action="rule.create", obj=rule, team=van.owner_team, changes={k: v for k, v in fields.items()} | {"name": name})
    _publish_unless_blocked(actor=actor, van=van, message=f"add rule {name}")
    return rule


@transaction.atomic
def rule_update(*, actor, obj: DistributionRule, **fields) -> DistributionRule:
    fields = _rule_fields_clean(fields)
    fields.pop("van", None), fields.pop("owner_team", None), fields.pop("visibility", None)
    before = rule_environments(obj)
    changes = _apply_fields(obj, fields)
    _save(obj)
    audit_record(actor=actor, action="rule.update", obj=obj, team=obj.van.owner_team, changes=changes)
    if changes:
        _publish_unless_blocked(actor=actor, van=obj.van, message=f"update rule {obj.name}", environments=before)
    return obj


@transaction.atomic
def rule_delete(*, actor, obj: DistributionRule) -> None:
    van = obj.van
    before = rule_environments(obj)
    audit_record(actor=actor, action="rule.delete", obj=obj, team=van.owner_team, changes={"name": obj.name})
    obj.delete()
    _publish_unless_blocked(actor=actor, van=van, message=f"remove rule {obj.name}", environments=before)
