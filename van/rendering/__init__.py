"""Pure rendering of VANs into ArgoCD, Sealed Secrets and Skupper manifests (no database access)."""
from van.rendering.placement import Placement, PlacementDiff, appset_plans, cluster_labels, placement_compute, placement_diff, unmatched_rules
from van.rendering.render import RenderError, van_objects, van_render
from van.rendering.spec import AppSpec, ClusterSpec, Credentials, EdgeApi, EnvironmentOverride, LinkCA, RuleSpec, VanSpec, edge_api

__all__ = [
    "AppSpec", "ClusterSpec", "Credentials", "EdgeApi", "EnvironmentOverride", "LinkCA", "Placement", "RenderError", "RuleSpec",
    "VanSpec", "PlacementDiff", "appset_plans", "cluster_labels", "edge_api", "placement_compute", "placement_diff", "unmatched_rules", "van_objects", "van_render",
]
