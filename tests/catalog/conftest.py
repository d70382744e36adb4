from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "backstage" / "examples"
if not EXAMPLES.is_dir():
    EXAMPLES = Path("/work/shared/conformance/backstage/examples")


class GitRepo:
    """A real git repository in a temp dir, for locations to clone."""

    def __init__(self, path: Path):
        self.path = path
        self.repo = git.Repo.init(path, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "Test")
            config.set_value("user", "email", "test@example.com")

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


@pytest.fixture
def git_repo(tmp_path):
    return GitRepo(tmp_path / "catalog-repo")


@pytest.fixture
def examples_repo(tmp_path):
    repo = GitRepo(tmp_path / "examples")
    shutil.copytree(EXAMPLES, repo.path, dirs_exist_ok=True)
    repo.commit("Backstage examples")
    return repo
