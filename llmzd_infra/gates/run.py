"""One execution of one gate: the cluster session, the clock, what was last seen, and failing with abort."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import NoReturn

import httpx

from llmzd_infra.gates import rollouts
from llmzd_infra.gates.errors import ClusterAccessError, GateFailed, redact
from llmzd_infra.gates.inputs import GateTarget, ServiceEndpoint
from llmzd_infra.gates.kube import KubeSession, open_session
from llmzd_infra.gates.report import FailureReport, Progress
from llmzd_infra.gates.rollouts import ApiUnreachable, RolloutState

# Before the API server has answered once in this call, this many connection failures in a row end the
# gate at once: a wrong server address should not hold `pulumi up` for the whole readiness budget.
UNREACHABLE_ATTEMPTS = 3
SERVICE_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass
class GateRun:
    target: GateTarget
    step: str
    session: KubeSession
    progress: Progress
    previous_revision: str | None = None
    started: float = field(default_factory=time.monotonic)
    last_rollout: RolloutState | None = None
    _answered: bool = False
    _unreachable_streak: int = 0

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def service_base_url(self, endpoint: ServiceEndpoint) -> str:
        return endpoint.url or self.session.service_proxy_url(self.target.namespace, endpoint.service, self.target.port)

    @asynccontextmanager
    async def service_client(self, endpoint: ServiceEndpoint) -> AsyncIterator[httpx.AsyncClient]:
        """The API server's authenticated client for the proxy; a plain one for an explicit URL, so the
        cluster credentials are never sent to an ingress or port-forward."""
        if endpoint.url is None:
            yield self.session.client
            return
        async with httpx.AsyncClient(timeout=SERVICE_TIMEOUT) as client:
            yield client

    async def read_rollout(self, *, limit_s: float) -> RolloutState | None:
        """The Rollout now, or None after a transient connection failure (the caller polls again)."""
        try:
            state = await rollouts.read_rollout(self.session, self.target.rollout)
        except ApiUnreachable as exc:
            self._unreachable_streak += 1
            if not self._answered and self._unreachable_streak >= UNREACHABLE_ATTEMPTS:
                await self.fail(
                    "the Kubernetes API server cannot be reached", limit_s=limit_s, last_seen=[str(exc)],
                    abort=False, done="nothing was changed in the cluster (it could not be reached)",
                    next_steps="check llmzd:kubeconfig / llmzd:kubeContext, or switch gates off for this model "
                    "with gates.enabled: false where this machine cannot reach the cluster",
                )
            self.progress.say(f"API server not answering yet ({exc})")
            return None
        except ClusterAccessError as exc:
            await self.fail("the Rollout could not be read", limit_s=limit_s, last_seen=[str(exc)], abort=False)
        self._answered = True
        self._unreachable_streak = 0
        self.last_rollout = state
        return state

    def waiting_for_spec(self, state: RolloutState) -> str | None:
        """Why the Rollout's status does not describe the expected revision yet; None when it does."""
        if state.template_revision != self.target.revision:
            return (
                f"the Rollout's pod template carries revision {state.template_revision}, "
                f"not yet {self.target.revision}"
            )
        if not state.controller_caught_up:
            return (
                f"the Argo Rollouts controller has not observed generation {state.generation} yet "
                f"(observed {state.observed_generation})"
            )
        return None

    async def fail(
        self,
        summary: str,
        *,
        limit_s: float | None,
        last_seen: list[str],
        abort: bool,
        done: str | None = None,
        next_steps: str | None = None,
    ) -> NoReturn:
        ref = self.target.rollout
        if abort:
            done, abort_next_steps = await self._abort()
            next_steps = abort_next_steps or next_steps
        report = FailureReport(
            model=self.target.model_name,
            revision=self.target.revision,
            step=self.step,
            summary=summary,
            waited_s=self.elapsed_s,
            limit_s=limit_s,
            last_seen=last_seen,
            rollout=f"{ref}: {self.last_rollout.describe()}" if self.last_rollout else None,
            done=done or "nothing was changed in the cluster",
            next_steps=next_steps or self._default_next_steps(),
        )
        raise GateFailed(redact(report.render(), self.session.secrets))

    def _default_next_steps(self) -> str:
        ref = self.target.rollout
        return (
            "fix the cause shown above in the model's llmzd config and run `pulumi up` again; to retry this "
            f"same revision: `kubectl argo rollouts retry rollout {ref.name} -n {ref.namespace}`, then `pulumi up`"
        )

    async def _abort(self) -> tuple[str, str | None]:
        """Abort the Rollout if Argo would act on it: what was done, and next steps when they differ."""
        ref = self.target.rollout
        with suppress(ClusterAccessError):  # decide on the freshest state; the last one seen will do
            self.last_rollout = await rollouts.read_rollout(self.session, ref)
        state = self.last_rollout
        if state is not None and state.carries(self.target.revision) and state.stable_is_current:
            return self._nothing_to_abort_to(state)
        try:
            after = await rollouts.abort(self.session, ref)
        except ClusterAccessError as exc:
            return (
                f"could not abort rollout {ref} ({exc}); abort it by hand: "
                f"`kubectl argo rollouts abort {ref.name} -n {ref.namespace}`"
            ), None
        self.progress.say(f"aborted rollout {ref}")
        return f"aborted rollout {ref}; {await self.describe_stable(after)}", None

    def _nothing_to_abort_to(self, state: RolloutState) -> tuple[str, str]:
        # Argo Rollouts drops an abort while the stable ReplicaSet is the current one: its blue/green
        # reconcile takes the "initial deploy" and "fast rollback" paths (stableRS == currentPodHash), which
        # promote the stable ReplicaSet and clear status.abort (argo-rollouts v1.9.1, rollout/bluegreen.go).
        # Sending one would only be undone, and saying "aborted" would be untrue.
        ref, revision = self.target.rollout, self.target.revision
        if self.previous_revision is None:
            why = "it is the Rollout's first revision, which Argo Rollouts made stable at once"
            go_back = (
                "fix the cause shown above in the model's llmzd config and run `pulumi up` (a new gated roll); "
                "meanwhile this revision keeps serving, or remove the model from the config to take it down"
            )
        else:
            why = "traffic has already switched to it"
            go_back = (
                f"to go back, revert the model's llmzd config to revision {self.previous_revision}'s settings and "
                "run `pulumi up`: a new gated roll (Argo Rollouts keeps the previous ReplicaSet for "
                "scaleDownDelaySeconds, so it comes back fast while that lasts)"
            )
        done = (
            f"did not abort rollout {ref}: there is nothing to abort to, because revision {revision} "
            f"(pod hash {state.current_pod_hash}) is already its stable revision ({why}); the Rollout is "
            f"{state.phase} and the stable Service serves revision {revision}"
        )
        return done, go_back

    async def describe_stable(self, state: RolloutState) -> str:
        pod_hash = state.stable_pod_hash
        if not pod_hash:
            return "there is no earlier revision, so the stable Service has no pods to serve"
        revision = await rollouts.revision_of_pod_hash(self.session, self.target.namespace, pod_hash)
        revision = revision or self.previous_revision or "unknown"
        return f"stable still on revision {revision} (pod hash {pod_hash})"


@asynccontextmanager
async def gate_run(target: GateTarget, step: str, previous_revision: str | None) -> AsyncIterator[GateRun]:
    """Open the cluster session for one gate; a cluster that cannot be used fails the gate, naming why."""
    progress = Progress(f"{target.model_name} {step}")
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        try:
            session = await stack.enter_async_context(open_session(target.access))
        except ClusterAccessError as exc:
            report = FailureReport(
                model=target.model_name, revision=target.revision, step=step,
                summary="the cluster cannot be used", waited_s=time.monotonic() - started, limit_s=None,
                last_seen=[str(exc)],
                next_steps="fix llmzd:kubeconfig / llmzd:kubeContext, or set gates.enabled: false for this model",
            )
            raise GateFailed(report.render()) from None
        yield GateRun(target, step, session, progress, previous_revision, started=started)
