"""Read a pod template the way kubelet does, for tests: which ConfigMaps does it need?"""

from __future__ import annotations

from typing import Any

_CONFIG_MAP_KEYS = ("configMapRef", "configMapKeyRef", "configMap")


def config_map_names_read_by(template: dict[str, Any]) -> list[str]:
    """Every ConfigMap name anywhere in the template (envFrom, env valueFrom, volumes), with repeats.

    A blind walk over the whole template on purpose: a reference added in a new place is still found.
    """
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _CONFIG_MAP_KEYS and isinstance(value, dict):
                    found.append(value["name"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template)
    return found
