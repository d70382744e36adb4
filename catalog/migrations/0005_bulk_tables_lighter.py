# Lighter bulk-written tables: no varchar_pattern_ops index twins, no redundant indexes, no
# constraint triggers on the derived rows (relations, team grants). See catalog.models.entities.


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('catalog', '0004_entity_upper_indexes'),
        ('portal', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='entity',
            name='domain',
            field=models.CharField(blank=True, max_length=400),
        ),
        migrations.AlterField(
            model_name='entity',
            name='kind',
            field=models.CharField(max_length=63),
        ),
        migrations.AlterField(
            model_name='entity',
            name='lifecycle',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='entity',
            name='location',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='entities', to='catalog.location'),
        ),
        migrations.AlterField(
            model_name='entity',
            name='name',
            field=models.CharField(max_length=63),
        ),
        migrations.AlterField(
            model_name='entity',
            name='namespace',
            field=models.CharField(default='default', max_length=63),
        ),
        migrations.AlterField(
            model_name='entity',
            name='owner',
            field=models.CharField(blank=True, help_text='owner ref in lower case', max_length=400),
        ),
        migrations.AlterField(
            model_name='entity',
            name='owner_team',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='portal.team', verbose_name='owning team'),
        ),
        migrations.AlterField(
            model_name='entity',
            name='ref',
            field=models.CharField(help_text='kind:namespace/name in lower case', max_length=400),
        ),
        migrations.AlterField(
            model_name='entity',
            name='system',
            field=models.CharField(blank=True, max_length=400),
        ),
        migrations.AlterField(
            model_name='entity',
            name='type',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='entity',
            name='visibility',
            field=models.CharField(choices=[('public', 'Public (every signed-in user may read)'), ('private', 'Private (owning team only)')], default='public', max_length=16),
        ),
        migrations.AlterField(
            model_name='entitygroupobjectpermission',
            name='content_object',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, to='catalog.entity'),
        ),
        migrations.AlterField(
            model_name='entitygroupobjectpermission',
            name='group',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='auth.group'),
        ),
        migrations.AlterField(
            model_name='entitygroupobjectpermission',
            name='permission',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, to='auth.permission'),
        ),
        migrations.AlterField(
            model_name='relation',
            name='originating',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='emitted_relations', to='catalog.entity'),
        ),
        migrations.AlterField(
            model_name='relation',
            name='source_ref',
            field=models.CharField(max_length=400),
        ),
        migrations.AlterField(
            model_name='relation',
            name='target_ref',
            field=models.CharField(max_length=400),
        ),
        migrations.AddIndex(
            model_name='entity',
            index=models.Index(fields=['kind'], name='catalog_entity_kind'),
        ),
        migrations.AddIndex(
            model_name='entity',
            index=models.Index(fields=['namespace'], name='catalog_entity_namespace'),
        ),
        migrations.AddIndex(
            model_name='entity',
            index=models.Index(fields=['name'], name='catalog_entity_name'),
        ),
        migrations.AddIndex(
            model_name='entity',
            index=models.Index(fields=['type'], name='catalog_entity_type'),
        ),
        migrations.AddIndex(
            model_name='entity',
            index=models.Index(fields=['lifecycle'], name='catalog_entity_lifecycle'),
        ),
        migrations.AddIndex(
            model_name='entity',
            index=models.Index(fields=['owner'], name='catalog_entity_owner'),
        ),
        migrations.AddIndex(
            model_name='entity',
            index=models.Index(fields=['system'], name='catalog_entity_system'),
        ),
        migrations.AddIndex(
            model_name='relation',
            index=models.Index(fields=['source_ref'], name='catalog_relation_source'),
        ),
        migrations.AddIndex(
            model_name='relation',
            index=models.Index(fields=['target_ref'], name='catalog_relation_target'),
        ),
        migrations.AddConstraint(
            model_name='entity',
            constraint=models.UniqueConstraint(fields=('ref',), name='catalog_entity_ref_unique'),
        ),
    ]
