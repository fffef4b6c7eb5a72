"""Read Kubernetes object fields tolerantly.

The rules run on plain dicts (offline render) and on Pulumi's policy proxies (``pulumi preview``), which are
``Mapping``/``Sequence`` but not ``dict``/``list``; so everything here checks the abstract types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EMPTY: Mapping[str, Any] = {}


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else EMPTY


def sequence(value: Any) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return ()


def dig(obj: Any, *path: str) -> Any:
    """The value at ``path`` or None when any step is missing or not a mapping."""
    current: Any = obj
    for key in path:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return current


def object_name(obj: Mapping[str, Any]) -> str:
    return str(dig(obj, "metadata", "name") or "<unnamed>")


def as_int(value: Any) -> int | None:
    """Kubernetes accepts counts as ints or numeric strings ("1"); anything else is not a count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
