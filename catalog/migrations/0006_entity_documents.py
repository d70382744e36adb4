# Entity documents and YAML sources move to a table of their own (see catalog.models.EntityDocument);
# existing rows are copied before the columns go.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_bulk_tables_lighter'),
    ]

    operations = [
        migrations.CreateModel(
            name='EntityDocument',
            fields=[
                ('entity', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='document', serialize=False, to='catalog.entity')),
                ('data', models.JSONField()),
                ('source_text', models.TextField(blank=True)),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO catalog_entitydocument (entity_id, data, source_text) "
            "SELECT id, data, source_text FROM catalog_entity",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveField(
            model_name='entity',
            name='data',
        ),
        migrations.RemoveField(
            model_name='entity',
            name='source_text',
        ),
    ]
