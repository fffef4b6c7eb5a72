"""Pulumi's dynamic provider host, started and spoken to as the engine does: ``python -m pulumi.dynamic``
prints its gRPC port, then Check/Diff/Create arrive with the serialized provider in ``__provider``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import ResourceProvider, serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
RPC_TIMEOUT_S = 60.0
PORT_TIMEOUT_S = 20.0


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    return asyncio.run(rpc.serialize_properties(props, {}))


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct))


class EngineHost:
    def __init__(self, stub: provider_pb2_grpc.ResourceProviderStub) -> None:
        self.stub = stub

    @staticmethod
    def with_provider(provider: ResourceProvider, props: dict[str, Any]) -> dict[str, Any]:
        return {**props, "__provider": serialize_provider(provider)}

    def check(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> provider_pb2.CheckResponse:
        request = provider_pb2.CheckRequest(urn=urn, olds=to_struct(olds), news=to_struct(news))
        return self.stub.Check(request, timeout=RPC_TIMEOUT_S)

    def diff(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> provider_pb2.DiffResponse:
        request = provider_pb2.DiffRequest(id="gate", urn=urn, olds=to_struct(olds), news=to_struct(news))
        return self.stub.Diff(request, timeout=RPC_TIMEOUT_S)

    def update(
        self, urn: str, olds: dict[str, Any], news: dict[str, Any], *, timeout_s: float = RPC_TIMEOUT_S
    ) -> provider_pb2.UpdateResponse:
        request = provider_pb2.UpdateRequest(id="gate", urn=urn, olds=to_struct(olds), news=to_struct(news))
        return self.stub.Update(request, timeout=timeout_s)

    def create(
        self, urn: str, props: dict[str, Any], *, timeout_s: float = RPC_TIMEOUT_S
    ) -> provider_pb2.CreateResponse:
        request = provider_pb2.CreateRequest(urn=urn, properties=to_struct(props))
        return self.stub.Create(request, timeout=timeout_s)


def _read_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    line = process.stdout.readline()  # the host prints its port first, then nothing else on stdout
    if not line.strip().isdigit():
        raise RuntimeError(f"dynamic provider host printed {line!r} instead of its port")
    return int(line)


@contextmanager
def running_engine_host(stderr_path: Path) -> Iterator[EngineHost]:
    """The host's stderr (where gate progress goes without an engine) is written to ``stderr_path``."""
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": python_path, "PULUMI_PROJECT": "llmzd"}
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr,
        )
    try:
        loop = asyncio.new_event_loop()
        try:
            port = loop.run_until_complete(
                asyncio.wait_for(asyncio.to_thread(_read_port, process), timeout=PORT_TIMEOUT_S)
            )
        finally:
            loop.close()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=PORT_TIMEOUT_S)
            yield EngineHost(provider_pb2_grpc.ResourceProviderStub(channel))
    finally:
        stop_process(process)
