"""A lease has one holder at a time; an expired or released lease goes to the next who asks."""
from __future__ import annotations

import threading
import time

import pytest

from portal.models import Lease

pytestmark = pytest.mark.django_db


def test_one_holder_renews_others_wait_until_it_expires():
    assert Lease.acquire("hub:1", "a", 30)
    assert not Lease.acquire("hub:1", "b", 30)
    assert Lease.acquire("hub:1", "a", 30)  # renewing
    assert Lease.holder_of("hub:1") == "a"
    Lease.objects.filter(name="hub:1").update(expires_at=Lease.objects.get(name="hub:1").acquired_at)  # a dead holder's lease ran out
    assert Lease.acquire("hub:1", "b", 30) and Lease.holder_of("hub:1") == "b"
    assert not Lease.acquire("hub:1", "a", 30)


def test_a_released_lease_is_free_at_once_and_only_its_holder_may_release_it():
    Lease.acquire("hub:2", "a", 30)
    Lease.release("hub:2", "b")
    assert Lease.holder_of("hub:2") == "a"
    Lease.release("hub:2", "a")
    assert Lease.holder_of("hub:2") == "" and Lease.acquire("hub:2", "b", 30)


def test_leases_are_per_name():
    assert Lease.acquire("hub:3", "a", 30) and Lease.acquire("hub:4", "b", 30)


def test_a_short_lease_expires_by_itself():
    assert Lease.acquire("hub:5", "a", 0.2)
    time.sleep(0.3)
    assert Lease.holder_of("hub:5") == "" and Lease.acquire("hub:5", "b", 30)


@pytest.mark.django_db(transaction=True)
def test_contenders_racing_for_a_new_lease_get_exactly_one_winner():
    from django.db import connection

    wins, barrier = [], threading.Barrier(4)

    def contend(name):
        try:
            barrier.wait()
            if Lease.acquire("hub:race", name, 30):
                wins.append(name)
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1 and Lease.holder_of("hub:race") == wins[0]
