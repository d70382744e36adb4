from django.db import migrations

DEFAULT_ENVIRONMENTS = [
    ("dev", "Dev", False),
    ("qa", "QA", False),
    ("staging", "Staging", False),
    ("prod", "Prod", True),
]


def create_environments(apps, schema_editor):
    Environment = apps.get_model("gitops", "Environment")
    for order, (slug, name, protected) in enumerate(DEFAULT_ENVIRONMENTS):
        Environment.objects.get_or_create(slug=slug, defaults={"name": name, "order": order * 10, "requires_approval": protected})


class Migration(migrations.Migration):
    dependencies = [("gitops", "0001_initial")]

    operations = [migrations.RunPython(create_environments, migrations.RunPython.noop)]
