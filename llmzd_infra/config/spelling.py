"""Hints for unknown config keys: the real key a misspelt one was most likely meant to be."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, get_args

from pydantic import BaseModel

from llmzd_infra.config.models import StackConfig


def case_only_respelling(loc: Sequence[int | str]) -> str | None:
    """The real key an unknown key at ``loc`` (a path from the stack root) differs from only in letter case."""
    written, known = _written_and_known(loc)
    if written is None:
        return None
    for key in known:
        if key != written and key.casefold() == written.casefold():
            return key
    return None


def closest_respelling(loc: Sequence[int | str]) -> str | None:
    """The real key nearest (by edit distance) to an unknown key at ``loc``, if one is near enough."""
    written, known = _written_and_known(loc)
    return None if written is None else closest_key(written, known)


def closest_key(written: str, known: Iterable[str]) -> str | None:
    """The known key within a few edits of ``written`` (letter case ignored); ties go to the first in order.

    The limit grows with the key's length (2 edits, 3 from 10 characters) so that short unrelated keys are not
    offered as fixes; Pulumi's own project-file check uses a fixed limit of 2 for the same purpose.
    """
    limit = 2 if len(written) < 10 else 3
    best: tuple[int, str] | None = None
    for key in sorted(known):
        distance = edit_distance(written.casefold(), key.casefold())
        if key != written and distance <= limit and (best is None or distance < best[0]):
            best = (distance, key)
    return None if best is None else best[1]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, one each."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _written_and_known(loc: Sequence[int | str]) -> tuple[str | None, list[str]]:
    if not loc or not isinstance(loc[-1], str):
        return None, []
    model = _model_at(StackConfig, loc[:-1])
    if model is None:
        return None, []
    return loc[-1], [field.alias or name for name, field in model.model_fields.items()]


def _model_at(root: type[BaseModel], path: Sequence[int | str]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int):
            continue  # a list index: the item model was already taken from the list's annotation
        field = _field(model, part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
        if model is None:
            return None
    return model


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The config model inside an annotation such as ``X``, ``X | None`` or ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for part in get_args(annotation):
        found = _model_in(part)
        if found is not None:
            return found
    return None
