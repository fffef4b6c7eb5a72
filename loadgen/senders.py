"""Ways to send one pre-encoded JSON POST and stream its response: aiohttp for owned connections, httpx otherwise.

`AiohttpSender` is the load path when the load generator owns its connections: one aiohttp session whose
connector pools one keep-alive connection per concurrent stream. aiohttp (what vLLM's own serving benchmark
uses) parses responses in C and writes a small request's headers and body in one socket write, with one pass
through the event loop between the call and that write; httpx/httpcore yield several times before the body
reaches the socket (lock acquisitions, then between headers and body), and under a burst each yield waits
behind every other ready task, which is client time that lands in the measured TTFT. The README's benchmarks
section has the numbers.

The httpx senders stay for a caller's own httpx client (auth, headers, TLS: the promotion gate's) and when an
HTTP(S)/ALL proxy is configured in the environment, which httpx honours and aiohttp would only in part.

For httpx, profiling showed httpx.AsyncClient's per-request middleware (URL merging, header and cookie merging, auth and
redirect plumbing, cookie extraction) as a large share of the client's CPU per request. For connections the
load generator owns nothing of that is needed, so `TransportSender` hands a prebuilt httpx.Request (prebuilt
URL and headers, body already bytes) straight to httpx.AsyncHTTPTransport.handle_async_request, httpx's public
transport API. A caller's own client (auth, headers, TLS, proxies) keeps the full client path: `ClientSender`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from time import perf_counter
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import httpx
from aiohttp.payload import BytesPayload
from yarl import URL

from loadgen.records import RequestRecord

JSON_CONTENT_TYPE = {"content-type": "application/json"}


Trace = Callable[[str, dict[str, Any]], Awaitable[None]]


class HttpxSender(Protocol):
    def post(self, url: str, body: bytes, trace: Trace) -> AbstractAsyncContextManager[httpx.Response]:
        """Send `body` as a JSON POST to `url`; the context yields the response with its body unread.
        httpcore calls `trace` at each step (connect, headers sent, body sent, ...)."""
        ...


class ClientSender:
    """Through a full httpx.AsyncClient: its base headers, auth, cookies and proxy settings all apply."""

    __slots__ = ("client",)

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def post(self, url: str, body: bytes, trace: Trace) -> AbstractAsyncContextManager[httpx.Response]:
        return self.client.stream("POST", url, content=body, headers=JSON_CONTENT_TYPE, extensions={"trace": trace})


class TransportSender:
    """Straight to a transport: what an owned httpx.AsyncClient would send, minus its per-request middleware."""

    __slots__ = ("_headers", "_timeout", "_urls", "transport")

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
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._urls: dict[str, httpx.URL] = {}  # parsed once: parsing a str URL per request costs

    def post(self, url: str, body: bytes, trace: Trace) -> _TransportResponse:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = httpx.URL(url)
        extensions = {"timeout": self._timeout, "trace": trace}
        return _TransportResponse(self.transport, httpx.Request("POST", parsed, headers=self._headers, content=body,
                                                                extensions=extensions))  # fmt: skip


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


class _TimedBody(BytesPayload):
    """The request body, noting in the record when aiohttp has handed it to the socket.

    aiohttp buffers a request's headers and writes them together with the body in one transport write (which
    the kernel takes at once on a socket with room), so the end of this write is when the whole request has
    left the client: `record.sent`.
    """

    __slots__ = ("_origin", "_record")

    def __init__(self, body: bytes, record: RequestRecord, origin: float) -> None:
        super().__init__(body, content_type="application/json")
        self._record = record
        self._origin = origin

    async def write_with_length(self, writer: Any, content_length: int | None) -> None:
        await super().write_with_length(writer, content_length)
        self._record.sent = perf_counter() - self._origin


class AiohttpSender:
    """One aiohttp session shared by every slot; its connector keeps up to `connections` keep-alive
    connections, so a caller that keeps in-flight requests within that number never waits for one."""

    __slots__ = ("_urls", "session")

    def __init__(self, connections: int, tls: Any) -> None:
        connector = aiohttp.TCPConnector(limit=connections, limit_per_host=0, ssl=tls, keepalive_timeout=30.0)
        self.session = aiohttp.ClientSession(
            connector=connector,
            # The caller bounds every request with its own deadline (asyncio.timeout): no aiohttp timers.
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None),
            headers=JSON_CONTENT_TYPE,
            # An uncompressed stream is read as it arrives (vLLM does not compress SSE anyway).
            skip_auto_headers=("Accept-Encoding",),
            trust_env=False,  # proxies configured in the environment keep the httpx path (see clients.py)
        )
        self._urls: dict[str, URL] = {}

    def url(self, url: str) -> URL:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = URL(url)
        return parsed

    def post(self, url: str, body: bytes, record: RequestRecord, origin: float) -> Any:
        """The response context (aiohttp.ClientResponse, body unread); sets `record.sent` on the body's write."""
        # Redirects are not followed (as with httpx): a 3xx is an answer to classify, not a hop to take.
        return self.session.post(self.url(url), data=_TimedBody(body, record, origin), allow_redirects=False)

    async def aclose(self) -> None:
        await self.session.close()


Sender = AiohttpSender | HttpxSender
