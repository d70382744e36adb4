"""Several workers refreshing different locations at once: no entity or relation is duplicated or lost, and two
locations racing for one ref leave it with exactly one of them and a conflict error on the other."""
from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Count

from catalog import services
from catalog.models import Entity, LocationError, Relation
from tests.catalog.conftest import GitRepo, component_yaml

pytestmark = pytest.mark.django_db(transaction=True)

LOCATIONS = 4
PER_LOCATION = 60


def _refresh_all_at_once(location_ids: list[int]) -> list:
    """Each location refreshed by its own thread (its own database connection), started together."""
    from django.db import connections

    barrier = threading.Barrier(len(location_ids))
    outcomes: list = [None] * len(location_ids)

    def run(index: int, location_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = services.location_refresh(actor=None, location_id=location_id)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, pk)) for i, pk in enumerate(location_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


def test_workers_refreshing_different_locations_at_once_lose_and_duplicate_nothing(tmp_path, settings):
    settings.CATALOG_PARSE_PROCESSES = 1  # forking from a multi-threaded process is refused anyway
    locations = []
    for n in range(LOCATIONS):
        repo = GitRepo(tmp_path / f"repo-{n}")
        files = {f"c{i}.yaml": component_yaml(f"l{n}-c{i}", f"team-{n}", system=f"sys-{(n + 1) % LOCATIONS}")
                 for i in range(PER_LOCATION)}
        # the same ref in every location: exactly one of them keeps it
        files["shared.yaml"] = component_yaml("shared", f"team-{n}")
        repo.write(files)
        repo.commit()
        locations.append(services.location_register(actor=None, type="git", target=repo.url, path="*.yaml",
                                                    refresh=False))
    outcomes = _refresh_all_at_once([location.pk for location in locations])
    failures = [o for o in outcomes if isinstance(o, Exception) or o is None or o.failure]
    assert not failures, failures

    assert Entity.objects.count() == LOCATIONS * PER_LOCATION + 1
    for location in locations:
        assert Entity.objects.filter(location=location, name__startswith="l").count() == PER_LOCATION
    holders = list(Entity.objects.filter(name="shared").values_list("location_id", flat=True))
    assert len(holders) == 1
    conflicts = LocationError.objects.filter(entity_ref="component:default/shared", code="conflict")
    assert sorted(conflicts.values_list("location_id", flat=True)) == sorted(
        location.pk for location in locations if location.pk != holders[0])
    # every entity's relations, once each: ownedBy and partOf per component
    assert Relation.objects.filter(type="ownedBy").count() == LOCATIONS * PER_LOCATION + 1
    assert Relation.objects.filter(type="partOf").count() == LOCATIONS * PER_LOCATION
    duplicates = Relation.objects.values("source_ref", "type", "target_ref").annotate(n=Count("pk")).filter(n__gt=1)
    assert not duplicates.exists()

    # Refreshed all at once again (unchanged), and then once more after the holder lets the shared ref go:
    outcomes = _refresh_all_at_once([location.pk for location in locations])
    assert not [o for o in outcomes if isinstance(o, Exception) or o.failure]
    assert Entity.objects.count() == LOCATIONS * PER_LOCATION + 1
    holder = next(location for location in locations if location.pk == holders[0])
    services.location_delete(actor=None, location=holder)
    rest = [location for location in locations if location.pk != holder.pk]
    outcomes = _refresh_all_at_once([location.pk for location in rest])
    assert not [o for o in outcomes if isinstance(o, Exception) or o.failure], outcomes
    assert Entity.objects.filter(name="shared").count() == 1
    assert Entity.objects.count() == (LOCATIONS - 1) * PER_LOCATION + 1
    assert connection.vendor in ("sqlite", "postgresql")


def test_an_entity_deleted_while_a_refresh_reads_comes_back_at_the_next_refresh(tmp_path, monkeypatch, world):
    """The refresh started from fingerprints that still held the file; the delete dropped it meanwhile. The refresh
    must not write it back, or the entity would stay gone until its file changed."""
    repo = GitRepo(tmp_path / "repo")
    repo.write({"a.yaml": component_yaml("a", "payments"), "b.yaml": component_yaml("b", "payments")})
    repo.commit()
    location = services.location_register(actor=world.alice, type="git", target=repo.url, path="*.yaml",
                                          owner_team=world.payments, refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    real = services.process_tree

    def reading_while_deleted(*args, **kwargs):
        result = real(*args, **kwargs)
        from django.db import connections

        def delete():
            try:
                services.entity_delete(actor=world.alice, obj=Entity.objects.get(name="a"))
            finally:
                connections.close_all()

        worker = threading.Thread(target=delete)
        worker.start()
        worker.join(timeout=60)
        return result

    monkeypatch.setattr(services, "process_tree", reading_while_deleted)
    report = services.location_refresh(actor=None, location_id=location.pk)
    assert not report.failure and not Entity.objects.filter(name="a").exists()
    monkeypatch.setattr(services, "process_tree", real)
    assert "a.yaml" not in services.Location.objects.get(pk=location.pk).fingerprints
    again = services.location_refresh(actor=None, location_id=location.pk)
    assert again.added == 1 and Entity.objects.filter(name="a").exists()
