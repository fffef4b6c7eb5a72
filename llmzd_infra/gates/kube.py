"""Reach the cluster with the stack's kubeconfig: lightkube loads it and builds an authenticated httpx client.

Auth (tokens, token files, client certificates, exec plugins) is lightkube's; nothing here handles credentials
beyond remembering which strings to scrub from messages. A session is opened inside each provider call and
closed at its end, so the pickled providers never hold a client.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import yaml

from llmzd_infra.gates.errors import ClusterAccessError

if TYPE_CHECKING:
    from lightkube.config.kubeconfig import SingleConfig

API_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_KUBECONFIG = Path("~/.kube/config")


@dataclass(frozen=True)
class ClusterAccess:
    """What the stack's Kubernetes provider uses: kubeconfig content (a secret) or the standard lookup."""

    kubeconfig: str | None = None
    context: str | None = None

    def __repr__(self) -> str:  # keep the kubeconfig out of tracebacks and logs
        shown = "<secret>" if self.kubeconfig else None
        return f"ClusterAccess(kubeconfig={shown}, context={self.context!r})"


@dataclass(frozen=True)
class KubeSession:
    client: httpx.AsyncClient  # carries the kubeconfig's auth; use it only for the API server
    server: str
    secrets: tuple[str, ...]  # credential strings to scrub from any message

    def url(self, path: str) -> str:
        return f"{self.server.rstrip('/')}/{path.lstrip('/')}"

    def service_proxy_url(self, namespace: str, service: str, port: int) -> str:
        """The API server's proxy to a Service port; vLLM's paths are appended to it."""
        return self.url(f"api/v1/namespaces/{namespace}/services/{service}:{port}/proxy")


def kubeconfig_problem(content: str) -> str | None:
    """Why kubeconfig content cannot be used, without quoting it; None when it parses."""
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError:
        return "the kubeconfig is not valid YAML"
    if not isinstance(document, dict):
        return "the kubeconfig is not a YAML mapping"
    missing = [key for key in ("clusters", "contexts") if not isinstance(document.get(key), list)]
    if missing:
        return f"the kubeconfig has no {' or '.join(missing)} list"
    return None


def load_cluster_config(access: ClusterAccess) -> SingleConfig:
    """The cluster, user and context to use. Raises ClusterAccessError naming what to fix."""
    from lightkube import KubeConfig
    from lightkube.core.exceptions import ConfigError

    try:
        if access.kubeconfig is not None:
            problem = kubeconfig_problem(access.kubeconfig)
            if problem:
                raise ClusterAccessError(f"{problem}; fix the llmzd:kubeconfig secret")
            config = KubeConfig.from_dict(yaml.safe_load(access.kubeconfig))
            source = "the llmzd:kubeconfig secret"
        else:
            config, source = _standard_kubeconfig()
        single = config.get(context_name=access.context)
    except ConfigError as exc:
        raise ClusterAccessError(f"cannot use {_describe(access)}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ClusterAccessError(f"cannot use {_describe(access)}: malformed entry ({type(exc).__name__})") from None
    if single is None:
        raise ClusterAccessError(f"{source} selects no context; set llmzd:kubeContext")
    return single


def _describe(access: ClusterAccess) -> str:
    where = "the llmzd:kubeconfig secret" if access.kubeconfig is not None else "the standard kubeconfig lookup"
    return f"{where} (context {access.context!r})" if access.context else where


def _standard_kubeconfig() -> tuple[object, str]:
    """$KUBECONFIG (first existing file), then ~/.kube/config, then the in-cluster service account."""
    from lightkube import KubeConfig
    from lightkube.core.exceptions import ConfigError

    candidates = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    candidates.append(DEFAULT_KUBECONFIG.expanduser())
    for candidate in candidates:
        if candidate.is_file():
            return KubeConfig.from_file(candidate), str(candidate)
    try:
        return KubeConfig.from_service_account(), "the in-cluster service account"
    except (ConfigError, KeyError):
        raise ClusterAccessError(
            "no kubeconfig found: set the llmzd:kubeconfig secret, set KUBECONFIG, create ~/.kube/config, "
            "or run inside the cluster; or switch gates off with gates.enabled: false"
        ) from None


def _credential_strings(single: SingleConfig) -> tuple[str, ...]:
    user = single.user
    if user is None:
        return ()
    return tuple(s for s in (user.token, user.password) if s)


@asynccontextmanager
async def open_session(access: ClusterAccess, *, timeout: httpx.Timeout = API_TIMEOUT) -> AsyncIterator[KubeSession]:
    from lightkube.config.client_adapter import AsyncClient, ConnectionParams
    from lightkube.core.exceptions import ConfigError

    single = load_cluster_config(access)
    try:
        # HTTP/2, as kubectl and client-go speak to the API server. Over HTTP/1.1 the API server's service
        # proxy (Go's httputil.ReverseProxy) now and then cuts a streamed answer right after its headers:
        # Go's HTTP/1 server stops the request body once the response starts while the proxy is still
        # finishing it (golang/go#40747). Seen in the end-to-end tests: 1-4 of ~60 streams cut with 0 tokens.
        client = AsyncClient(single, ConnectionParams(timeout=timeout, http2=True))
    except (ConfigError, OSError) as exc:
        raise ClusterAccessError(f"cannot set up TLS or auth from {_describe(access)}: {exc}") from None
    try:
        yield KubeSession(client=client, server=single.cluster.server, secrets=_credential_strings(single))
    finally:
        await client.aclose()
