"""Which sender each slot gets: a bare transport for owned connections, the client path when proxies apply."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from loadgen.clients import ClientSlots
from loadgen.senders import ClientSender, TransportSender


def senders(slots: ClientSlots, count: int) -> list[object]:
    taken = [slots.acquire() for _ in range(count)]
    for sender in taken:
        slots.release(sender)
    return taken


def test_owned_slots_get_one_transport_each(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    slots = ClientSlots.open(3, 5.0)
    taken = senders(slots, 3)
    assert all(isinstance(s, TransportSender) for s in taken) and len({id(s) for s in taken}) == 3
    asyncio.run(slots.aclose())


def test_a_configured_proxy_keeps_the_client_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    slots = ClientSlots.open(2, 5.0)
    assert all(isinstance(s, ClientSender) for s in senders(slots, 2))
    asyncio.run(slots.aclose())


def test_a_given_client_serves_every_slot() -> None:
    client = httpx.AsyncClient()
    slots = ClientSlots.wrap(client, 4)
    assert all(isinstance(s, ClientSender) and s.client is client for s in senders(slots, 4))
    asyncio.run(client.aclose())
