"""A Kubernetes API test server on 127.0.0.1 that speaks the paths and shapes the gates use.

It serves Argo Rollouts (GET, merge-PATCH of the object and of its ``status`` subresource) with a scripted
controller, and the Service proxy ``/api/v1/namespaces/NS/services/NAME:PORT/proxy/...``, which forwards
(streaming, chunk by chunk) to the backend registered for the pod hash the Service currently selects:
the preview Service follows ``status.blueGreen.previewSelector``, the stable one ``activeSelector``,
like Argo Rollouts' selector switching. Every request needs ``Authorization: Bearer <token>``.

Runs in a thread of the test process with a real listening socket (ThreadingHTTPServer, HTTP/1.1).
"""

from __future__ import annotations

import copy
import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import yaml

REVISION_ANNOTATION = "llmzd.io/revision"
_HASH_LABEL = "rollouts-pod-template-hash"
UPSTREAM_TIMEOUT_S = 15.0
_ROLLOUT_PATH = re.compile(r"^/apis/argoproj\.io/v1alpha1/namespaces/([^/]+)/rollouts/([^/]+)(/status)?$")
_REPLICASETS_PATH = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/replicasets$")
_PROXY_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/:]+)(?::([^/]+))?/proxy(/.*)?$")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}

AfterPromote = Literal["healthy", "degraded"]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@dataclass
class RecordedPatch:
    namespace: str
    name: str
    subresource: str  # "status" or "" for the main object
    content_type: str
    body: dict[str, Any]


@dataclass
class FakeRollout:
    """A blue/green Rollout whose controller advances one step per GET (deterministic, no timers).

    ``stable_hash=None`` scripts a first deploy: Argo promotes the first ReplicaSet with no pause. As in Argo
    (argo-rollouts v1.9.1 rollout/sync.go ``shouldFullPromote``: "Initial deploy" while there is no stable
    ReplicaSet), its first reconcile makes the current ReplicaSet stable, so ``stableRS`` is set from the start.
    """

    namespace: str
    name: str
    revision: str
    new_hash: str
    stable_hash: str | None = None
    stable_revision: str | None = None
    auto_promotion: bool = False
    lagging_polls: int = 0  # GETs while the controller has not yet observed the new spec
    progressing_polls: int = 2  # GETs while the new ReplicaSet becomes available
    promote_polls: int = 2  # GETs between promotion and the final phase
    after_promote: AfterPromote = "healthy"
    generation: int = 2
    state: str = "lagging"
    gets: int = 0
    promotions: int = 0
    aborts: int = 0
    _polls_in_state: int = 0
    status: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._enter("lagging" if self.lagging_polls else "progressing")

    def _enter(self, state: str) -> None:
        self.state = state
        self._polls_in_state = 0
        old = self.stable_hash
        new = self.new_hash
        stable = old or new
        if state == "lagging":
            self.status = self._status("Healthy", "", old or new, old or new, old or new, str(self.generation - 1))
        elif state == "progressing":
            preview = new
            active = old or new  # first deploy: the active Service is pointed at the first ReplicaSet at once
            self.status = self._status("Progressing", "more replicas need to be updated", preview, active, stable)
        elif state == "paused":
            self.status = self._status("Paused", "BlueGreenPause", new, old, old)
            self.status["pauseConditions"] = [{"reason": "BlueGreenPause", "startTime": "2024-01-01T00:00:00Z"}]
            self.status["controllerPause"] = True
        elif state == "promoting":
            self.status = self._status("Progressing", "active service cutover pending", new, new, stable)
        elif state == "healthy":
            self.status = self._status("Healthy", "", new, new, new)
        elif state == "degraded":
            self.status = self._status(
                "Degraded",
                f'ProgressDeadlineExceeded: ReplicaSet "{self.name}-{new}" has timed out progressing.',
                new, new, stable,
            )
        elif state == "aborted":
            self.status = self._status(
                "Degraded", f"RolloutAborted: Rollout aborted update to revision {self.generation}",
                new, old or new, stable,
            )
            self.status["abort"] = True

    def _status(
        self, phase: str, message: str, preview: str | None, active: str | None, stable: str | None,
        observed: str | None = None,
    ) -> dict[str, Any]:
        status: dict[str, Any] = {
            "phase": phase,
            "message": message,
            "currentPodHash": self.new_hash if self.state != "lagging" else (self.stable_hash or self.new_hash),
            "observedGeneration": observed or str(self.generation),
            "blueGreen": {"activeSelector": active, "previewSelector": preview},
        }
        if stable:
            status["stableRS"] = stable
        return status

    def _advance(self) -> None:
        self._polls_in_state += 1
        if self.state == "lagging" and self._polls_in_state > self.lagging_polls:
            self._enter("progressing")
        elif self.state == "progressing" and self._polls_in_state > self.progressing_polls:
            if self.stable_hash is None or self.auto_promotion:
                self._enter("promoting")
            else:
                self._enter("paused")
        elif self.state == "promoting" and self._polls_in_state > self.promote_polls:
            self._enter(self.after_promote)

    def read(self) -> dict[str, Any]:
        self.gets += 1
        self._advance()
        return self.render()

    def render(self) -> dict[str, Any]:
        template_revision = self.revision
        if self.state == "lagging":
            template_revision = self.stable_revision or "previous"
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "generation": self.generation,
                "resourceVersion": str(1000 + self.gets),
            },
            "spec": {
                "replicas": 1,
                "strategy": {"blueGreen": {
                    "activeService": f"{self.name}-stable",
                    "previewService": f"{self.name}-preview",
                    "autoPromotionEnabled": self.auto_promotion,
                }},
                "template": {"metadata": {"annotations": {REVISION_ANNOTATION: template_revision}}},
            },
            "status": copy.deepcopy(self.status),
        }

    def replica_sets(self) -> list[dict[str, Any]]:
        """The ReplicaSets Argo would own: the stable one (if any) and the new one, labelled by pod hash."""
        owned = [(self.new_hash, self.revision)]
        if self.stable_hash:
            owned.append((self.stable_hash, self.stable_revision or "previous"))
        return [
            {
                "metadata": {"name": f"{self.name}-{pod_hash}", "namespace": self.namespace,
                             "labels": {_HASH_LABEL: pod_hash}},
                "spec": {"template": {"metadata": {"annotations": {REVISION_ANNOTATION: revision}}}},
            }
            for pod_hash, revision in owned
        ]

    def patch_status(self, patch: dict[str, Any]) -> None:
        before = self.status
        status_patch = patch.get("status", {})
        self.status = merge_patch(before, status_patch)
        if status_patch.get("abort") is True:
            self.aborts += 1
            self._enter("aborted")
        elif "pauseConditions" in status_patch and before.get("pauseConditions") and not self.status.get(
            "pauseConditions"
        ):
            self.promotions += 1
            self._enter("promoting")


