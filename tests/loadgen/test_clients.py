"""Which sender each slot gets: one aiohttp session for owned connections, the httpx client path when proxies
apply or a client is given."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from loadgen.clients import ClientSlots
from loadgen.senders import AiohttpSender, ClientSender, TransportSender


def senders(slots: ClientSlots, count: int) -> list[object]:
    taken = [slots.acquire() for _ in range(count)]
    for sender in taken:
        slots.release(sender)
    return taken


def clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def open_and_take(count: int, **options: str) -> list[object]:
    async def go() -> list[object]:
        slots = await ClientSlots.open(count, 5.0, **options)
        try:
            return senders(slots, count)
        finally:
            await slots.aclose()

    return asyncio.run(go())


def test_owned_slots_share_one_aiohttp_session(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)
    taken = open_and_take(3)
    assert all(isinstance(s, AiohttpSender) for s in taken) and len({id(s) for s in taken}) == 1
    assert taken[0].session.closed  # type: ignore[attr-defined]


def test_the_httpx_load_path_gives_one_transport_per_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)
    taken = open_and_take(3, transport="httpx")
    assert all(isinstance(s, TransportSender) for s in taken) and len({id(s) for s in taken}) == 3


def test_a_configured_proxy_keeps_the_client_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert all(isinstance(s, ClientSender) for s in open_and_take(2))


def test_a_given_client_serves_every_slot() -> None:
    client = httpx.AsyncClient()
    slots = ClientSlots.wrap(client, 4)
    assert all(isinstance(s, ClientSender) and s.client is client for s in senders(slots, 4))
    asyncio.run(client.aclose())
