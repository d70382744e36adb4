"""Validators for what reaches git, a rendered manifest or the network: repository URLs, revisions, paths
inside a repository, Helm charts, versions, image references, Helm values, Kubernetes names and host names.

Each is used where the value enters (a model field, so forms, the API and services all run it) and again by
whatever writes it out. A value one of them passes can be neither read as an option by git or a shell
(``--upload-pack=...``), nor escape its repository (``../../etc/passwd``), nor become markup in a page or a
control line in a manifest. Errors say what is allowed and quote the value (shortened when long).
"""
from __future__ import annotations

import ipaddress
import json
import math
import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

_REMOTE_URL = re.compile(r"^(https|ssh|git)://[^/\s]+/\S*$")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[^/\s]\S*$")
# Characters RFC 3986 never allows unescaped in a URL (and that are markup in a page).
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f<>\"`{}|\\^]")
_URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<authority>[^/?#]*)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# git check-ref-format: no control characters, space, ~ ^ : ? * [ \ anywhere, no "..", "@{" or "//".
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")

GIT_REMOTE_FORMS = "https://host/path, ssh://host/path, git://host/path or user@host:path"
_NOT_ONE = "is not one of these"


def shown(value) -> str:
    """``value`` as an error message quotes it: whole when short, else its start and its length."""
    text = str(value)
    return repr(text) if len(text) <= 80 else f"{text[:40]!r}… ({len(text)} characters)"


def _host_problem(host: str) -> str | None:
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host:
        return "has no host"
    if host.startswith("-"):
        return "has a host that starts with '-'"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        _HOST_NAME(host)
    except ValidationError:
        return f"has a host {shown(host)} that is neither a host name nor an IP address"
    return None


def _url_problem(value: str, *, password_ok: bool = False) -> str | None:
    """What makes ``value`` unsafe as a URL whatever its form; None if nothing."""
    if _URL_UNSAFE.search(value):
        return "may not contain spaces, control characters or < > \" ` { } | \\ ^"
    if value.startswith("-"):
        return "may not start with '-'"
    if not password_ok and _URL_WITH_PASSWORD.match(value):
        return "may not carry a password or token (it would be written to git and shown on pages as it is)"
    return None


def _authority_problem(value: str) -> str | None:
    """What is wrong with the host of a ``scheme://[user@]host[:port]/...`` URL; None if nothing."""
    host = _AUTHORITY.match(value)["authority"].rpartition("@")[2]
    if not host.endswith("]"):
        host = re.sub(r":[0-9]*$", "", host)
    return _host_problem(host)


def _remote_git_url_problem(value: str, *, password_ok: bool = False) -> str | None:
    if problem := _url_problem(value, password_ok=password_ok):
        return problem
    if _REMOTE_URL.match(value):
        return _authority_problem(value)
    if _SCP_LIKE.match(value):
        return _host_problem(value.partition("@")[2].partition(":")[0])
    return _NOT_ONE


def is_remote_git_url(target: str) -> bool:
    """https://, ssh://, git:// or scp-like ``user@host:path``: not a path on this server (whether or not it
    carries credentials, which the validators refuse)."""
    return _remote_git_url_problem(target.strip(), password_ok=True) is None


def git_url_validator(value: str) -> None:
    """A repository git can reach: https://, ssh://, git://, ``user@host:path``, file:// or an absolute path.

    For repositories a platform admin registers (GitOps repositories), so the server's own disk is allowed;
    a local path may hold spaces but no control characters.
    """
    value = value.strip()
    problem = _remote_git_url_problem(value)
    if problem and re.match(r"^(file://)?/\S", value):
        problem = "may not contain control characters" if _CONTROL.search(value) else None
    if problem:
        raise ValidationError(
            f"Enter a git repository URL ({GIT_REMOTE_FORMS}), or an absolute path or file:// URL of a repository "
            f"on this server: {shown(value)} {'is none of these' if problem == _NOT_ONE else problem}.", code="invalid")


def git_remote_url_validator(value: str) -> None:
    """A repository another machine reaches (ArgoCD's repo server): the remote forms of ``git_url_validator``.

    No path or file:// URL: on the repo server those would read its own disk.
    """
    if problem := _remote_git_url_problem(value):
        raise ValidationError(
            f"Enter a git repository URL ({GIT_REMOTE_FORMS}); paths and file:// URLs are not allowed: "
            f"{shown(value)} {problem}.", code="invalid")


def _helm_repo_url_problem(value: str) -> str | None:
    if problem := _url_problem(value):
        return problem
    if not re.match(r"^(https://[^/?#]+(/\S*)?|oci://[^/?#]+/\S+)$", value):
        return _NOT_ONE
    return _authority_problem(value)


def helm_repo_url_validator(value: str) -> None:
    """A Helm chart repository: https://host[/path], or an OCI registry oci://host/path."""
    if problem := _helm_repo_url_problem(value):
        raise ValidationError(
            f"Enter a Helm chart repository URL (https://host/path, or oci://registry/path for an OCI registry): "
            f"{shown(value)} {problem}.", code="invalid")


def source_repo_url_validator(value: str) -> None:
    """Where an app's manifests come from: a remote git repository or a Helm chart repository."""
    git_problem = _remote_git_url_problem(value)
    if git_problem is None or _helm_repo_url_problem(value) is None:
        return
    raise ValidationError(
        f"Enter a git repository URL ({GIT_REMOTE_FORMS}) or a Helm chart repository URL (https://host/path or "
        f"oci://registry/path); paths and file:// URLs are not allowed: {shown(value)} {git_problem}.", code="invalid")


def _branch_problem(value: str) -> str | None:
    if value.startswith("-"):
        return "may not start with '-'"
    if _BRANCH_FORBIDDEN.search(value):
        return "may not contain spaces, control characters, ~ ^ : ? * [ \\, '..', '@{' or '//'"
    if value in ("HEAD", "@") or value.startswith("/") or value.endswith(("/", ".")):
        return "may not be HEAD or @, or start with '/' or end with '/' or '.'"
    if any(part.startswith(".") or part.endswith(".lock") for part in value.split("/")):
        return "may not have a part that starts with '.' or ends with '.lock'"
    return None


def git_branch_validator(value: str) -> None:
    """A branch name git accepts (``git check-ref-format --branch``), which no git command can read as an option."""
    if problem := _branch_problem(value):
        raise ValidationError(f"Not a valid branch name: {shown(value)} {problem}.", code="invalid")


_REVISION = re.compile(r"^[A-Za-z0-9._/+@-]+\Z")


def git_revision_validator(value: str) -> None:
    """A revision to deploy: HEAD, a branch or tag name by the rules of ``git_branch_validator``, or a commit SHA.

    Stricter than git in one way: only letters, digits and . _ / + @ -, since the revision is written into
    manifests and templates (git itself would take ``<script>`` or ``{{``).
    """
    if value == "HEAD":
        return
    problem = _branch_problem(value)
    if not problem and not _REVISION.match(value):
        problem = "may contain only letters, digits and . _ / + @ -"
    if problem:
        raise ValidationError(
            f"Enter a git revision: HEAD, a branch or tag name (such as main or v1.2.0) or a commit SHA; "
            f"{shown(value)} {problem}.", code="invalid")


_PATH_PART = re.compile(r"^[A-Za-z0-9_@+=,.][A-Za-z0-9_@+=,.-]*\Z")


def repo_path_validator(value: str) -> None:
    """A directory inside a repository, relative to its root: ``deploy/prod``, or ``.`` for the root itself."""
    parts = value.removesuffix("/").split("/")
    problem = None
    if _CONTROL.search(value) or "\\" in value:
        problem = "may not contain control characters or '\\'"
    elif value.startswith("/"):
        problem = "must be relative to the repository's root (no leading '/')"
    elif ".." in parts:
        problem = "may not contain a '..' part (it would leave the repository)"
    elif "" in parts:
        problem = "may not contain '//'"
    elif not all(_PATH_PART.match(part) for part in parts):
        problem = "may contain only letters, digits and . _ - + @ = , between '/', and no part may start with '-'"
    if problem:
        raise ValidationError(
            f"Enter a path inside the repository, such as deploy/prod or . for its root: {shown(value)} {problem}.",
            code="invalid")


helm_chart_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z",
    "Enter a Helm chart name: letters, digits, '.', '_' and '-', starting with a letter or digit (such as ingress-nginx).",
)

