"""The key tables of ``docs/config.md``, read back so the docs, the models and the JSON Schema stay in step."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REFERENCE_DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"
STACK_TABLE, MODEL_TABLE = "Stack keys", "Per-model keys (`llmzd:models[i].…`)"
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class ReferenceRow:
    keys: tuple[str, ...]  # dotted key paths below the table's root; a path ending in ".*" covers a whole object
    default: str
    meaning: str


def reference_rows(doc: Path = REFERENCE_DOC) -> dict[str, list[ReferenceRow]]:
    """Rows of the two key tables by table heading: stack keys (without ``llmzd:``) and per-model keys."""
    tables: dict[str, list[ReferenceRow]] = {STACK_TABLE: [], MODEL_TABLE: []}
    heading, in_table = None, False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
        elif heading in tables and line.startswith("|"):
            in_table = True
            if line.startswith("| `"):
                key_cell, default, meaning = (cell.strip() for cell in line.strip("|").split(" | ", 2))
                tables[heading].append(ReferenceRow(_expand(key_cell), default, _LINK.sub(r"\1", meaning).strip()))
        elif in_table:  # only the first table of a section lists keys (the next one is the probe size table)
            heading, in_table = None, False
    return tables


def _expand(cell: str) -> tuple[str, ...]:
    """```a.b.c` / `.d``` -> ``a.b.c``, ``a.b.d``; ```x.*` (same four keys)`` -> ``x.*``."""
    parts = re.findall(r"`([^`]+)`", cell)
    keys: list[str] = []
    for part in parts:
        part = part.removeprefix("llmzd:")
        if part.startswith(".") and keys:
            keys.append(keys[0].rsplit(".", 1)[0] + part)
        else:
            keys.append(part)
    return tuple(keys)


def description_for(rows: list[ReferenceRow], path: str) -> str | None:
    """The meaning of the row naming ``path`` exactly (wildcard rows describe their object as a whole)."""
    for row in rows:
        for key in row.keys:
            if key == path or key == f"{path}.*":
                return row.meaning
    return None
