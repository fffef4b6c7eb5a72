"""HTTP clients for load: HTTP/1.1 keep-alive, one pooled connection per concurrent stream, sharded.

httpcore's connection pool re-examines its connections every time a request is queued or released, and
for each idle one counts all of them again: O(N^2) per request for a pool of N connections, which made
the pool the client's main CPU cost at 256 streams. Splitting the connections over many small clients
keeps that cost small and flat. Each in-flight request
holds a slot of one client, and a client has exactly as many connections as slots, so no request ever
waits for a connection inside httpx.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ssl
import sys
from collections import deque
from collections.abc import AsyncIterator

import httpx

CONNECTIONS_PER_CLIENT = 8


def _make_failed_sniffio_import_cheap() -> None:
    # httpcore runs `import sniffio` every time it creates a lock or event; when sniffio is not installed
    # (recent anyio no longer pulls it in) each failed import searches sys.path on disk, which profiling
    # showed to be ~25% of the client's CPU. A None entry in sys.modules makes that import fail at once,
    # with the same ImportError and the same fallback to asyncio, and changes nothing else.
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def make_client(connections: int, timeout: float, tls: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    _make_failed_sniffio_import_cheap()
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=30.0
    )
    return httpx.AsyncClient(
        http1=True,
        http2=False,
        limits=limits,
        timeout=httpx.Timeout(timeout),
        verify=tls if tls is not None else True,
    )


class ClientSlots:
    def __init__(self, shards: list[tuple[httpx.AsyncClient, int]], *, owned: bool) -> None:
        self.clients = [client for client, _ in shards]
        self._free: deque[httpx.AsyncClient] = deque()
        for client, capacity in shards:
            self._free.extend([client] * capacity)
        self._owned = owned

    @classmethod
    def open(cls, concurrency: int, timeout: float) -> ClientSlots:
        # One TLS context for all shards: building one loads the CA bundle (~20 ms each).
        tls = ssl.create_default_context()
        shards = []
        remaining = concurrency
        while remaining > 0:
            size = min(CONNECTIONS_PER_CLIENT, remaining)
            shards.append((make_client(size, timeout, tls), size))
            remaining -= size
        return cls(shards, owned=True)

    @classmethod
    def wrap(cls, client: httpx.AsyncClient, concurrency: int) -> ClientSlots:
        """Use a caller's client (auth, TLS, headers) for every slot; it is never closed here."""
        return cls([(client, concurrency)], owned=False)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client with a free connection; callers keep in-flight requests within the concurrency."""
        client = self._free.popleft()
        try:
            yield client
        finally:
            self._free.append(client)

    async def aclose(self) -> None:
        if self._owned:
            for client in self.clients:
                await client.aclose()
