"""Which ConfigMaps a pod template reads, and whether a ConfigMap is named after its content.

The plan reads renders of any commit, so this works on the rendered dicts alone (no import of the program).
"""

from __future__ import annotations

from typing import Any

CONFIG_HASH_ANNOTATION = "llmzd.io/config-hash"


def config_map_references(template: dict[str, Any]) -> set[str]:
    """Every ConfigMap name the pod template reads: envFrom, env valueFrom, volumes (plain and projected)."""
    spec = template.get("spec") or {}
    names: set[str] = set()
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for source in container.get("envFrom") or []:
            names.add((source.get("configMapRef") or {}).get("name"))
        for env in container.get("env") or []:
            names.add(((env.get("valueFrom") or {}).get("configMapKeyRef") or {}).get("name"))
    for volume in spec.get("volumes") or []:
        names.add((volume.get("configMap") or {}).get("name"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            names.add((source.get("configMap") or {}).get("name"))
    return {name for name in names if isinstance(name, str) and name}


def is_content_named(obj: dict[str, Any]) -> bool:
    """An immutable ConfigMap whose name ends in its own content hash: a data change can only be a new object."""
    metadata = obj.get("metadata") or {}
    data_hash = (metadata.get("annotations") or {}).get(CONFIG_HASH_ANNOTATION)
    name = str(metadata.get("name") or "")
    return (
        obj.get("kind") == "ConfigMap"
        and obj.get("immutable") is True
        and isinstance(data_hash, str)
        and bool(data_hash)
        and name.endswith(f"-{data_hash}")
    )
