"""Field-level differences between two Kubernetes objects, as dotted paths with old and new values.

Lists of named items (containers, env, volumes, ports) are matched by ``name`` and shown as
``containers[vllm]``, so inserting an env var is one added entry rather than every later index changing;
lists of plain values (args, command) are compared whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any

    @property
    def added(self) -> bool:
        return self.old is MISSING

    @property
    def removed(self) -> bool:
        return self.new is MISSING


def key_segment(key: str) -> str:
    """``.replicas``; keys with dots or slashes are quoted: ``["llmzd.io/revision"]``."""
    return f".{key}" if _PLAIN_KEY.match(key) else f'["{key}"]'


def changes_between(old: Any, new: Any, prefix: str = "") -> list[FieldChange]:
    """Every leaf difference, e.g. ``spec.template.spec.containers[vllm].image: a -> b``."""
    return _diff(old, new, prefix)


def _diff(old: Any, new: Any, path: str) -> list[FieldChange]:
    if old == new:
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return [
            change
            for key in sorted({*old, *new}, key=str)
            for change in _diff(old.get(key, MISSING), new.get(key, MISSING), path + key_segment(str(key)))
        ]
    if isinstance(old, list) and isinstance(new, list):
        if _named_items(old) and _named_items(new):
            old_items = {item["name"]: item for item in old}
            new_items = {item["name"]: item for item in new}
            ordered = list(old_items) + [name for name in new_items if name not in old_items]
            return [
                change
                for name in ordered
                for change in _diff(
                    old_items.get(name, MISSING), new_items.get(name, MISSING), f"{path}[{name}]"
                )
            ]
        if _all_mappings(old) and _all_mappings(new) and len(old) == len(new):
            return [
                change
                for index, (a, b) in enumerate(zip(old, new, strict=True))
                for change in _diff(a, b, f"{path}[{index}]")
            ]
    return [FieldChange(path.removeprefix("."), old, new)]


def _all_mappings(items: list[Any]) -> bool:
    return all(isinstance(item, Mapping) for item in items)


def _named_items(items: list[Any]) -> bool:
    names = [item.get("name") for item in items if isinstance(item, Mapping)]
    all_named = len(names) == len(items) and all(isinstance(n, str) for n in names)
    return all_named and len(set(names)) == len(names)


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` itself or a field inside it."""
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))
