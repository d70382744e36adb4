"""Top-level navigation. Apps add their pages here, in the order users meet them."""
from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    section: str  # URL namespace that marks the item as current


NAVIGATION = (
    NavItem("Catalog", "catalog:entity_list", "catalog"),
    NavItem("Create", "catalog:template_list", "create"),
    NavItem("VANs", "van:van_list", "van"),
    NavItem("Rules", "van:rule_list", "rule"),
    NavItem("Clusters", "van:cluster_list", "cluster"),
    NavItem("Apps", "van:app_list", "app"),
    NavItem("Add-ons", "addons:addon_list", "addons"),
    NavItem("Changes", "gitops:changeset_list", "gitops"),
)
