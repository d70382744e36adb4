import django_tables2 as tables
from catalog.models import Location
from portal.tables import PortalTable


class LocationTable(PortalTable):
    target = tables.Column(linkify=lambda record: record.get_absolute_url(), verbose_name="Location",
                           attrs={"td": {"class": "free"}})
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
