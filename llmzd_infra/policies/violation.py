"""The result of a policy rule: what is wrong, on which object, and how hard it blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["mandatory", "advisory"]


@dataclass(frozen=True)
class Violation:
    policy: str
    level: Level
    kind: str
    name: str
    message: str
