"""HTTP for load: HTTP/1.1 keep-alive, one connection per concurrent stream.

Connections the load generator owns go through one aiohttp session (see senders.py for why). The httpx paths
remain for a caller's own client and for proxies from the environment; there each slot has its own pool of
one connection: httpcore's connection pool re-examines its connections every time a request is queued or
released (for each one an `is_readable` poll through anyio's extra attributes, and idle counts over all of
them), O(N^2) per request for a pool of N connections, and a pool of one per slot keeps that flat. Since each
in-flight request holds its own slot (or, with aiohttp, the connector has a connection for every slot), no
request ever waits for a connection inside the HTTP client.
"""

from __future__ import annotations

import importlib.util
import os
import ssl
import sys
import urllib.request
from collections import deque

import httpx

from loadgen.senders import AiohttpSender, ClientSender, Sender, TransportSender

LOOKUP_CONNECTIONS = 1
LOAD_PATH_ENV = "LOADGEN_LOAD_PATH"  # "httpx": the previous load path, for benchmarks


def _make_failed_sniffio_import_cheap() -> None:
    # httpcore runs `import sniffio` every time it creates a lock or event; when sniffio is not installed
    # (recent anyio no longer pulls it in) each failed import searches sys.path on disk, which profiling
    # showed to be ~25% of the client's CPU. A None entry in sys.modules makes that import fail at once,
    # with the same ImportError and the same fallback to asyncio, and changes nothing else.
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def _limits(connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=30.0)


def make_client(connections: int, timeout: float, tls: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        http1=True,
        http2=False,
        limits=_limits(connections),
        timeout=httpx.Timeout(timeout),
        verify=tls if tls is not None else True,
    )


def _proxies_configured() -> bool:
    # An AsyncClient honours HTTP(S)_PROXY/ALL_PROXY from the environment; a bare transport would not, so
    # with any proxy configured every slot keeps the client path (and its proxy and NO_PROXY handling).
    return any(key in ("http", "https", "all") for key in urllib.request.getproxies())


class ClientSlots:
    """Hands each in-flight request a Sender with a free connection; `clients[0]` serves one-off requests."""

    def __init__(self, senders: list[Sender], clients: list[httpx.AsyncClient], *, owned: bool) -> None:
        self.clients = clients
        self._free: deque[Sender] = deque(senders)
        self._transports = [s.transport for s in senders if isinstance(s, TransportSender)]
        self._sessions = list({id(s): s for s in senders if isinstance(s, AiohttpSender)}.values())
        self._owned = owned

    @classmethod
    async def open(cls, concurrency: int, timeout: float, *, transport: str | None = None) -> ClientSlots:
        """Owned connections: one aiohttp session for every slot (`transport="httpx"`: a bare httpx transport
        per slot, the previous load path, which benchmarks/loadgen_bench.py selects through the
        LOADGEN_LOAD_PATH environment variable to compare the two); with a proxy configured, an httpx client
        per slot."""
        transport = transport or os.environ.get(LOAD_PATH_ENV) or "aiohttp"
        _make_failed_sniffio_import_cheap()
        # One TLS context for everything: building one loads the CA bundle (~20 ms each).
        tls = ssl.create_default_context()
        if _proxies_configured():
            clients = [make_client(1, timeout, tls) for _ in range(concurrency)]
            return cls([ClientSender(c) for c in clients], clients, owned=True)
        senders: list[Sender]
        if transport == "aiohttp":
            senders = [AiohttpSender(concurrency, tls)] * concurrency
        else:
            senders = [
                TransportSender(
                    httpx.AsyncHTTPTransport(verify=tls, http1=True, http2=False, limits=_limits(1)), timeout
                )
                for _ in range(concurrency)
            ]
        return cls(senders, [make_client(LOOKUP_CONNECTIONS, timeout, tls)], owned=True)

    @classmethod
    def wrap(cls, client: httpx.AsyncClient, concurrency: int) -> ClientSlots:
        """Use a caller's client (auth, TLS, headers) for every slot; it is never closed here."""
        sender = ClientSender(client)
        return cls([sender] * concurrency, [client], owned=False)

    def acquire(self) -> Sender:
        """A sender with a free connection; pair every call with `release`. Callers keep in-flight requests
        within the concurrency, so there is always one."""
        return self._free.popleft()

    def release(self, sender: Sender) -> None:
        self._free.append(sender)

    async def aclose(self) -> None:
        if self._owned:
            for client in self.clients:
                await client.aclose()
            for transport in self._transports:
                await transport.aclose()
            for session in self._sessions:
                await session.aclose()
