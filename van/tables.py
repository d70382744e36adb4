import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from portal.tables import PortalTable
from van.models import Cluster


class TagsColumn(tables.Column):
    def render(self, value):
        return format_html_join("", '<span class="tag">{}</span>', ((tag,) for tag in value))

    def value(self, value):
        return " ".join(value)


class ClusterTable(PortalTable):
    name = tables.Column(linkify=True)
    environment = tables.Column()
    provider = tables.Column()
    owner_team = tables.Column(verbose_name="Team")
    tags = TagsColumn(orderable=False)
    visibility = tables.Column()

    class Meta(PortalTable.Meta):
        model = Cluster
        fields = ("name", "environment", "provider", "owner_team", "tags", "visibility")

    def value_visibility(self, value):
        return value

    def render_visibility(self, value, record):
        return format_html('<span class="badge{}">{}</span>', " warn" if record.visibility == "private" else "", record.visibility)
