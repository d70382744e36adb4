"""Demo data: the catalog in ``catalog/demo_catalog/`` as a local git repository, registered and ingested.

The root location is the organisation's directory (its Users carry ``wayline.io/username``, so they map to the
demo's portal users); ``payments-private/`` is a second, private location of the Payments team.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import git
from django.conf import settings

from catalog import services
from catalog.choices import LocationType
from catalog.models import Location
from portal.models import Team

SOURCE = Path(__file__).resolve().parent / "demo_catalog"
GOLDEN_PATHS = Path(__file__).resolve().parent / "golden_paths"  # the templates repository the demo registers


def demo_repo_path() -> Path:
    return Path(settings.DATA_DIR) / "demo-catalog"


def golden_paths_repo_path() -> Path:
    return Path(settings.DATA_DIR) / "golden-paths"


def build_demo_repo(source: Path = SOURCE, path: Path | None = None) -> Path:
    """Create (or update) a demo git repository from the shipped files; commit only when they changed."""
    path = path or demo_repo_path()
    repo = git.Repo(path) if (path / ".git").is_dir() else git.Repo.init(path, initial_branch="main")
    shutil.copytree(source, path, dirs_exist_ok=True)
    repo.git.add("-A")
    if repo.is_dirty(index=True, untracked_files=True) or not repo.head.is_valid():
        repo.git.commit("-m", "Demo catalog", "--allow-empty",
                        "--author", "Wayline demo <demo@wayline.example>",
                        env={"GIT_COMMITTER_NAME": "Wayline demo", "GIT_COMMITTER_EMAIL": "demo@wayline.example"})
    return path


# (path in the demo repository, owning team, visibility, directory): the organisation's directory first, then
# a private location of the Payments team that other teams cannot see.
LOCATIONS = [
    ("catalog-info.yaml", "platform", "public", True),
    ("payments-private/catalog-info.yaml", "payments", "private", False),
]


def seed(*, actor=None):
    """Register the demo catalog's locations and ingest them now (the directory first: it maps users to teams)."""
    path = build_demo_repo()
    for file, team, visibility, directory in LOCATIONS:
        location = Location.objects.filter(type=LocationType.GIT, target=str(path), path=file).first()
        if location is None:
            location = services.location_register(
                actor=actor, type=LocationType.GIT, target=str(path), path=file,
                owner_team=Team.objects.filter(slug=team).first(), visibility=visibility, directory=directory, refresh=False,
            )
        services.location_refresh(actor=actor, location_id=location.pk)
    golden = build_demo_repo(GOLDEN_PATHS, golden_paths_repo_path())
    location = Location.objects.filter(type=LocationType.GIT, target=str(golden), path="catalog-info.yaml").first()
    if location is None:
        location = services.location_register(
            actor=actor, type=LocationType.GIT, target=str(golden), path="catalog-info.yaml",
            owner_team=Team.objects.filter(slug="platform").first(), visibility="public", refresh=False)
    services.location_refresh(actor=actor, location_id=location.pk)
    return actor
