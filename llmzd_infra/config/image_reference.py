"""The image reference grammar of github.com/distribution/reference v0.6.0 (regexp.go), which container
runtimes use to parse ``image``: a repository with an optional registry host, and a tag or a digest.

Go's ``\\w`` is ASCII-only, so these patterns use ``re.ASCII`` and ``fullmatch``.
"""

from __future__ import annotations

import re

REPOSITORY_MAX = 255  # RepositoryNameTotalLengthMax
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

REPOSITORY = re.compile(_NAME, re.ASCII)
TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
# A sha256 digest is exactly 64 lowercase hex digits (github.com/opencontainers/go-digest, sha256 validation).
SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)


def is_digest(tag: str) -> bool:
    return SHA256_DIGEST.fullmatch(tag) is not None


def repository_problem(repository: str) -> str | None:
    if not repository:
        return "empty"
    if len(repository) > REPOSITORY_MAX:
        return f"longer than {REPOSITORY_MAX} characters"
    if ":" in repository.rsplit("/", 1)[-1] or "@" in repository:
        return "carries a tag or digest"
    if not REPOSITORY.fullmatch(repository):
        return "not a repository name"
    return None


def tag_problem(tag: str) -> str | None:
    if tag in ("", "latest"):
        return "not pinned"
    if is_digest(tag) or TAG.fullmatch(tag):
        return None
    return "not a tag or sha256 digest"


def image_reference(repository: str, tag: str) -> str:
    """``repo:tag``, or ``repo@sha256:<hex>`` for a digest (``repo:sha256:...`` is not a valid reference)."""
    separator = "@" if is_digest(tag) else ":"
    return f"{repository}{separator}{tag}"
