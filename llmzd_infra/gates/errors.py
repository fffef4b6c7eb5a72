"""Errors the gates raise, and scrubbing of secrets from anything a person will read."""

from __future__ import annotations

from collections.abc import Iterable

_REDACTED = "<redacted>"
_MIN_SECRET_CHARS = 6  # shorter strings would redact ordinary words


class ClusterAccessError(Exception):
    """The kubeconfig could not be loaded or the API server refused or could not be reached.

    The message never carries kubeconfig content or credentials.
    """


class GateFailed(Exception):
    """A gate's check failed; ``str()`` is the full message for the person running ``pulumi up``."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, _REDACTED)
    return text


def excerpt(text: str, limit: int = 200) -> str:
    """One line, at most ``limit`` characters, for quoting a response body in a message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
