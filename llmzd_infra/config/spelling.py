"""Hints for unknown config keys that differ from a real key only in letter case (``max5XxRate``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel

from llmzd_infra.config.models import StackConfig


def case_only_respelling(loc: Sequence[int | str]) -> str | None:
    """The real key an unknown key at ``loc`` (a path from the stack root) differs from only in letter case."""
    if not loc or not isinstance(loc[-1], str):
        return None
    model = _model_at(StackConfig, loc[:-1])
    if model is None:
        return None
    written = loc[-1]
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key != written and key.casefold() == written.casefold():
            return key
    return None


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
