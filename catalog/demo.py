"""Demo data: the catalog in ``catalog/demo_catalog/`` as a local git repository, registered and ingested."""
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


def demo_repo_path() -> Path:
    return Path(settings.DATA_DIR) / "demo-catalog"


def build_demo_repo() -> Path:
    """Create (or update) the demo git repository from the shipped files; commit only when they changed."""
    path = demo_repo_path()
    repo = git.Repo(path) if (path / ".git").is_dir() else git.Repo.init(path, initial_branch="main")
    shutil.copytree(SOURCE, path, dirs_exist_ok=True)
    repo.git.add("-A")
    if repo.is_dirty(index=True, untracked_files=True) or not repo.head.is_valid():
        repo.git.commit("-m", "Demo catalog", "--allow-empty",
                        "--author", "Wayline demo <demo@wayline.example>",
                        env={"GIT_COMMITTER_NAME": "Wayline demo", "GIT_COMMITTER_EMAIL": "demo@wayline.example"})
    return path


def seed(*, actor=None):
    """Register the demo catalog (owned by the platform team) and ingest it now."""
    path = build_demo_repo()
    location = Location.objects.filter(type=LocationType.GIT, target=str(path), path="catalog-info.yaml").first()
    if location is None:
        location = services.location_register(
            actor=actor, type=LocationType.GIT, target=str(path), path="catalog-info.yaml",
            owner_team=Team.objects.filter(slug="platform").first(), directory=True, refresh=False,
        )
    services.location_refresh(actor=actor, location_id=location.pk)
    return actor
