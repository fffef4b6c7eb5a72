"""Read an Argo Rollout and send the status patches ``kubectl argo rollouts promote/abort`` send.

Argo facts this relies on (argo-rollouts pkg/kubectl-argo-rollouts/cmd/{promote,abort}):
- promote of a blue/green Rollout paused before promotion: merge patch of the ``status`` subresource
  ``{"status":{"pauseConditions":null}}``; the CLI adds ``{"spec":{"paused":false}}`` only when ``spec.paused``
  is set, which this stack never sets, so the spec Pulumi owns is never edited.
- abort: merge patch of the ``status`` subresource ``{"status":{"abort":true}}``.
- ``status.observedGeneration`` is a string holding the ``metadata.generation`` the controller has seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from llmzd_infra.gates.errors import ClusterAccessError, excerpt
from llmzd_infra.gates.kube import KubeSession

REVISION_ANNOTATION = "llmzd.io/revision"
MERGE_PATCH = "application/merge-patch+json"
PROMOTE_PATCH: dict[str, Any] = {"status": {"pauseConditions": None}}
ABORT_PATCH: dict[str, Any] = {"status": {"abort": True}}


class RolloutNotFound(ClusterAccessError):
    pass


class ApiUnreachable(ClusterAccessError):
    """No HTTP answer at all (connection refused, DNS, TLS, timeout): worth retrying for a short while."""


@dataclass(frozen=True)
class RolloutRef:
    namespace: str
    name: str

    @property
    def path(self) -> str:
        return f"apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/rollouts/{self.name}"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class RolloutState:
    phase: str
    message: str
    template_revision: str | None
    generation: int | None
    observed_generation: str | None
    current_pod_hash: str | None
    stable_pod_hash: str | None
    active_selector: str | None
    preview_selector: str | None
    pause_reasons: tuple[str, ...]
    aborted: bool

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RolloutState:
        metadata = body.get("metadata") or {}
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        blue_green = status.get("blueGreen") or {}
        template_annotations = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
        observed = status.get("observedGeneration")
        return cls(
            phase=str(status.get("phase") or "Unknown"),
            message=str(status.get("message") or ""),
            template_revision=template_annotations.get(REVISION_ANNOTATION),
            generation=metadata.get("generation"),
            observed_generation=None if observed is None else str(observed),
            current_pod_hash=status.get("currentPodHash"),
            stable_pod_hash=status.get("stableRS"),
            active_selector=blue_green.get("activeSelector"),
            preview_selector=blue_green.get("previewSelector"),
            pause_reasons=tuple(str(c.get("reason")) for c in status.get("pauseConditions") or []),
            aborted=bool(status.get("abort")),
        )

    @property
    def controller_caught_up(self) -> bool:
        """The controller has reconciled the current spec (generation), so the status describes it."""
        if self.generation is None or self.observed_generation is None:
            return True
        return self.observed_generation == str(self.generation)

    def carries(self, revision: str) -> bool:
        """The spec has the expected pod template and the status already describes it."""
        return self.template_revision == revision and self.controller_caught_up

    @property
    def paused_for_promotion(self) -> bool:
        return "BlueGreenPause" in self.pause_reasons

    @property
    def stable_is_current(self) -> bool:
        """The stable ReplicaSet is the current pod template's: a first deploy, or after the traffic switch."""
        return self.current_pod_hash is not None and self.stable_pod_hash == self.current_pod_hash

    @property
    def fully_promoted(self) -> bool:
        """Healthy with the active Service and the stable ReplicaSet on the current pod template."""
        current = self.current_pod_hash
        return (
            self.phase == "Healthy"
            and current is not None
            and self.active_selector == current
            and self.stable_pod_hash == current
        )

    def describe(self) -> str:
        parts = [f"phase {self.phase}"]
        if self.message:
            parts.append(f"message {excerpt(self.message, 160)!r}")
        if self.pause_reasons:
            parts.append(f"paused for {', '.join(self.pause_reasons)}")
        parts.append(
            f"pod hashes current={self.current_pod_hash} stable={self.stable_pod_hash} "
            f"active={self.active_selector} preview={self.preview_selector}"
        )
        if self.aborted:
            parts.append("aborted")
        return ", ".join(parts)


def _raise_for_answer(response: httpx.Response, ref: RolloutRef, action: str) -> None:
    if response.status_code < 400:
        return
    reason = _status_message(response)
    if response.status_code == 404:
        raise RolloutNotFound(f"{action} Rollout {ref}: not found (404 {reason}); is Argo Rollouts installed?")
    if response.status_code in (401, 403):
        raise ClusterAccessError(
            f"{action} Rollout {ref}: the API server refused the kubeconfig's credentials "
            f"({response.status_code} {reason}); check llmzd:kubeconfig / llmzd:kubeContext and RBAC"
        )
    raise ClusterAccessError(f"{action} Rollout {ref}: HTTP {response.status_code} {reason}")


def _status_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return excerpt(response.text, 160)
    if isinstance(body, dict) and body.get("message"):
        return excerpt(str(body["message"]), 160)
    return excerpt(response.text, 160)


async def _request(session: KubeSession, method: str, ref: RolloutRef, path: str, **kwargs: Any) -> dict[str, Any]:
    action = "reading" if method == "GET" else "patching"
    try:
        response = await session.client.request(method, session.url(path), **kwargs)
    except httpx.HTTPError as exc:
        raise ApiUnreachable(
            f"{action} Rollout {ref}: cannot reach the Kubernetes API server at {session.server} "
            f"({type(exc).__name__}: {excerpt(str(exc), 160) or 'no detail'})"
        ) from None
    _raise_for_answer(response, ref, action)
    body = response.json()
    return body if isinstance(body, dict) else {}


async def read_rollout(session: KubeSession, ref: RolloutRef) -> RolloutState:
    return RolloutState.from_json(await _request(session, "GET", ref, ref.path))


async def patch_rollout_status(session: KubeSession, ref: RolloutRef, patch: dict[str, Any]) -> RolloutState:
    headers = {"Content-Type": MERGE_PATCH}
    body = await _request(
        session, "PATCH", ref, f"{ref.path}/status", content=json.dumps(patch).encode(), headers=headers
    )
    return RolloutState.from_json(body)


async def promote(session: KubeSession, ref: RolloutRef) -> RolloutState:
    return await patch_rollout_status(session, ref, PROMOTE_PATCH)


async def abort(session: KubeSession, ref: RolloutRef) -> RolloutState:
    return await patch_rollout_status(session, ref, ABORT_PATCH)


async def revision_of_pod_hash(session: KubeSession, namespace: str, pod_hash: str | None) -> str | None:
    """The llmzd revision of the ReplicaSet Argo labelled with ``pod_hash``; None when it cannot be told."""
    if not pod_hash:
        return None
    path = f"apis/apps/v1/namespaces/{namespace}/replicasets"
    try:
        response = await session.client.get(
            session.url(path), params={"labelSelector": f"rollouts-pod-template-hash={pod_hash}"}
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    items = response.json().get("items") or []
    for item in items:
        template = (item.get("spec") or {}).get("template") or {}
        revision = ((template.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
        if revision:
            return str(revision)
    return None
