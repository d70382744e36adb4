"""Entities' "last processed" becomes one stamp on their location.

Every refresh stamped all of a location's entities with the same time, which
rewrote every row (and every index entry) even when nothing changed.
"""
from django.db import migrations, models
from django.db.models import Max


def copy_stamps(apps, schema_editor):
    Entity = apps.get_model("catalog", "Entity")
    Location = apps.get_model("catalog", "Location")
    rows = Entity.objects.values("location_id").annotate(last=Max("processed")).filter(last__isnull=False)
    for row in rows:
        Location.objects.filter(pk=row["location_id"]).update(entities_processed=row["last"])


def copy_back(apps, schema_editor):
    Entity = apps.get_model("catalog", "Entity")
    Location = apps.get_model("catalog", "Location")
    for pk, stamp in Location.objects.filter(entities_processed__isnull=False).values_list("pk", "entities_processed"):
        Entity.objects.filter(location_id=pk).update(processed=stamp)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_entity_search_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="location",
            name="entities_processed",
            field=models.DateTimeField(blank=True, help_text="last time its entities were processed (one stamp for all of them: no row rewritten per refresh)", null=True),
        ),
        migrations.RunPython(copy_stamps, copy_back),
        migrations.RemoveField(
            model_name="entity",
            name="processed",
        ),
    ]
