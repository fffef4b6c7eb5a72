"""Smoke gate: /health, a completion with text and a streamed completion ending in [DONE], on one Service."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from llmzd_infra.gates.clock import utc_now
from llmzd_infra.gates.errors import excerpt
from llmzd_infra.gates.inputs import SmokeSpec
from llmzd_infra.gates.rollouts import RolloutState
from llmzd_infra.gates.run import GateRun, gate_run

SMOKE_REQUESTS = 3


def step_name(side: str) -> str:
    return f"smoke ({side})"


def selects_new_pods(state: RolloutState, side: str) -> bool:
    selector = state.preview_selector if side == "preview" else state.active_selector
    return state.current_pod_hash is not None and selector == state.current_pod_hash


async def _wait_for_selector(run: GateRun, spec: SmokeSpec, deadline: float) -> None:
    """Bounded: the Service under test must select the revision's pods, or the smoke would test old pods."""
    side = spec.endpoint.side
    while True:
        state = await run.read_rollout(limit_s=spec.timeout_s)
        if state is not None:
            waiting = run.waiting_for_spec(state)
            if waiting is None and selects_new_pods(state, side):
                return
            run.progress.say(f"waiting: {waiting or f'the {side} Service does not select the new pods yet'}")
        if time.monotonic() >= deadline:
            await run.fail(
                f"the {side} Service did not select revision {run.target.revision}'s pods",
                limit_s=spec.timeout_s, last_seen=[run.last_rollout.describe() if run.last_rollout else "no answer"],
                abort=side == "preview",
            )
        await asyncio.sleep(min(run.target.poll_interval_s, max(deadline - time.monotonic(), 0.0)))


async def run_smoke_gate(spec: SmokeSpec, *, previous_revision: str | None) -> dict[str, Any]:
    from loadgen.smoke import run_smoke

    target = spec.target
    side = spec.endpoint.side
    started_at = utc_now()
    async with gate_run(target, step_name(side), previous_revision) as run:
        await _wait_for_selector(run, spec, run.started + spec.timeout_s)
        run.progress.say(f"running smoke checks on {spec.endpoint.describe()}")
        # The timeout is per request (health, completion, streaming); the whole run is bounded by all three.
        overall_s = SMOKE_REQUESTS * spec.timeout_s
        async with run.service_client(spec.endpoint) as client:
            try:
                report = await asyncio.wait_for(
                    run_smoke(run.service_base_url(spec.endpoint), model=target.served_model, client=client,
                              timeout=spec.timeout_s),
                    timeout=overall_s,
                )
            except TimeoutError:
                report = None
        if report is None or not report.ok:
            summary = (
                f"smoke checks did not finish within {overall_s:g} s" if report is None
                else f"smoke checks failed on the {side} Service"
            )
            seen = [f"{spec.endpoint.describe()}: {excerpt(report.failure_summary(), 400)}"] if report else []
            # On the stable side the revision is already stable, so the abort step reports that there is
            # nothing to abort to; on the preview side it aborts unless this is a first deploy.
            await run.fail(summary, limit_s=spec.timeout_s, last_seen=seen or ["no smoke result"], abort=True)
        return {
            "revision": target.revision,
            "side": side,
            "ttftSeconds": report.ttft_s,
            "totalSeconds": report.total_s,
            "checks": [
                {"name": check.name, "ok": check.ok, "seconds": round(check.seconds, 4)} for check in report.checks
            ],
            "startedAt": started_at,
            "finishedAt": utc_now(),
            "secondsWaited": round(run.elapsed_s, 3),
        }

