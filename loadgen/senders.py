"""Ways to send one pre-encoded JSON POST and stream its response: through an httpx client or a bare transport.

Profiling showed httpx.AsyncClient's per-request middleware (URL merging, header and cookie merging, auth and
redirect plumbing, cookie extraction) as a large share of the client's CPU per request. For connections the
load generator owns nothing of that is needed, so `TransportSender` hands a prebuilt httpx.Request (prebuilt
URL and headers, body already bytes) straight to httpx.AsyncHTTPTransport.handle_async_request, httpx's public
transport API. A caller's own client (auth, headers, TLS, proxies) keeps the full client path: `ClientSender`.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol

import httpx

JSON_CONTENT_TYPE = {"content-type": "application/json"}


class Sender(Protocol):
    def post(self, url: httpx.URL, body: bytes) -> AbstractAsyncContextManager[httpx.Response]:
        """Send `body` as a JSON POST to `url`; the context yields the response with its body unread."""
        ...


class ClientSender:
    """Through a full httpx.AsyncClient: its base headers, auth, cookies and proxy settings all apply."""

    __slots__ = ("client",)

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def post(self, url: httpx.URL, body: bytes) -> AbstractAsyncContextManager[httpx.Response]:
        return self.client.stream("POST", url, content=body, headers=JSON_CONTENT_TYPE)


class TransportSender:
    """Straight to a transport: what an owned httpx.AsyncClient would send, minus its per-request middleware."""

    __slots__ = ("_extensions", "_headers", "transport")

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: float) -> None:
        self.transport = transport
        # The same headers a default AsyncClient sends, except Accept-Encoding: an uncompressed stream can be
        # read raw (no decoder per chunk), and vLLM does not compress SSE anyway.
        self._headers = httpx.Headers(
            {
                "accept": "*/*",
                "connection": "keep-alive",
                "user-agent": f"python-httpx/{httpx.__version__}",
                **JSON_CONTENT_TYPE,
            }
        )
        # What AsyncClient puts in every request for httpx.Timeout(timeout): per connect/read/write/pool wait.
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}

    def post(self, url: httpx.URL, body: bytes) -> _TransportResponse:
        return _TransportResponse(self.transport, httpx.Request("POST", url, headers=self._headers, content=body,
                                                                extensions=self._extensions))  # fmt: skip


class _TransportResponse:
    """An async context for one request: the response on enter, closed (connection released) on exit."""

    __slots__ = ("_request", "_response", "_transport")

    def __init__(self, transport: httpx.AsyncBaseTransport, request: httpx.Request) -> None:
        self._transport = transport
        self._request = request
        self._response: httpx.Response | None = None

    async def __aenter__(self) -> httpx.Response:
        response = await self._transport.handle_async_request(self._request)
        response.request = self._request
        self._response = response
        return response

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            await self._response.aclose()
