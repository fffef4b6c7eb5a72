"""Pydantic models for the whole stack. Keys are camelCase in Pulumi config, snake_case in Python.

Probe defaults follow llm-d's readiness probe for vLLM; the drain budget (preStop 60 s, grace 90 s) follows the
zero-downtime update guide with Argo Rollouts.
Shape and range rules live here; rules that relate several fields live in ``rules.py`` so each violation
can name its own key path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

PositiveSeconds = Annotated[int, Field(ge=1, le=86_400)]
Quantity = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P|E|Ei)?$")]


def _expects_number(annotation: Any) -> bool:
    """Whether a field takes an int or float (looking through Annotated and ``| None``) and never a bool."""
    if annotation is bool:
        return False
    if annotation in (int, float):
        return True
    parts = get_args(annotation)
    return bool(parts) and bool not in parts and any(_expects_number(part) for part in parts)


_BOOL_STRINGS = {"true": True, "false": False}


def _expects_bool(annotation: Any) -> bool:
    return annotation is bool


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # Pydantic's lax mode reads `port: true` as 1; in a config file that is a typo, not a port.
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        if isinstance(value, bool) and _expects_number(field.annotation):
            raise ValueError("a number, not true/false")
        if _expects_bool(field.annotation) and not isinstance(value, bool):
            # Lax mode would read 0, 1, "yes" or "off" as booleans; only true/false, and the strings the Pulumi
            # CLI stores for them (`pulumi config set --path ... false` keeps the string "false").
            if value in _BOOL_STRINGS:
                return _BOOL_STRINGS[value]
            raise ValueError("true or false")
        return value


class HelmChartAddon(ConfigModel):
    install: bool = True
    chart_version: Annotated[str, Field(min_length=1, pattern=r"^[0-9A-Za-z.+\-]+$")]
    namespace: Annotated[str, Field(min_length=1, max_length=63)]
    values: dict[str, object] = Field(default_factory=dict)


# One subclass per add-on so each key keeps its own default when a user sets only some of them
# (e.g. `argoRollouts: {install: false}` on a cluster that already runs the controller).
class DevicePluginAddon(HelmChartAddon):
    chart_version: Annotated[str, Field(min_length=1, pattern=r"^[0-9A-Za-z.+\-]+$")] = "0.18.0"
    namespace: Annotated[str, Field(min_length=1, max_length=63)] = "kube-system"


class ArgoRolloutsAddon(HelmChartAddon):
    chart_version: Annotated[str, Field(min_length=1, pattern=r"^[0-9A-Za-z.+\-]+$")] = "2.40.2"
    namespace: Annotated[str, Field(min_length=1, max_length=63)] = "argo-rollouts"


class AddonsConfig(ConfigModel):
    """Cluster add-ons; switch an install off where the GPU operator or Argo Rollouts is already present."""

    nvidia_device_plugin: DevicePluginAddon = DevicePluginAddon()
    argo_rollouts: ArgoRolloutsAddon = ArgoRolloutsAddon()


class ModelSource(ConfigModel):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
    revision: str | None = None
    served_name: str | None = None

    @property
    def served_model_name(self) -> str:
        return self.served_name or self.id


class ImageConfig(ConfigModel):
    repository: str = "vllm/vllm-openai"
    tag: str = "v0.11.0"
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"

    @property
    def reference(self) -> str:
        from llmzd_infra.config.image_reference import image_reference

        return image_reference(self.repository, self.tag)


class VllmSettings(ConfigModel):
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] = "auto"
    max_model_len: Annotated[int, Field(ge=16)] | None = 4096
    gpu_memory_utilization: Annotated[float, Field(gt=0.0, le=1.0)] = 0.90
    tensor_parallel_size: Annotated[int, Field(ge=1, le=64)] = 1
    extra_args: list[str] = Field(default_factory=list)


class ResourceAmounts(ConfigModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class ResourcesConfig(ConfigModel):
    # An unset memory request or limit is derived from what vLLM needs on the host (config/host_sizing.py).
    requests: ResourceAmounts = ResourceAmounts(cpu="2")
    limits: ResourceAmounts = ResourceAmounts()


class Toleration(ConfigModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class ModelCacheConfig(ConfigModel):
    """Where weights are cached: a per-pod emptyDir, or an existing PVC shared across revisions."""

    type: Literal["emptyDir", "pvc"] = "emptyDir"
    # Unset: derived from probes.parameterCountBillions and vllm.dtype, else 20Gi (config/host_sizing.py).
    size_limit: Quantity | None = None
    claim_name: str | None = None
    mount_path: str = "/root/.cache/huggingface"


ProbeSeconds = Annotated[int, Field(ge=0, le=3600)]
PositiveProbeSeconds = Annotated[int, Field(ge=1, le=3600)]
FailureThreshold = Annotated[int, Field(ge=1, le=10_000)]


class ProbeTiming(ConfigModel):
    initial_delay_seconds: ProbeSeconds
    period_seconds: PositiveProbeSeconds
    timeout_seconds: PositiveProbeSeconds
    failure_threshold: FailureThreshold

    @property
    def budget_seconds(self) -> int:
        """Longest time this probe tolerates failures before it gives up."""
        return self.initial_delay_seconds + self.period_seconds * self.failure_threshold


# llm-d's readiness (5/10/5/3) and liveness (10/30/5/3) settings, field by field, so overriding one
# timing (say failureThreshold) keeps llm-d's value for the others.
class ReadinessTiming(ProbeTiming):
    initial_delay_seconds: ProbeSeconds = 5
    period_seconds: PositiveProbeSeconds = 10
    timeout_seconds: PositiveProbeSeconds = 5
    failure_threshold: FailureThreshold = 3


class LivenessTiming(ProbeTiming):
    initial_delay_seconds: ProbeSeconds = 10
    period_seconds: PositiveProbeSeconds = 30
    timeout_seconds: PositiveProbeSeconds = 5
    failure_threshold: FailureThreshold = 3


class StartupOverride(ConfigModel):
    """Explicit startup timings; a key left out comes from the size-derived row (see ``sizing.py``)."""

    initial_delay_seconds: ProbeSeconds | None = None
    period_seconds: PositiveProbeSeconds | None = None
    timeout_seconds: PositiveProbeSeconds | None = None
    failure_threshold: FailureThreshold | None = None


ModelSizeClass = Literal["small", "medium", "large"]


class ProbesConfig(ConfigModel):
    """Probe timings. ``startup`` keys win; the rest come from the size class or parameter count row."""

    model_size: ModelSizeClass | None = None
    parameter_count_billions: Annotated[float, Field(gt=0, le=100_000)] | None = None
    startup: StartupOverride | None = None
    readiness: ReadinessTiming = ReadinessTiming()
    liveness: LivenessTiming = LivenessTiming()


class DrainConfig(ConfigModel):
    pre_stop_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    termination_grace_period_seconds: Annotated[int, Field(ge=1, le=7200)] = 90
    shutdown_margin_seconds: Annotated[int, Field(ge=0, le=600)] = 10
    longest_stream_seconds: Annotated[int, Field(ge=1)] | None = None


class BlueGreenConfig(ConfigModel):
    auto_promotion_enabled: bool = False
    scale_down_delay_seconds: Annotated[int, Field(ge=0, le=86_400)] = 60
    preview_replica_count: Annotated[int, Field(ge=1)] | None = None


class LoadGateSettings(ConfigModel):
    enabled: bool = False
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 4
    duration_seconds: Annotated[int, Field(ge=1, le=3600)] = 30
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.05
    # to_camel would spell this `max5XxRate`; users (and the gate's own props) write `max5xxRate`.
    max_5xx_rate: Annotated[float, Field(ge=0, le=1, alias="max5xxRate")] = 0.02
    min_stream_completion: Annotated[float, Field(ge=0, le=1)] = 0.90


class GateSettings(ConfigModel):
    """Checks that hold ``pulumi up`` until the new revision serves (see docs/gates.md)."""

    enabled: bool = True
    readiness_timeout_seconds: Annotated[int, Field(ge=1)] | None = None
    poll_interval_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0
    smoke: bool = True
    smoke_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    promotion_timeout_seconds: Annotated[int, Field(ge=1)] = 600
    preview_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    stable_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    load: LoadGateSettings = LoadGateSettings()


class DisruptionBudgetConfig(ConfigModel):
    max_unavailable: Annotated[int, Field(ge=0)] = 1


DnsLabel = Annotated[str, Field(min_length=1, max_length=63)]


class ModelDeployment(ConfigModel):
    name: DnsLabel
    model: ModelSource
    image: ImageConfig = ImageConfig()
    vllm: VllmSettings = VllmSettings()
    replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    gpus_per_replica: Annotated[int, Field(ge=0, le=64)] = 1
    resources: ResourcesConfig = ResourcesConfig()
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    model_cache: ModelCacheConfig = ModelCacheConfig()
    shm_size: Quantity | None = None  # unset: derived from vllm.tensorParallelSize (config/host_sizing.py)
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    hf_token_key: str | None = None
    probes: ProbesConfig = ProbesConfig()
    drain: DrainConfig = DrainConfig()
    blue_green: BlueGreenConfig = BlueGreenConfig()
    gates: GateSettings = GateSettings()
    disruption_budget: DisruptionBudgetConfig = DisruptionBudgetConfig()

    @property
    def preview_replicas(self) -> int:
        return self.blue_green.preview_replica_count or self.replicas


class ClusterAccess(ConfigModel):
    """How the machine running ``pulumi up`` reaches the cluster; kubeconfig content stays a Pulumi secret."""

    kube_context: str | None = None
    has_kubeconfig: bool = False
    render_yaml_to_directory: str | None = None


class StackConfig(ConfigModel):
    namespace: DnsLabel = "llm-serving"
    addons: AddonsConfig = AddonsConfig()
    models: Annotated[list[ModelDeployment], Field(min_length=1)]
    cluster: ClusterAccess = ClusterAccess()
    gpu_budget: Annotated[int, Field(ge=0)] | None = None
