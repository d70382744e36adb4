"""PostgreSQL only: a GIN index for catalog full-text search (SQLite searches with LIKE instead)."""
from django.db import migrations

INDEX_NAME = "catalog_entity_search_gin"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    # The same expression ``catalog.selectors.entity_search`` filters on, so PostgreSQL uses the index.
    return GinIndex(SearchVector("search_text", config="simple"), name=INDEX_NAME)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("catalog", "Entity"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("catalog", "Entity"), _index())


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
