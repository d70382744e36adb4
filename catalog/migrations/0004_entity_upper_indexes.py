"""PostgreSQL only: indexes on the upper-cased columns the Backstage API filters on.

``filter=kind=component`` compares case-insensitively (``UPPER(kind) = UPPER(...)``).
Without an index on that expression PostgreSQL has neither a way to find the rows
nor statistics to estimate how many match, so it guessed one row and sorted a full
scan instead of walking the ``ref`` index for one page. (SQLite compares with LIKE.)
"""
from django.db import migrations

COLUMNS = ("kind", "namespace", "name", "type", "lifecycle")


def _indexes():
    from django.db.models import Index
    from django.db.models.functions import Upper

    return [Index(Upper(column), name=f"catalog_entity_upper_{column}") for column in COLUMNS]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in _indexes():
            schema_editor.add_index(apps.get_model("catalog", "Entity"), index)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in _indexes():
            schema_editor.remove_index(apps.get_model("catalog", "Entity"), index)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_location_entities_processed")]

    operations = [migrations.RunPython(create, drop)]
