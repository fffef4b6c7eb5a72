"""Short, safe renderings of field values for a PR comment."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from llmzd_infra.plan.field_diff import MISSING, FieldChange, under

VALUE_LIMIT = 60
HIDDEN = "(hidden)"
_SECRET_FIELDS = ("data", "stringData")


def format_value(value: Any, limit: int = VALUE_LIMIT) -> str:
    if value is MISSING:
        return "(absent)"
    if isinstance(value, str):
        if "\n" in value and len(value) > limit:
            digest = hashlib.sha256(value.encode()).hexdigest()[:8]
            return f"<{value.count(chr(10)) + 1} lines, sha256 {digest}>"
        text = value
    else:
        text = json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)
    return shorten(text, limit)


def shorten(text: str, limit: int = VALUE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_change(change: FieldChange, kind: str) -> str:
    """``old → new`` as Markdown; a Secret's data never leaves the machine, even as a placeholder."""
    if kind == "Secret" and any(under(change.path, field) for field in _SECRET_FIELDS):
        old, new = ("(absent)" if change.added else HIDDEN), ("(absent)" if change.removed else HIDDEN)
        return f"`{old}` → `{new}`"
    delta = list_delta(change.old, change.new)
    if delta is not None:
        return delta
    return f"`{code(format_value(change.old))}` → `{code(format_value(change.new))}`"


def list_delta(old: Any, new: Any) -> str | None:
    """For two lists of plain values (args, command): which items were added and removed."""
    if not (_plain_list(old) and _plain_list(new)):
        return None
    added = [str(item) for item in new if item not in old]
    removed = [str(item) for item in old if item not in new]
    parts = [f"added `{code(shorten(' '.join(added)))}`"] if added else []
    parts += [f"removed `{code(shorten(' '.join(removed)))}`"] if removed else []
    return "; ".join(parts) or "reordered"


def _plain_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(item, dict | list) for item in value)


def code(text: str) -> str:
    """Text safe inside a Markdown inline code span (a backtick would end it early)."""
    return text.replace("`", "'")
