"""Promotion gate: promote the paused Rollout (once), then wait until it is Healthy on the new revision.

With auto-promotion on, nothing is sent; the gate only waits and checks. On a first deploy Argo promotes
the first ReplicaSet without a pause, so a Rollout already Healthy on the expected revision passes as is.
Optionally the load generator runs against the stable Service from just before the promotion until the
Rollout is Healthy and at least its configured duration has passed, and its thresholds must hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Literal

from llmzd_infra.gates import rollouts
from llmzd_infra.gates.clock import utc_now
from llmzd_infra.gates.errors import ClusterAccessError
from llmzd_infra.gates.inputs import LoadSpec, PromotionSpec
from llmzd_infra.gates.rollouts import RolloutState
from llmzd_infra.gates.run import GateRun, gate_run

STEP = "promotion"
LOAD_GRACE_S = 30.0  # how long a stopped load run may take to wind down
LOAD_REQUEST_TIMEOUT_S = 60.0

PromotionResult = Literal["promoted", "auto-promoted", "already-promoted"]


def waiting_reason(state: RolloutState, *, auto_promotion: bool, promoted: bool) -> str:
    if promoted or auto_promotion:
        return (
            f"waiting for phase Healthy with the active Service on pod hash {state.current_pod_hash} "
            f"({state.describe()})"
        )
    return f"waiting for the Rollout to pause for promotion (BlueGreenPause) ({state.describe()})"


def degraded(state: RolloutState) -> bool:
    return state.phase == "Degraded" or state.aborted


class _LoadRun:
    """The optional load generator against the stable Service, as a background task."""

    def __init__(self, run: GateRun, spec: PromotionSpec, load: LoadSpec) -> None:
        self.run, self.spec, self.load = run, spec, load
        self.stop = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None
        self.started = 0.0
        self._client_cm: contextlib.AbstractAsyncContextManager[Any] | None = None

    async def start(self) -> None:
        from loadgen.config import LoadConfig
        from loadgen.runner import run_load

        config = LoadConfig(
            url=self.run.service_base_url(self.spec.stable),
            model=self.run.target.served_model,
            concurrency=self.load.concurrency,
            # An upper bound only: finish() stops the run once the Rollout is Healthy and the duration has passed.
            duration=self.load.duration_s + self.spec.timeout_s,
            timeout=LOAD_REQUEST_TIMEOUT_S,
        )
        self._client_cm = self.run.service_client(self.spec.stable)
        client = await self._client_cm.__aenter__()
        self.run.progress.say(
            f"load: {self.load.concurrency} streams on {self.spec.stable.describe()} until Healthy "
            f"and at least {self.load.duration_s:g} s"
        )
        self.started = time.monotonic()
        self.task = asyncio.create_task(run_load(config, client=client, stop=self.stop))

    async def finish(self) -> tuple[dict[str, Any], list[str]]:
        from loadgen.verify import Thresholds, evaluate

        assert self.task is not None
        await asyncio.sleep(max(self.started + self.load.duration_s - time.monotonic(), 0.0))
        self.stop.set()
        try:
            report = await asyncio.wait_for(self.task, timeout=LOAD_GRACE_S)
        except Exception as exc:  # the load run itself broke: report it as this gate's failure
            await self.close()
            return {}, [f"the load generator could not run: {type(exc).__name__}: {exc}"]
        await self.close()
        summary = report.summary()
        thresholds = Thresholds(self.load.max_error_rate, self.load.max_5xx_rate, self.load.min_stream_completion)
        return summary, evaluate(summary, thresholds)

    async def cancel(self) -> None:
        if self.task is not None:
            self.stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, timeout=LOAD_GRACE_S)
        await self.close()

    async def close(self) -> None:
        if self._client_cm is not None:
            cm, self._client_cm = self._client_cm, None
            await cm.__aexit__(None, None, None)


async def promote_and_wait(spec: PromotionSpec, *, previous_revision: str | None) -> dict[str, Any]:
    target = spec.target
    started_at = utc_now()
    async with gate_run(target, STEP, previous_revision) as run:
        load = _LoadRun(run, spec, spec.load) if spec.load else None
        try:
            return await _promote(run, spec, load, started_at)
        finally:
            if load is not None:
                await load.cancel()


async def _promote(run: GateRun, spec: PromotionSpec, load: _LoadRun | None, started_at: str) -> dict[str, Any]:
    target = run.target
    deadline = run.started + spec.timeout_s
    result: PromotionResult | None = None
    promoted_at: str | None = None
    last_seen = "no answer yet"
    while True:
        state = await run.read_rollout(limit_s=spec.timeout_s)
        if state is not None:
            waiting = run.waiting_for_spec(state)
            if waiting is None and state.fully_promoted:
                return await _passed(run, spec, state, result or "already-promoted", load, started_at, promoted_at)
            if waiting is None and degraded(state):
                await run.fail(
                    f"the Rollout went {state.phase} instead of Healthy", limit_s=spec.timeout_s,
                    last_seen=[f"phase {state.phase}: {state.message or 'no message'}"], abort=True,
                )
            if waiting is None and result is None:
                if load is not None and load.task is None:
                    await load.start()
                if spec.auto_promotion:
                    result = "auto-promoted"
                elif state.paused_for_promotion:
                    await _send_promotion(run, spec)
                    result, promoted_at = "promoted", utc_now()
                    continue
            last_seen = waiting or waiting_reason(
                state, auto_promotion=spec.auto_promotion, promoted=result is not None
            )
            run.progress.say(last_seen)
        if time.monotonic() >= deadline:
            await run.fail(
                f"the Rollout did not become Healthy on revision {target.revision} within {spec.timeout_s:g} s",
                limit_s=spec.timeout_s, last_seen=[last_seen], abort=True,
            )
        await asyncio.sleep(min(target.poll_interval_s, max(deadline - time.monotonic(), 0.0)))


async def _send_promotion(run: GateRun, spec: PromotionSpec) -> None:
    ref = run.target.rollout
    try:
        await rollouts.promote(run.session, ref)
    except ClusterAccessError as exc:
        await run.fail("the promotion patch was refused", limit_s=spec.timeout_s, last_seen=[str(exc)], abort=True)
    run.progress.say(f"promoted rollout {ref} (status patch clearing BlueGreenPause)")


async def _passed(
    run: GateRun,
    spec: PromotionSpec,
    state: RolloutState,
    result: PromotionResult,
    load: _LoadRun | None,
    started_at: str,
    promoted_at: str | None,
) -> dict[str, Any]:
    load_summary: dict[str, Any] | None = None
    if load is not None and load.task is not None:
        load_summary, violations = await load.finish()
        if violations:
            await run.fail(
                "the no-downtime thresholds were not met during promotion", limit_s=spec.timeout_s,
                last_seen=violations, abort=False,
                done=f"did not abort: rollout {run.target.rollout} is already promoted to revision "
                f"{run.target.revision}",
            )
    return {
        "revision": run.target.revision,
        "podHash": state.current_pod_hash,
        "result": result,
        "activeSelector": state.active_selector,
        "promotedAt": promoted_at,
        "startedAt": started_at,
        "finishedAt": utc_now(),
        "secondsWaited": round(run.elapsed_s, 3),
        "loadSummary": load_summary,
    }
