"""Validators for what reaches git or the network: repository URLs, branch names and host names.

A branch name is later an argument of git commands; one git would read as an
option (``--upload-pack=...``) or refuse as a ref must never be stored.
"""
from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

_REMOTE_URL = re.compile(r"^(https|ssh|git)://[^/\s]+/\S*$")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[^/\s]\S*$")
# git check-ref-format: no control characters, space, ~ ^ : ? * [ \ anywhere, no "..", "@{" or "//".
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def is_remote_git_url(target: str) -> bool:
    """https://, ssh://, git:// or scp-like ``user@host:path``: not a path on this server."""
    target = target.strip()
    return bool(_REMOTE_URL.match(target) or _SCP_LIKE.match(target))


def git_url_validator(value: str) -> None:
    """A repository git can reach: https://, ssh://, git://, ``user@host:path``, file:// or an absolute path."""
    if is_remote_git_url(value) or re.match(r"^(file://)?/\S", value.strip()):
        return
    raise ValidationError(
        "Enter a git repository URL (https://host/path, ssh://host/path, git://host/path or user@host:path), "
        "or an absolute path or file:// URL of a repository on this server.", code="invalid")


def git_branch_validator(value: str) -> None:
    """A branch name git accepts (``git check-ref-format --branch``), which no git command can read as an option."""
    problem = None
    if value.startswith("-"):
        problem = "may not start with '-'"
    elif _BRANCH_FORBIDDEN.search(value):
        problem = "may not contain spaces, control characters, ~ ^ : ? * [ \\, '..', '@{' or '//'"
    elif value in ("HEAD", "@") or value.startswith("/") or value.endswith(("/", ".")):
        problem = "may not be HEAD or @, or start with '/' or end with '/' or '.'"
    elif any(part.startswith(".") or part.endswith(".lock") for part in value.split("/")):
        problem = "may not have a part that starts with '.' or ends with '.lock'"
    if problem:
        raise ValidationError(f"Not a valid branch name: {value!r} {problem}.", code="invalid")


_HOST_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST_NAME = RegexValidator(rf"^(?=.{{1,253}}$){_HOST_LABEL}(\.{_HOST_LABEL})*\.?$")


def host_validator(value: str) -> None:
    """A DNS host name or an IP address (e.g. where edges' routers reach a VAN's hub)."""
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    try:
        _HOST_NAME(value)
    except ValidationError:
        raise ValidationError("Enter a host name (such as skupper.hub.example.net) or an IP address.", code="invalid") from None
