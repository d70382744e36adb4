"""Backstage's own published client (npm @backstage/catalog-client) against Wayline's /api/catalog/."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from portal.services import api_token_rotate

NODE_DIR = Path(__file__).resolve().parent / "node"


@pytest.fixture(scope="module")
def catalog_client_installed():
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node/npm are not installed: cannot run Backstage's catalog-client against Wayline")
    if not (NODE_DIR / "node_modules" / "@backstage" / "catalog-client").is_dir():
        result = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0:
            pytest.fail(f"npm install of @backstage/catalog-client failed:\n{result.stderr[-2000:]}")


def test_backstage_catalog_client_works_unchanged(catalog_client_installed, transactional_db, live_server, world,
                                                  catalog, tmp_path):
    from tests.catalog.conftest import GitRepo, component_yaml

    repo = GitRepo(tmp_path / "from-node")
    repo.write({"catalog-info.yaml": component_yaml("from-node", "payments")})
    repo.commit()
    env = {**os.environ, "WAYLINE_CATALOG_URL": f"{live_server.url}/api/catalog",
           "WAYLINE_TOKEN": api_token_rotate(actor=world.alice), "GIT_URL": repo.url}
    result = subprocess.run(["node", "client-check.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["page1"] == {"names": ["checkout"], "totalItems": 2, "hasNext": True}
    assert out["page2"] == {"names": ["indexer"], "hasPrev": True}
    assert out["search"] == ["checkout"]
    assert out["searchByName"] == ["ledger"]
    assert out["refreshed"] is True
    assert out["afterEntityRemove"] is None
    assert out["byRef"]["name"] == "checkout" and out["byRef"]["uid"] and out["byRef"]["etag"]
    assert "ownedBy group:default/payments" in out["byRef"]["relations"]
    assert out["missing"] is None
    root = out["ancestors"]["root"]
    assert root.startswith("location:default/generated-") and out["ancestors"]["kinds"] == ["Component", "Location"]
    assert out["ancestors"]["parents"] == [[root], []]
    assert out["locationByEntity"] == {"type": "url", "sameTarget": True}
    assert out["locationByMissing"] is None
    assert out["byRefs"] == ["ledger", None]
    assert out["legacy"] == ["payments", "search"]
    assert {"value": "Component", "count": 3} in out["facets"]
    assert out["streamed"] == ["checkout", "indexer", "ledger"]
    assert out["validate"]["valid"] is True and out["validate"]["invalid"] is False
    assert "lifecycle" in out["validate"]["message"]
    assert out["added"] == {"type": "url", "entities": ["from-node"]}
    assert "url" in out["locations"]
    assert out["queriedLocations"]["count"] == 1 and out["queriedLocations"]["total"] >= 2
    assert len(out["streamedLocations"]) == 1
    assert out["updated"] == {"sameId": True, "type": "url"}
    assert out["afterRemove"] is None
    # predicate queries (POST /entities/by-query, POST /entity-facets), paged through the client's own cursor routing
    assert out["byPredicate"] == {"first": ["indexer"], "total": 2, "rest": ["checkout"]}
    assert out["streamedByPredicate"] == ["checkout", "indexer"]
    assert out["facetsByPredicate"] == [{"value": "service", "count": 2}, {"value": "library", "count": 1}]
    assert out["legacyPage"] == ["checkout", "indexer"]
    assert out["byName"] == "ledger"
    assert out["locationById"] is True and out["locationByRef"] is True
    assert out["analyzed"] == [{"name": "from-node", "isRegistered": False, "type": "url"}]
    assert out["analyzedAgain"] == [True]
