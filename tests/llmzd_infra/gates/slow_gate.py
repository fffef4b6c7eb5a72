"""A gate that only waits, for measuring how the dynamic provider host schedules blocking gate calls."""

from __future__ import annotations

import asyncio
from typing import Any

from llmzd_infra.gates.providers import GateProvider

WAIT_S = 1.5


class SlowGateProvider(GateProvider):
    kind = "readiness"

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> Any:
        from pulumi.dynamic import CheckResult

        return CheckResult(news, [])

    async def execute(self, props: dict[str, Any], previous_revision: str | None) -> dict[str, Any]:
        await asyncio.sleep(WAIT_S)
        return {"waited": WAIT_S}
