"""Rules take their rights from their VAN (no owner of their own); change sets and files get their VAN as owner."""
from django.db import migrations


def vans_own_their_gitops_rows(apps, schema_editor):
    """Existing change sets and managed files of a VAN (its message prefix, its folder) become owned by it."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Van = apps.get_model("van", "Van")
    ChangeSet = apps.get_model("gitops", "ChangeSet")
    ManagedFile = apps.get_model("gitops", "ManagedFile")
    content_type, _ = ContentType.objects.get_or_create(app_label="van", model="van")
    for van_id, name in Van.objects.values_list("pk", "name"):
        ChangeSet.objects.filter(owner_id__isnull=True, message__startswith=f"VAN {name}:").update(
            owner_type=content_type, owner_id=van_id, owner_label=f"VAN {name}")
        ManagedFile.objects.filter(owner_id__isnull=True, path__startswith=f"vans/{name}/").update(
            owner_type=content_type, owner_id=van_id)


class Migration(migrations.Migration):

    dependencies = [
        ("van", "0003_van_ports_and_hub_address_validated"),
        ("gitops", "0004_owners"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RemoveField(model_name="distributionrule", name="owner_team"),
        migrations.RemoveField(model_name="distributionrule", name="visibility"),
        migrations.RunPython(vans_own_their_gitops_rows, migrations.RunPython.noop),
    ]
