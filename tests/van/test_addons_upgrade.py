"""A new Wayline release pins new add-on versions: ``manage.py addons_upgrade`` shows each VAN's diff first, and
proposes it (one change set per add-on, reviewed like any change) only when asked."""
from __future__ import annotations

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from addons import registry
from portal.gitops.models import ChangeSet, ManagedFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def next_release(tmp_path, monkeypatch):
    """This Wayline's definitions with Grafana's chart pinned one version on, as the next release would ship them."""
    folder = tmp_path / "definitions"
    shutil.copytree(registry.DEFINITIONS_DIR, folder)
    grafana = folder / "grafana.yaml"
    text = grafana.read_text()
    assert "version: 8.5.2" in text
    grafana.write_text(text.replace("version: 8.5.2", "version: 8.5.3"))
    registry.builtins.cache_clear()
    monkeypatch.setattr(registry, "DEFINITIONS_DIR", folder)
    yield
    registry.builtins.cache_clear()


def run(*args) -> str:
    out = io.StringIO()
    call_command("addons_upgrade", *args, stdout=out)
    return out.getvalue()


def test_the_diff_is_shown_first_and_proposed_only_when_asked(van_world, next_release, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    path = "addons/demo/grafana/argocd/grafana.yaml"
    assert 'targetRevision: "8.5.2"' in ManagedFile.objects.get(path=path).content
    before = ChangeSet.objects.count()
    shown = run()
    assert "VAN demo, add-on grafana: 1 file(s) change" in shown
    assert '-        targetRevision: "8.5.2"' in shown and '+        targetRevision: "8.5.3"' in shown
    assert "add-on prometheus" not in shown  # only what changes
    assert ChangeSet.objects.count() == before and "Nothing was written" in shown
    with django_capture_on_commit_callbacks(execute=True):
        proposed = run("--propose", "--van", "demo")
    assert ChangeSet.objects.count() == before + 1
    change = ChangeSet.objects.latest("pk")
    assert change.owner_label == "add-on grafana of VAN demo" and change.author is None and change.status == "applied"
    assert f"proposed change set {change.pk}" in proposed
    assert 'targetRevision: "8.5.3"' in ManagedFile.objects.get(path=path).content
    assert "already match" in run()


def test_an_unknown_van_is_an_error(van_world):
    with pytest.raises(CommandError, match="no VAN nowhere"):
        run("--van", "nowhere")