@dataclass
class FakeService:
    namespace: str
    name: str
    port: int
    rollout: str
    role: Literal["preview", "active"]
    forced_status: int | None = None  # answer every proxied request with this status


class FakeKubeAPI:
    """The API server state plus its listening socket. Use ``running_fake_kube_api`` or the fixture."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.rollouts: dict[tuple[str, str], FakeRollout] = {}
        self.services: dict[tuple[str, str], FakeService] = {}
        self.backends: dict[str, str] = {}  # pod hash -> upstream base URL (a fake vLLM server)
        self.patches: list[RecordedPatch] = []
        self.requests: list[tuple[str, str]] = []
        self.unauthorized = 0
        self.kubeconfig_path: Path | None = None
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up -----------------------------------------------------------------------------------------
    def add_rollout(self, rollout: FakeRollout) -> FakeRollout:
        with self.lock:
            self.rollouts[(rollout.namespace, rollout.name)] = rollout
        return rollout

    def add_service(self, service: FakeService) -> FakeService:
        with self.lock:
            self.services[(service.namespace, service.name)] = service
        return service

    def add_model(self, rollout: FakeRollout, port: int) -> FakeRollout:
        """A Rollout plus its ``<name>-preview`` and ``<name>-stable`` Services, as the stack creates them."""
        self.add_rollout(rollout)
        for suffix, role in (("preview", "preview"), ("stable", "active")):
            self.add_service(FakeService(rollout.namespace, f"{rollout.name}-{suffix}", port, rollout.name, role))
        return rollout

    def set_backend(self, pod_hash: str, base_url: str) -> None:
        with self.lock:
            self.backends[pod_hash] = base_url

    # --- observations -----------------------------------------------------------------------------------
    def status_patches(self, name: str | None = None) -> list[RecordedPatch]:
        return [p for p in self.patches if p.subresource == "status" and (name is None or p.name == name)]

    def promotion_patches(self, name: str | None = None) -> list[RecordedPatch]:
        return [p for p in self.status_patches(name) if "pauseConditions" in p.body.get("status", {})]

    def abort_patches(self, name: str | None = None) -> list[RecordedPatch]:
        return [p for p in self.status_patches(name) if p.body.get("status", {}).get("abort") is True]

    def rollout_status(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """The Rollout's status now, without counting as a controller step (unlike a GET)."""
        with self.lock:
            for (ns, rollout_name), rollout in self.rollouts.items():
                if rollout_name == name and namespace in (None, ns):
                    return copy.deepcopy(rollout.status)
        raise KeyError(name)

    def spec_patches(self) -> list[RecordedPatch]:
        return [p for p in self.patches if p.subresource == ""]

    # --- lifecycle --------------------------------------------------------------------------------------
    @property
    def server_url(self) -> str:
        assert self._server is not None, "fake Kubernetes API is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.api = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def write_kubeconfig(self, path: Path, *, context: str = "fake", namespace: str = "default") -> Path:
        """A real kubeconfig file (token auth) for lightkube's loader to read."""
        path.write_text(kubeconfig_yaml(self.server_url, self.token, context=context, namespace=namespace))
        self.kubeconfig_path = path
        return path


