import os
from dataclasses import dataclass

import pytest

# live_server + sync Playwright touch the database from one thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_skipped_browser_tests: list[str] = []
_skipped_conformance_tests: list[str] = []


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


CONFORMANCE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared", "conformance")


def pytest_configure(config):
    # Generated manifests and ingested entities are checked against upstream data beside the checkout (CI lays it
    # out there and must run those tests); a fresh clone with nothing beside it skips them and says so at the end.
    if not os.path.isdir(CONFORMANCE) and os.environ.get("WAYLINE_REQUIRE_CONFORMANCE") == "1":
        raise pytest.UsageError(f"WAYLINE_REQUIRE_CONFORMANCE=1 but {CONFORMANCE} is missing: conformance tests may not be skipped")


def pytest_collection_modifyitems(config, items):
    if not os.path.isdir(CONFORMANCE):
        marker = pytest.mark.skip(reason=f"conformance test: {CONFORMANCE} is missing (../shared/conformance beside the checkout)")
        for item in items:
            if "conformance" in item.keywords:
                item.add_marker(marker)
                _skipped_conformance_tests.append(item.nodeid)
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("WAYLINE_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"WAYLINE_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: browser tests may not be skipped")
    marker = pytest.mark.skip(reason=f"browser test: {CHROMIUM} is missing (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(marker)
            _skipped_browser_tests.append(item.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _skipped_conformance_tests:
        terminalreporter.write_sep(
            "!",
            f"SKIPPED {len(_skipped_conformance_tests)} conformance tests: {CONFORMANCE} not found. "
            "Put the shared conformance data beside the checkout to run them (CI does).",
            yellow=True,
        )
    if _skipped_browser_tests:
        terminalreporter.write_sep(
            "!",
            f"SKIPPED {len(_skipped_browser_tests)} browser tests: {CHROMIUM} not found. "
            "Install Debian's chromium to run them (CI does).",
            yellow=True,
        )


@dataclass
class World:
    """Two teams and four kinds of user, built through the real services."""

    admin: object
    alice: object  # member of payments
    bob: object  # member of search
    carol: object  # admin of payments
    victor: object  # in no team: a read-only viewer
    payments: object
    search: object


@pytest.fixture
def world(db):
    from tests.factories import make_team, make_user

    admin = make_user("admin", superuser=True)
    alice, bob, carol, victor = (make_user(name) for name in ("alice", "bob", "carol", "victor"))
    payments = make_team("payments", members=[alice], admins=[carol], actor=admin)
    search = make_team("search", members=[bob], actor=admin)
    return World(admin, alice, bob, carol, victor, payments, search)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with no throttle history and no kept catalog counts (the caches are files shared by the
    whole run)."""
    from django.core.cache import caches

    for alias in ("default", "catalog"):
        caches[alias].clear()
