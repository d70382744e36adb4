import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from portal.tables import PortalTable
from van.models import App, Cluster, DistributionRule, Van


class TagsColumn(tables.Column):
    def render(self, value):
        return format_html_join("", '<span class="tag">{}</span>', ((tag,) for tag in value))

    def value(self, value):
        return " ".join(value)


class _VisibilityMixin:
    def value_visibility(self, value):
        return value

    def render_visibility(self, value, record):
        return format_html('<span class="badge{}">{}</span>', " warn" if record.visibility == "private" else "", record.visibility)


class ClusterTable(_VisibilityMixin, PortalTable):
    name = tables.Column(linkify=True)
    environment = tables.Column()
    provider = tables.Column()
    van = tables.Column(verbose_name="VAN")
    role = tables.Column()
    owner_team = tables.Column(verbose_name="Team")
    tags = TagsColumn(orderable=False)
    visibility = tables.Column()

    class Meta(PortalTable.Meta):
        model = Cluster
        fields = ("name", "environment", "provider", "van", "role", "owner_team", "tags", "visibility")

    def render_van(self, value, record):
        """A VAN the reader may not see reads as none (``van_visible`` from ``cluster_list``)."""
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value) if record.van_visible else self.default

    def value_van(self, value, record):
        return str(value) if record.van_visible else ""

    def render_role(self, value, record):
        return value if record.van_visible else self.default

    def value_role(self, value, record):
        return value if record.van_visible else ""


class VanTable(_VisibilityMixin, PortalTable):
    name = tables.Column(linkify=True)
    reachability = tables.Column()
    hub_host = tables.Column(verbose_name="Hub address")
    edge_count = tables.Column(verbose_name="Clusters", orderable=True)
    owner_team = tables.Column(verbose_name="Team")
    visibility = tables.Column()

    class Meta(PortalTable.Meta):
        model = Van
        fields = ("name", "reachability", "hub_host", "edge_count", "owner_team", "visibility")


class AppTable(_VisibilityMixin, PortalTable):
    name = tables.Column(linkify=True)
    source_kind = tables.Column(verbose_name="Source")
    namespace = tables.Column()
    version = tables.Column()
    tags = TagsColumn(orderable=False)
    owner_team = tables.Column(verbose_name="Team")
    visibility = tables.Column()

    class Meta(PortalTable.Meta):
        model = App
        fields = ("name", "source_kind", "namespace", "version", "tags", "owner_team", "visibility")


class RuleTable(PortalTable):
    name = tables.Column(linkify=True)
    van = tables.Column(verbose_name="VAN", linkify=True)
    order = tables.Column()
    app_tags = TagsColumn(orderable=False, verbose_name="App tags")
    cluster_selector = tables.Column(verbose_name="Cluster selector")
    sync = tables.Column()

    class Meta(PortalTable.Meta):
        model = DistributionRule
        fields = ("name", "van", "order", "app_tags", "cluster_selector", "sync")
