from __future__ import annotations

import json
import shutil
from pathlib import Path

import git
import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "backstage" / "examples"
# Backstage's verdicts on the examples; empty without the conformance data (its tests are then skipped).
VERDICTS = json.loads((EXAMPLES / "VERDICTS.json").read_text()) if (EXAMPLES / "VERDICTS.json").is_file() else []


class GitRepo:
    """A real git repository in a temp dir, for locations to clone."""

    def __init__(self, path: Path):
        self.path = path
        self.repo = git.Repo.init(path, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Test")
            config.set_value("user", "email", "test@example.com")

    @classmethod
    def with_files(cls, parent: Path, name: str, files: dict[str, str]) -> "GitRepo":
        """A new repository ``parent/name`` holding ``files`` in one commit."""
        repo = cls(parent / name)
        repo.write(files)
        repo.commit()
        return repo

    @property
    def url(self) -> str:
        return str(self.path)

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def commit(self, message: str = "change") -> str:
        self.repo.git.add("-A")
        self.repo.index.commit(message)
        return self.repo.head.commit.hexsha

    def remove(self, name: str) -> None:
        self.repo.index.remove([name], working_tree=True)


@pytest.fixture(autouse=True)
def allow_local_git(settings):
    """Tests use real git repositories in temp dirs, registered by team members too."""
    settings.CATALOG_ALLOW_LOCAL_GIT = True


@pytest.fixture
def git_repo(tmp_path):
    return GitRepo(tmp_path / "catalog-repo")


@pytest.fixture
def examples_repo(tmp_path):
    repo = GitRepo(tmp_path / "examples")
    shutil.copytree(EXAMPLES, repo.path, dirs_exist_ok=True)
    repo.commit("Backstage examples")
    return repo


def component_yaml(name: str, owner: str, *, type_: str = "service", lifecycle: str = "production",
                   tags: tuple[str, ...] = (), description: str = "", system: str = "") -> str:
    lines = [
        "apiVersion: backstage.io/v1alpha1", "kind: Component", "metadata:", f"  name: {name}",
        f"  description: {description or name + ' component'}", f"  tags: [{', '.join(tags)}]", "spec:",
        f"  type: {type_}", f"  lifecycle: {lifecycle}", f"  owner: {owner}",
    ]
    if system:
        lines.append(f"  system: {system}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def catalog(world, tmp_path):
    """The ``world`` teams as catalog Groups, and entities owned by each, imported from a real git repo."""
    from catalog import services

    repo = GitRepo(tmp_path / "world-catalog")
    repo.write({
        "org.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: payments}\nspec: {type: team, children: []}\n"
        "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: search}\nspec: {type: team, children: []}\n",
        "checkout.yaml": component_yaml("checkout", "payments", tags=("python", "payments"), description="Takes the money",
                                        system="shop"),
        "ledger.yaml": component_yaml("ledger", "group:default/payments", type_="library", lifecycle="experimental"),
        "indexer.yaml": component_yaml("indexer", "search", tags=("java",), description="Builds the search index"),
        "systems.yaml": "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: shop}\nspec: {owner: payments}\n",
    })
    repo.commit()
    # The organisation's directory too (its Groups are the world's teams), as a platform admin would mark it.
    location = services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", directory=True,
                                          refresh=False)
    report = services.location_refresh(actor=None, location_id=location.pk)
    assert report.errors == 0, report.error_list
    return location
