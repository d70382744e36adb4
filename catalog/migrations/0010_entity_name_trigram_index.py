"""PostgreSQL only: a trigram index for a full-text filter on ``metadata.name`` (``fullTextFilterFields``).

Such a filter is a substring match, ``UPPER(name) LIKE UPPER('%term%')`` (``icontains``), which no B-tree serves:
at 100,000 entities it read the whole table (76 ms). ``pg_trgm`` is a trusted extension from PostgreSQL 13 on, so
the database's owner may create it; where it cannot be created the migration fails with PostgreSQL's reason.
SQLite keeps scanning.
"""
from django.db import migrations

INDEX_NAME = "catalog_entity_name_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # The expression Django writes for name__icontains, so PostgreSQL uses the index.
        schema_editor.execute(f'CREATE INDEX {INDEX_NAME} ON catalog_entity USING gin ((UPPER("name"::text)) gin_trgm_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_scaffolder_runs")]

    operations = [migrations.RunPython(create, drop)]
