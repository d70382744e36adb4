"""Which app goes to which cluster, and the ApplicationSet plans that make ArgoCD agree.

Rules are applied in order (``order``, then name). When two rules would place the
same app on the same cluster, the earlier one wins: the later rule's cluster
selector is split into disjoint selectors that exclude the earlier ones
(:func:`van.labels.selector_minus`), so no two generators ever produce the same
Application. Environments whose effective settings (version, values) differ get
separate ApplicationSets, each limited to its environments by label.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import NamedTuple

from van.labels import Requirement, Selector, selector_minus
from van.rendering.spec import (
    ENVIRONMENTS,
    LABEL_CLUSTER,
    LABEL_CLUSTER_TOKEN,
    LABEL_ENVIRONMENT,
    LABEL_ROLE,
    LABEL_SECRET_TYPE,
    LABEL_VAN,
    AppSpec,
    ClusterSpec,
    RuleSpec,
    VanSpec,
)


def cluster_labels(van: VanSpec, cluster: ClusterSpec) -> dict[str, str]:
    """Labels of the cluster's ArgoCD Secret: its tags plus what Wayline needs to select and name."""
    labels = {tag.key: tag.value for tag in cluster.tags}
    labels.update(
        {
            LABEL_SECRET_TYPE: "cluster",
            LABEL_VAN: van.name,
            LABEL_CLUSTER: cluster.name,
            LABEL_CLUSTER_TOKEN: cluster.token,
            LABEL_ENVIRONMENT: cluster.environment,
            LABEL_ROLE: "hub" if cluster.name == van.hub.name else "edge",
        }
    )
    return labels


def rule_selector(van: VanSpec, rule: RuleSpec) -> Selector:
    """The rule's cluster selector, confined to this VAN and the rule's environments."""
    extra = [Requirement(LABEL_VAN, "In", (van.name,))]
    if rule.environments:
        extra.append(Requirement(LABEL_ENVIRONMENT, "In", tuple(sorted(rule.environments))))
    return rule.cluster_selector.and_(*extra)


def rules_in_order(rules) -> list[RuleSpec]:
    return sorted(rules, key=lambda r: (r.order, r.name))


def effective_settings(app: AppSpec, environment: str) -> dict:
    """What an app deploys in one environment: its defaults with that environment's override applied."""
    override = app.override_for(environment)
    values = dict(app.values)
    if override and override.values:
        values = _merge(values, override.values)
    return {
        "version": (override.version if override and override.version else app.version),
        "chart_version": (override.chart_version if override and override.chart_version else app.chart_version),
        "values": values,
    }


def _merge(base: dict, patch: dict) -> dict:
    out = dict(base)
    for key, value in patch.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@dataclass(frozen=True)
class AppSetPlan:
    van: str
    app: AppSpec
    rule: RuleSpec
    environments: tuple[str, ...]  # empty: not limited by environment
    settings: dict
    generators: tuple[Selector, ...]

    @property
    def name(self) -> str:
        envs = "-".join(self.environments)
        base = f"{self.app.token}-{self.rule.name[:16]}" + (f"-{envs}" if envs else "")
        digest = hashlib.sha256(json.dumps([self.van, self.app.name, self.rule.name, envs]).encode()).hexdigest()[:8]
        return f"{base[:50].rstrip('-.')}-{digest}"

    @property
    def path(self) -> str:
        suffix = f".{'-'.join(self.environments)}" if self.environments else ""
        return f"applicationsets/{self.rule.name}/{self.app.name}{suffix}.yaml"


def appset_plans(van: VanSpec) -> list[AppSetPlan]:
    """One plan per (rule, app, group of environments with identical settings)."""
    ordered = rules_in_order(van.rules)
    selectors = {rule.name: rule_selector(van, rule) for rule in ordered}
    selected = rule_apps(ordered, van.apps)
    plans = []
    for app in sorted(van.apps, key=lambda a: a.name):
        earlier: list[Selector] = []
        for rule in ordered:
            if app.name not in selected[rule.name]:
                continue
            pieces = selector_minus(selectors[rule.name], earlier)
            earlier.append(selectors[rule.name])
            if not pieces:
                continue
            envs = tuple(e for e in ENVIRONMENTS if not rule.environments or e in rule.environments)
            groups: dict[str, list[str]] = {}
            settings_of = {}
            for env in envs:
                settings = effective_settings(app, env)
                key = json.dumps(settings, sort_keys=True)
                groups.setdefault(key, []).append(env)
                settings_of[key] = settings
            split = len(groups) > 1
            for key, group in groups.items():
                generators = pieces
                if split:
                    requirement = Requirement(LABEL_ENVIRONMENT, "In", tuple(sorted(group)))
                    generators = [p.and_(requirement) for p in pieces]
                    generators = [g for g in generators if g.satisfiable()]
                if generators:
                    plans.append(
                        AppSetPlan(
                            van=van.name,
                            app=app,
                            rule=rule,
                            environments=tuple(group) if split else (),
                            settings=settings_of[key],
                            generators=tuple(generators),
                        )
                    )
    return plans


@dataclass(frozen=True)
class Placement:
    """The placement matrix: for each app, the clusters it lands on and the rule that put it there."""

    by_app: dict[str, dict[str, str]]  # app -> cluster -> rule

    def pairs(self) -> set[tuple[str, str]]:
        return {(app, cluster) for app, clusters in self.by_app.items() for cluster in clusters}

    def clusters_of(self, app: str) -> dict[str, str]:
        return self.by_app.get(app, {})

    def apps_on(self, cluster: str) -> list[str]:
        return sorted(app for app, clusters in self.by_app.items() if cluster in clusters)


