"""Readiness gate: wait until the new revision serves the expected model through the preview Service."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from llmzd_infra.gates.clock import utc_now
from llmzd_infra.gates.inputs import ReadinessSpec, ServiceEndpoint
from llmzd_infra.gates.rollouts import RolloutState
from llmzd_infra.gates.run import GateRun, gate_run

if TYPE_CHECKING:
    from probe.client import ReadinessResult

STEP = "readiness (preview)"
PROBE_TIMEOUT_S = 5.0
# A model list without the expected id must be seen this often in a row before failing early: one sighting
# could be a request that raced the preview selector switch.
WRONG_MODEL_SIGHTINGS = 2


def endpoint_for(state: RolloutState, spec: ReadinessSpec) -> ServiceEndpoint | None:
    """Which Service selects the new ReplicaSet: preview normally; stable when Argo already promoted it
    (first deploy, auto-promotion). None while neither does."""
    current = state.current_pod_hash
    if current is None:
        return None
    if state.preview_selector == current:
        return spec.preview
    if state.active_selector == current:
        return spec.stable
    return None


def describe_probe(endpoint: ServiceEndpoint, result: ReadinessResult) -> str:
    status = f"HTTP {result.status}" if result.status is not None else "no HTTP answer"
    models = f", model ids {list(result.models)}" if result.models else ""
    return f"{endpoint.describe()}: stage {result.stage}, {status}{models}: {result.reason}"


def serves_other_model(result: ReadinessResult, served_model: str) -> bool:
    return bool(result.models) and served_model not in result.models


async def _probe(run: GateRun, endpoint: ServiceEndpoint, timeout_s: float) -> ReadinessResult:
    from probe.client import check_readiness

    async with run.service_client(endpoint) as client:
        return await check_readiness(
            run.service_base_url(endpoint), expected_model=run.target.served_model, timeout=timeout_s, client=client
        )


async def wait_until_ready(spec: ReadinessSpec, *, previous_revision: str | None) -> dict[str, Any]:
    target = spec.target
    started_at = utc_now()
    async with gate_run(target, STEP, previous_revision) as run:
        deadline = run.started + spec.timeout_s
        last_seen = "no answer yet"
        wrong_model = 0
        while True:
            state = await run.read_rollout(limit_s=spec.timeout_s)
            if state is not None:
                if state.aborted and state.carries(target.revision):
                    await run.fail(
                        "the Rollout is aborted for this revision (an earlier gate or a person aborted it)",
                        limit_s=spec.timeout_s, last_seen=["status.abort is true while the Rollout carries it"],
                        abort=False,
                        done=f"nothing was changed; {await run.describe_stable(state)}",
                    )
                waiting = run.waiting_for_spec(state)
                endpoint = None if waiting else endpoint_for(state, spec)
                if waiting or endpoint is None:
                    last_seen = waiting or (
                        f"neither Service selects the new pods (pod hash {state.current_pod_hash}) yet"
                    )
                else:
                    remaining = max(deadline - time.monotonic(), 0.1)
                    result = await _probe(run, endpoint, min(PROBE_TIMEOUT_S, remaining))
                    if result.ready:
                        return {
                            "revision": target.revision,
                            "podHash": state.current_pod_hash,
                            "service": endpoint.service,
                            "modelIds": list(result.models),
                            "startedAt": started_at,
                            "finishedAt": utc_now(),
                            "secondsWaited": round(run.elapsed_s, 3),
                        }
                    last_seen = describe_probe(endpoint, result)
                    wrong_model = wrong_model + 1 if serves_other_model(result, target.served_model) else 0
                    if wrong_model >= WRONG_MODEL_SIGHTINGS:
                        await run.fail(
                            f'the new pods serve {list(result.models)}, not the expected model "{target.served_model}"',
                            limit_s=spec.timeout_s, last_seen=[last_seen], abort=True,
                        )
                run.progress.say(f"waiting: {last_seen}")
            if time.monotonic() >= deadline:
                await run.fail(
                    f"the new revision did not become ready within {spec.timeout_s:g} s",
                    limit_s=spec.timeout_s, last_seen=[last_seen], abort=True,
                )
            await asyncio.sleep(min(target.poll_interval_s, max(deadline - time.monotonic(), 0.0)))
