"""Server-side apply of YAML manifests, and a few reads, against a real API server over plain HTTP calls.

The resource path of each kind comes from the API server's discovery documents, so CRDs (Argo's Rollout)
work like built-in kinds. Server-side apply is a PATCH with ``application/apply-patch+yaml`` and a field
manager (https://kubernetes.io/docs/reference/using-api/server-side-apply/).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

FIELD_MANAGER = "llmzd-e2e"
APPLY_PATCH = "application/apply-patch+yaml"
DISCOVERY_RETRY_S = 30.0


class ApplyError(RuntimeError):
    pass


@dataclass
class KubeApi:
    client: httpx.Client
    _resources: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)

    def _discover(self, api_version: str) -> None:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        response = self.client.get(base)
        if response.status_code == 404:
            return
        response.raise_for_status()
        for resource in response.json().get("resources") or []:
            if "/" not in resource["name"]:
                self._resources[(api_version, resource["kind"])] = (resource["name"], bool(resource["namespaced"]))

    def resource_path(self, api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
        """The REST path of a kind (a collection, or one object with ``name``), found by discovery."""
        deadline = time.monotonic() + DISCOVERY_RETRY_S
        while (api_version, kind) not in self._resources:
            self._discover(api_version)
            if (api_version, kind) in self._resources:
                break
            if time.monotonic() > deadline:  # a CRD just created takes a moment to be served
                raise ApplyError(f"the API server serves no {kind} in {api_version} (waited {DISCOVERY_RETRY_S:g} s)")
            time.sleep(0.5)
        plural, namespaced = self._resources[(api_version, kind)]
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        scope = f"/namespaces/{namespace}" if namespaced and namespace else ""
        return f"{base}{scope}/{plural}" + (f"/{name}" if name else "")

    def apply(
        self, obj: dict[str, Any], *, dry_run: bool = False, field_manager: str = FIELD_MANAGER,
        ignore_changes: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Server-side apply; ``ignore_changes`` paths are handled as pulumi-kubernetes does for the program's
        ``ignoreChanges`` (see ``without_ignored_fields``)."""
        metadata = obj.get("metadata") or {}
        path = self.resource_path(obj["apiVersion"], obj["kind"], metadata.get("namespace"), metadata["name"])
        if ignore_changes:
            live = self.get(obj["apiVersion"], obj["kind"], metadata.get("namespace"), metadata["name"])
            if live is not None:
                obj = without_ignored_fields(obj, live, ignore_changes, field_manager)
        params = {"fieldManager": field_manager, "force": "true"}
        if dry_run:
            params["dryRun"] = "All"
        response = self.client.patch(
            path, params=params, content=yaml.safe_dump(obj).encode(), headers={"Content-Type": APPLY_PATCH}
        )
        if response.status_code >= 400:
            raise ApplyError(f"apply {obj['kind']} {metadata.get('namespace')}/{metadata['name']}: "
                             f"HTTP {response.status_code}: {_message(response)}")
        return dict(response.json())

    def apply_all(
        self, objects: Iterable[dict[str, Any]], *, ignore_changes: Callable[[dict[str, Any]], Sequence[str]] | None
        = None, **kwargs: Any,
    ) -> list[dict[str, Any]]:
        # Namespaces first, as kubectl does: everything else may live in one.
        ordered = sorted(objects, key=lambda o: o.get("kind") not in ("Namespace", "CustomResourceDefinition"))
        return [
            self.apply(obj, ignore_changes=ignore_changes(obj) if ignore_changes else (), **kwargs) for obj in ordered
        ]

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        response = self.client.get(self.resource_path(api_version, kind, namespace, name))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def list(self, api_version: str, kind: str, namespace: str | None, **params: str) -> list[dict[str, Any]]:
        response = self.client.get(self.resource_path(api_version, kind, namespace), params=params)
        response.raise_for_status()
        return list(response.json().get("items") or [])

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        response = self.client.delete(self.resource_path(api_version, kind, namespace, name))
        if response.status_code not in (200, 202, 404):
            raise ApplyError(f"delete {kind} {namespace}/{name}: HTTP {response.status_code}: {_message(response)}")


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return response.text[:500]


def _owns(entry: dict[str, Any], path: list[str]) -> bool:
    fields = entry.get("fieldsV1") or {}
    for part in path:
        fields = fields.get(f"f:{part}")
        if fields is None:
            return False
    return True


def without_ignored_fields(
    obj: dict[str, Any], live: dict[str, Any], ignore_changes: Sequence[str], field_manager: str
) -> dict[str, Any]:
    """What pulumi-kubernetes sends for an update with ``ignoreChanges`` under server-side apply (provider v4,
    pkg/await/await.go ``handleSSAIgnoreFields``): a field another manager owns and we do not is left out of the
    patch; otherwise the live value is sent, so the apply changes nothing there."""
    result = copy.deepcopy(obj)
    managed = live.get("metadata", {}).get("managedFields") or []
    for dotted in ignore_changes:
        path = dotted.split(".")
        theirs = any(_owns(e, path) for e in managed if e.get("manager") != field_manager)
        ours = any(_owns(e, path) for e in managed if e.get("manager") == field_manager)
        parent, live_parent = result, live
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
            live_parent = live_parent.get(part) or {}
        if theirs and not ours:
            parent.pop(path[-1], None)
        elif path[-1] in live_parent:
            parent[path[-1]] = copy.deepcopy(live_parent[path[-1]])
    return result


def load_manifests(paths: Iterable[Path]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for path in paths:
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects
