"""The installed package's version, for ``--version``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("llmzd")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"
