"""The Backstage schemas Wayline validates with are exactly the upstream ones in ../shared/conformance."""
from pathlib import Path

import pytest

pytestmark = pytest.mark.conformance

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "catalog" / "schemas"
UPSTREAM = ROOT.parent / "shared" / "conformance" / "backstage"


def test_shipped_schemas_match_the_conformance_copies():
    shipped = sorted(SHIPPED.glob("*.json"))
    assert {p.name for p in shipped} >= {"Entity.schema.json", "EntityMeta.schema.json", "Component.v1alpha1.schema.json",
                                         "Template.v1beta3.schema.json", "common.schema.json"}
    for path in shipped:
        assert path.read_bytes() == (UPSTREAM / path.name).read_bytes(), f"{path.name} differs from the conformance copy"
