import pytest

from catalog.demo import seed
from catalog.models import Entity, LocationError
from portal.models import Team

pytestmark = pytest.mark.django_db


def test_demo_catalog_imports_cleanly_and_maps_teams(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    from portal.demo import seed as portal_seed

    admin = portal_seed()
    seed(actor=admin)
    assert not [str(e) for e in LocationError.objects.all()]
    kinds = {kind: Entity.objects.filter(kind=kind).count() for kind in ("Domain", "System", "Component", "API", "Group", "User")}
    assert kinds["Domain"] >= 3 and kinds["System"] >= 4 and kinds["Component"] >= 12 and kinds["API"] >= 4
    checkout = Entity.objects.get(ref="component:default/checkout-service")
    assert checkout.owner_team == Team.objects.get(slug="payments")
    assert Entity.objects.get(ref="api:default/checkout-api").data["spec"]["definition"].startswith("openapi")
    # Payments' private location: its entities are private to Payments.
    fraud = Entity.objects.get(ref="component:default/fraud-scoring")
    assert (fraud.visibility, fraud.owner_team, fraud.location.visibility) == ("private", checkout.owner_team, "private")
    assert fraud.location.path == "payments-private/catalog-info.yaml" and not fraud.location.is_directory
    seed(actor=admin)  # idempotent: nothing changes on a second run
    assert Entity.objects.filter(kind="Component").count() == kinds["Component"]
