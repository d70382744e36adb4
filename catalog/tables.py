import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from catalog.models import Entity, Location
from portal.tables import PortalTable


class EntityTable(PortalTable):
    name = tables.Column(linkify=lambda record: record.get_absolute_url(), verbose_name="Name")
    kind = tables.Column()
    type = tables.Column()
    owner = tables.Column()
    lifecycle = tables.Column()
    system = tables.Column(verbose_name="System")
    tags = tables.Column(orderable=False)
    description = tables.Column(orderable=False)

    class Meta(PortalTable.Meta):
        model = Entity
        fields = ("name", "kind", "type", "owner", "lifecycle", "system", "tags", "description")
        order_by = ("name",)
        empty_text = "No entities match."

    def render_name(self, record, value):
        if record.title and record.title != record.name:
            return format_html("{} <small class=\"muted\">{}</small>", record.title, record.name)
        return value

    def render_owner(self, value):
        return value.split(":", 1)[-1].removeprefix("default/")

    def render_system(self, value):
        return value.split(":", 1)[-1].removeprefix("default/")

    def render_tags(self, value):
        return format_html_join("", '<span class="tag">{}</span>', ((tag,) for tag in value or []))

    def render_description(self, value):
        return value if len(value) <= 120 else value[:117] + "…"

    def value_tags(self, value):
        return ",".join(value or [])


class LocationTable(PortalTable):
    target = tables.Column(linkify=lambda record: record.get_absolute_url(), verbose_name="Location")
    type = tables.Column()
    branch = tables.Column()
    path = tables.Column()
    owner_team = tables.Column(verbose_name="Team")
    status = tables.Column()
    entity_count = tables.Column(verbose_name="Entities")
    error_count = tables.Column(verbose_name="Errors")
    last_refreshed = tables.DateTimeColumn(format="Y-m-d H:i")

    class Meta(PortalTable.Meta):
        model = Location
        fields = ("target", "type", "branch", "path", "owner_team", "status", "entity_count", "error_count", "last_refreshed")
