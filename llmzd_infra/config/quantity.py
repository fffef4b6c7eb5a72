"""Kubernetes resource quantities (``500m``, ``16Gi``, ``1.5``) as exact numbers, to compare and derive sizes.

Suffixes as in k8s.io/apimachinery v0.34.4 pkg/api/resource/suffix.go: binary Ki..Ei (powers of 1024), decimal
m, k, M..E (powers of 1000). The config's ``Quantity`` pattern already limits the forms accepted.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1), "m": Decimal("0.001"), "k": Decimal(1000), "M": Decimal(1000) ** 2, "G": Decimal(1000) ** 3,
    "T": Decimal(1000) ** 4, "P": Decimal(1000) ** 5, "E": Decimal(1000) ** 6,
    "Ki": Decimal(1024), "Mi": Decimal(1024) ** 2, "Gi": Decimal(1024) ** 3, "Ti": Decimal(1024) ** 4,
    "Pi": Decimal(1024) ** 5, "Ei": Decimal(1024) ** 6,
}
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)", re.ASCII)
GIB = 1024**3


def parse_quantity(text: str) -> Decimal:
    match = _QUANTITY.fullmatch(text)
    if not match or match.group(2) not in _SUFFIXES:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]


def gibibytes(amount: float) -> str:
    """Bytes as a whole number of ``Gi``, rounded up."""
    return f"{max(math.ceil(amount / GIB), 1)}Gi"