class ClusterIndex:
    """Clusters by label, so a selector is evaluated with set operations instead of per-cluster loops."""

    def __init__(self, labelled: list[tuple[str, dict[str, str]]]):
        self.all = frozenset(name for name, _ in labelled)
        self.by_key: dict[str, set[str]] = {}
        self.by_pair: dict[tuple[str, str], set[str]] = {}
        for name, labels in labelled:
            for key, value in labels.items():
                self.by_key.setdefault(key, set()).add(name)
                self.by_pair.setdefault((key, value), set()).add(name)

    def _in(self, requirement: Requirement) -> set[str]:
        out: set[str] = set()
        for value in requirement.values:
            out |= self.by_pair.get((requirement.key, value), set())
        return out

    def select(self, selector: Selector) -> set[str]:
        result = set(self.all)
        for r in selector.requirements:
            if r.operator == "In":
                result &= self._in(r)
            elif r.operator == "NotIn":
                result -= self._in(r)
            elif r.operator == "Exists":
                result &= self.by_key.get(r.key, set())
            else:
                result -= self.by_key.get(r.key, set())
            if not result:
                break
        return result


def rule_apps(rules, apps) -> dict[str, set[str]]:
    """Rule name -> names of the apps it selects, from an index of apps by tag."""
    by_tag: dict = {}
    by_key: dict[str, set[str]] = {}
    for app in apps:
        for tag in app.tags:
            by_tag.setdefault(tag, set()).add(app.name)
            by_key.setdefault(tag.key, set()).add(app.name)
    out = {}
    for rule in rules:
        sets = [by_key.get(t.key, set()) if t.plain else by_tag.get(t, set()) for t in rule.app_tags]
        if not sets:
            out[rule.name] = set()
        elif rule.app_match == "any":
            out[rule.name] = set().union(*sets)
        else:
            out[rule.name] = set.intersection(*sets)
    return out


def placement_compute(van: VanSpec) -> Placement:
    """Evaluate the rules against cluster labels (first matching rule wins per app and cluster)."""
    ordered = rules_in_order(van.rules)
    index = ClusterIndex([(c.name, cluster_labels(van, c)) for c in van.clusters])
    cluster_order = [c.name for c in van.clusters]
    matching = {}
    for rule in ordered:
        chosen = index.select(rule_selector(van, rule))
        matching[rule.name] = [name for name in cluster_order if name in chosen]
    selected = rule_apps(ordered, van.apps)
    by_app: dict[str, dict[str, str]] = {app.name: {} for app in van.apps}
    for rule in ordered:
        clusters = matching[rule.name]
        for app_name in selected[rule.name]:
            placed = by_app[app_name]
            for cluster in clusters:
                if cluster not in placed:
                    placed[cluster] = rule.name
    return Placement(by_app)


class RuleFlag(NamedTuple):
    """Why a rule places nothing now: ``label`` is the badge ("matches nothing" or "overridden"), ``reason`` the sentence."""
    rule: str
    label: str
    reason: str


def unmatched_rules(van: VanSpec) -> list[RuleFlag]:
    """The rules that currently place nothing: allowed, but the editor flags them.

    A rule whose matches are all placed by earlier rules is "overridden", not "matches nothing": it matches, and
    would place those pairs if the earlier rule went away.
    """
    placement = placement_compute(van)
    used = {rule for clusters in placement.by_app.values() for rule in clusters.values()}
    out = []
    for rule in rules_in_order(van.rules):
        if rule.name in used:
            continue
        if not any(rule.selects_app(a) for a in van.apps):
            out.append(RuleFlag(rule.name, "matches nothing", "no app carries the rule's app tags"))
        elif not any(rule_selector(van, rule).matches(cluster_labels(van, c)) for c in van.clusters):
            out.append(RuleFlag(rule.name, "matches nothing", "no cluster of this VAN matches the rule's cluster selector"))
        else:
            out.append(RuleFlag(rule.name, "overridden", "every app and cluster it matches is already placed by an earlier rule"))
    return out


def application_name(app: AppSpec, cluster: ClusterSpec) -> str:
    """The Application ArgoCD generates for (app, cluster), as the template spells it."""
    return f"{app.token}-{cluster.token}"


@dataclass(frozen=True)
class PlacementDiff:
    added: list[tuple[str, str, str]]  # (Application name, app, cluster)
    removed: list[tuple[str, str, str]]
    before: Placement
    after: Placement


def placement_diff(before: VanSpec, after: VanSpec) -> PlacementDiff:
    """The Applications an edit adds and removes (what the rule editor previews before commit)."""
    def named(spec: VanSpec, placement: Placement) -> set[tuple[str, str, str]]:
        apps = {a.name: a for a in spec.apps}
        clusters = {c.name: c for c in spec.clusters}
        return {
            (application_name(apps[app], clusters[cluster]), app, cluster)
            for app, cluster in placement.pairs()
        }

    p_before, p_after = placement_compute(before), placement_compute(after)
    old, new = named(before, p_before), named(after, p_after)
    return PlacementDiff(added=sorted(new - old), removed=sorted(old - new), before=p_before, after=p_after)
