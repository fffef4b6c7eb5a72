"""Repair a model that failed its shape check, so its cross-field rules can still run and report too.

Bad keys are dropped (their defaults apply) and missing required keys get a stand-in; the loader then
reports only issues at key paths it has not reported already.
"""

from __future__ import annotations

import copy
from typing import Any

# Stand-ins for required keys that were missing or invalid, so the other rules of that model still run.
PLACEHOLDER = "placeholder"


def with_required_placeholders(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    filled = dict(data)
    if not isinstance(filled.get("name"), str):
        filled["name"] = PLACEHOLDER
    source = filled.get("model")
    if not isinstance(source, dict):
        filled["model"] = {"id": PLACEHOLDER}
    elif "id" not in source:
        filled["model"] = {**source, "id": PLACEHOLDER}
    return filled


_DROP = object()


def without(data: Any, locs: list[tuple[int | str, ...]]) -> Any:
    """A deep copy of ``data`` with the values at ``locs`` removed (so defaults apply).

    List items are marked first and dropped afterwards, so removing one does not shift the next loc.
    """
    pruned = copy.deepcopy(data)
    for loc in locs:
        parent = pruned
        for part in loc[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        if not loc:
            continue
        leaf = loc[-1]
        if isinstance(parent, dict) and leaf in parent:
            del parent[leaf]
        elif isinstance(parent, list) and isinstance(leaf, int) and 0 <= leaf < len(parent):
            parent[leaf] = _DROP
    return _drop_marked(pruned)


def _drop_marked(data: Any) -> Any:
    if isinstance(data, list):
        return [_drop_marked(item) for item in data if item is not _DROP]
    if isinstance(data, dict):
        return {key: _drop_marked(value) for key, value in data.items()}
    return data