def kubeconfig_yaml(server: str, token: str, *, context: str = "fake", namespace: str = "default") -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"{context}-cluster", "cluster": {"server": server}}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [{
            "name": context,
            "context": {"cluster": f"{context}-cluster", "user": f"{context}-user", "namespace": namespace},
        }],
        "current-context": context,
    }
    return yaml.safe_dump(document, sort_keys=False)


@contextmanager
def running_fake_kube_api(token: str = "test-token-0123456789") -> Iterator[FakeKubeAPI]:
    api = FakeKubeAPI(token)
    api.start()
    try:
        yield api
    finally:
        api.stop()


def _status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # silence per-request logging
        return

    @property
    def api(self) -> FakeKubeAPI:
        return self.server.api  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        parsed = urllib.parse.urlsplit(self.path)
        self.api.requests.append((method, parsed.path))
        if self.headers.get("Authorization") != f"Bearer {self.api.token}":
            self.api.unauthorized += 1
            self._json(401, _status_body(401, "Unauthorized", "Unauthorized"))
            return
        rollout_match = _ROLLOUT_PATH.match(parsed.path)
        if rollout_match:
            self._rollout(method, rollout_match, body)
            return
        replicasets_match = _REPLICASETS_PATH.match(parsed.path)
        if replicasets_match and method == "GET":
            self._replicasets(replicasets_match.group(1), parsed.query)
            return
        proxy_match = _PROXY_PATH.match(parsed.path)
        if proxy_match:
            self._proxy(method, proxy_match, parsed.query, body)
            return
        message = f"the server could not find the requested resource ({parsed.path})"
        self._json(404, _status_body(404, "NotFound", message))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _rollout(self, method: str, match: re.Match[str], body: bytes) -> None:
        namespace, name, status_suffix = match.group(1), match.group(2), match.group(3)
        with self.api.lock:
            rollout = self.api.rollouts.get((namespace, name))
            if rollout is None:
                self._json(404, _status_body(404, "NotFound", f'rollouts.argoproj.io "{name}" not found'))
                return
            if method == "GET":
                self._json(200, rollout.read())
                return
            if method != "PATCH":
                self._json(405, _status_body(405, "MethodNotAllowed", f"{method} is not supported here"))
                return
            content_type = self.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip() != "application/merge-patch+json":
                self._json(415, _status_body(415, "UnsupportedMediaType", f"unsupported patch type {content_type!r}"))
                return
            try:
                patch = json.loads(body or b"{}")
            except ValueError:
                self._json(400, _status_body(400, "BadRequest", "patch body is not JSON"))
                return
            subresource = "status" if status_suffix else ""
            self.api.patches.append(RecordedPatch(namespace, name, subresource, content_type, patch))
            if subresource == "status":
                rollout.patch_status(patch)
            self._json(200, rollout.render())

    def _replicasets(self, namespace: str, query: str) -> None:
        selector = urllib.parse.parse_qs(query).get("labelSelector", [""])[0]
        wanted = selector.split("=", 1)[1] if selector.startswith("rollouts-pod-template-hash=") else None
        with self.api.lock:
            owned = [
                item for rollout in self.api.rollouts.values() if rollout.namespace == namespace
                for item in rollout.replica_sets()
            ]
        items = [item for item in owned if wanted in (None, item["metadata"]["labels"][_HASH_LABEL])]
        self._json(200, {"apiVersion": "apps/v1", "kind": "ReplicaSetList", "metadata": {}, "items": items})

    def _proxy(self, method: str, match: re.Match[str], query: str, body: bytes) -> None:
        namespace, name, port, rest = match.group(1), match.group(2), match.group(3), match.group(4) or "/"
        with self.api.lock:
            service = self.api.services.get((namespace, name))
            rollout = self.api.rollouts.get((namespace, service.rollout)) if service else None
            selector = None
            if rollout is not None and service is not None:
                selectors = rollout.status.get("blueGreen", {})
                selector = selectors.get("previewSelector" if service.role == "preview" else "activeSelector")
            upstream = self.api.backends.get(selector or "")
        if service is None:
            self._json(404, _status_body(404, "NotFound", f'services "{name}" not found'))
            return
        if port and port not in (str(service.port), "http"):
            self._json(503, _status_body(503, "ServiceUnavailable", f'no endpoints available for service "{name}"'))
            return
        if service.forced_status is not None:
            code = service.forced_status
            self._json(code, _status_body(code, "ServiceUnavailable", f'error trying to reach service "{name}"'))
            return
        if upstream is None:
            self._json(503, _status_body(503, "ServiceUnavailable", f'no endpoints available for service "{name}"'))
            return
        self._forward(method, upstream, rest + (f"?{query}" if query else ""), body, name)

    def _forward(self, method: str, upstream: str, path: str, body: bytes, service_name: str) -> None:
        target = urllib.parse.urlsplit(upstream)
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=UPSTREAM_TIMEOUT_S)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"authorization", "host"}}
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
        except OSError as exc:
            connection.close()
            message = f'error trying to reach service: dial tcp {target.netloc}: {exc}'
            self._json(503, _status_body(503, "ServiceUnavailable", message))
            return
        try:
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            # The upstream cut the stream: end ours without the final chunk, as a real proxy would.
            self.close_connection = True
        finally:
            connection.close()
