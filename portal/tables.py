import django_tables2 as tables

from portal.models import AuditEvent, Team


class PortalTable(tables.Table):
    """Base table: accessible markup and htmx-driven sorting/pagination (see templates/portal/inc/table.html)."""

    class Meta:
        template_name = "portal/inc/table.html"
        attrs = {"class": "table"}


class TeamTable(PortalTable):
    name = tables.Column(linkify=True)
    slug = tables.Column()
    member_count = tables.Column(verbose_name="Members")
    email = tables.EmailColumn()

    class Meta(PortalTable.Meta):
        model = Team
        fields = ("name", "slug", "member_count", "email")


class AuditEventTable(PortalTable):
    timestamp = tables.DateTimeColumn(format="Y-m-d H:i:s")
    actor_name = tables.Column(verbose_name="Who")
    action = tables.Column()
    object_repr = tables.Column(verbose_name="Object")
    team = tables.Column()

    class Meta(PortalTable.Meta):
        model = AuditEvent
        fields = ("timestamp", "actor_name", "action", "object_repr", "team")
