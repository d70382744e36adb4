"""Validators for git URLs and branch names, the branch rule checked against git itself."""
import subprocess

import pytest
from django.core.exceptions import ValidationError

from portal.validators import git_branch_validator, git_url_validator

BRANCHES = ["main", "release/1.2", "feature/x_y", "v1.0", "x@y", "ü-branch", "-x", "--upload-pack=touch /tmp/x", "a b",
            "a..b", "a@{b", "a//b", "/a", "a/", "a.", "a.lock", ".a", "a/.b", "a/b.lock/c", "HEAD", "a~1", "a^", "a:b",
            "a?b", "a*b", "a[b", "a\\b", "a\tb"]


@pytest.mark.parametrize("name", BRANCHES)
def test_branch_names_are_accepted_exactly_when_git_accepts_them(name):
    git_accepts = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True).returncode == 0
    try:
        git_branch_validator(name)
        accepted = True
    except ValidationError as exc:
        accepted = False
        assert repr(name) in exc.messages[0]  # the message names the value it refuses
    assert accepted == git_accepts


@pytest.mark.parametrize("url, ok", [
    ("https://git.example.net/team/gitops.git", True),
    ("ssh://git@git.example.net/team/gitops.git", True),
    ("git://git.example.net/gitops", True),
    ("git@github.com:acme/gitops.git", True),
    ("/srv/git/gitops.git", True),
    ("file:///srv/git/gitops.git", True),
    ("0", False),
    ("gitops.git", False),
    ("--upload-pack=touch /tmp/x", False),
    ("https://", False),
    ("ext::sh -c touch% /tmp/x", False),
])
def test_git_urls(url, ok):
    if ok:
        git_url_validator(url)
    else:
        with pytest.raises(ValidationError, match="Enter a git repository URL"):
            git_url_validator(url)