version_validator = RegexValidator(
    r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}\Z",
    "Enter a version or image tag: letters, digits, '.', '_', '-' and '+', not starting with '.', '-' or '+', "
    "128 characters at most (such as 1.4.2).",
)

_IMAGE_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?"
_IMAGE_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(rf"^(?:{_IMAGE_DOMAIN}/)?{_IMAGE_PART}(?:/{_IMAGE_PART})*\Z")


def image_reference_validator(value: str) -> None:
    """An image name without tag or digest (``registry.example.net/team/app``): the version field sets the tag."""
    if len(value) > 255 or not _IMAGE.match(value):
        raise ValidationError(
            "Enter an image name without tag or digest, such as registry.example.net/team/app: lowercase letters, "
            f"digits and . _ - between '/', after an optional registry host[:port]/, 255 characters at most; "
            f"{shown(value)} is not one.", code="invalid")


HELM_VALUES_MAX_BYTES = 64 * 1024
HELM_VALUES_MAX_DEPTH = 32


def helm_values_validator(value) -> None:
    """Helm values: a mapping of string keys to strings, numbers, booleans, null, lists and mappings.

    Strings may hold newlines and tabs (multi-line config) but no other control characters; numbers are finite
    and integers fit in 64 bits; 32 levels deep and 64 KiB (as JSON) at most.
    """
    if not isinstance(value, dict):
        raise ValidationError("Enter Helm values as a mapping (a JSON object).", code="invalid")
    problems: list[str] = []

    def walk(node, where: str, depth: int) -> None:
        if problems:
            return
        if depth > HELM_VALUES_MAX_DEPTH:
            problems.append(f"{where} is nested more than {HELM_VALUES_MAX_DEPTH} levels deep")
        elif isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str) or not key or _CONTROL.search(key):
                    problems.append(f"{where} has a key {shown(key)}; keys are non-empty strings without control characters")
                    return
                walk(item, f"{where}.{key}", depth + 1)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]", depth + 1)
        elif isinstance(node, str):
            if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", node):
                problems.append(f"{where} contains a control character (only newlines and tabs are allowed)")
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, int):
            if not -2 ** 63 <= node < 2 ** 63:
                problems.append(f"{where} is an integer beyond 64 bits")
        elif isinstance(node, float):
            if not math.isfinite(node):
                problems.append(f"{where} is not a finite number")
        else:
            problems.append(f"{where} is a {type(node).__name__}, which Helm values cannot hold")

    walk(value, "values", 0)
    if not problems and len(json.dumps(value, ensure_ascii=False).encode()) > HELM_VALUES_MAX_BYTES:
        problems.append(f"values are larger than {HELM_VALUES_MAX_BYTES // 1024} KiB as JSON")
    if problems:
        raise ValidationError(f"Enter Helm values as a JSON object of strings, numbers, booleans, null, lists and "
                              f"objects: {problems[0]}.", code="invalid")


dns_label_validator = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z",
    "Use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS label).",
)


def kubernetes_api_url_validator(value: str) -> None:
    """A Kubernetes API server: http(s)://host[:port][/path], no credentials, query or fragment."""
    problem = _url_problem(value)
    if not problem:
        problem = _authority_problem(value) if re.match(r"^https?://[^/?#@]+(/[^?#]*)?$", value) else (
            "is not one (or carries user@, a query or a fragment)")
    if problem:
        raise ValidationError(
            f"Enter the API server's URL, https://host[:port][/path] (or http://): {shown(value)} {problem}.", code="invalid")


_HOST_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST_NAME = RegexValidator(rf"^(?=.{{1,253}}\Z){_HOST_LABEL}(\.{_HOST_LABEL})*\.?\Z")


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


def grafana_url_validator(value: str) -> None:
    """A Grafana server: https://host[:port][/path] (http:// too, for a lab), no credentials, query or fragment. It is
    embedded in pages (frame-src) and called with a token, so nothing else will do."""
    problem = _url_problem(value)
    if not problem:
        problem = _authority_problem(value) if re.match(r"^https?://[^/?#@]+(/[^?#]*)?$", value) else (
            "is not one (or carries user@, a query or a fragment)")
    if problem:
        raise ValidationError(f"Enter Grafana's URL, https://host[:port][/path]: {shown(value)} {problem}.", code="invalid")
