"""Pydantic models for the whole stack. Keys are camelCase in Pulumi config, snake_case in Python.

Defaults follow the seeds: seed 000's probe settings and seed 003's drain budget (preStop 60 s, grace 90 s).
Shape and range rules live here; rules that relate several fields live in ``rules.py`` so each violation
can name its own key path.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

PositiveSeconds = Annotated[int, Field(ge=1, le=86_400)]
Quantity = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P|E|Ei)?$")]


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class HelmChartAddon(ConfigModel):
    install: bool = True
    chart_version: Annotated[str, Field(min_length=1, pattern=r"^[0-9A-Za-z.+\-]+$")]
    namespace: str
    values: dict[str, object] = Field(default_factory=dict)


def _device_plugin_default() -> HelmChartAddon:
    return HelmChartAddon(chart_version="0.18.0", namespace="kube-system")


def _argo_rollouts_default() -> HelmChartAddon:
    return HelmChartAddon(chart_version="2.40.2", namespace="argo-rollouts")


class AddonsConfig(ConfigModel):
    """Cluster add-ons; switch an install off where the GPU operator or Argo Rollouts is already present."""

    nvidia_device_plugin: HelmChartAddon = Field(default_factory=_device_plugin_default)
    argo_rollouts: HelmChartAddon = Field(default_factory=_argo_rollouts_default)


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
        separator = "@" if self.tag.startswith("sha256:") else ":"
        return f"{self.repository}{separator}{self.tag}"


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
    requests: ResourceAmounts = ResourceAmounts(cpu="2", memory="8Gi")
    limits: ResourceAmounts = ResourceAmounts(memory="16Gi")


class Toleration(ConfigModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class ModelCacheConfig(ConfigModel):
    """Where weights are cached: a per-pod emptyDir, or an existing PVC shared across revisions."""

    type: Literal["emptyDir", "pvc"] = "emptyDir"
    size_limit: Quantity | None = "20Gi"
    claim_name: str | None = None
    mount_path: str = "/root/.cache/huggingface"


class ProbeTiming(ConfigModel):
    initial_delay_seconds: Annotated[int, Field(ge=0, le=3600)]
    period_seconds: Annotated[int, Field(ge=1, le=3600)]
    timeout_seconds: Annotated[int, Field(ge=1, le=3600)]
    failure_threshold: Annotated[int, Field(ge=1, le=10_000)]

    @property
    def budget_seconds(self) -> int:
        """Longest time this probe tolerates failures before it gives up."""
        return self.initial_delay_seconds + self.period_seconds * self.failure_threshold


ModelSizeClass = Literal["small", "medium", "large"]


class ProbesConfig(ConfigModel):
    """Probe timings. ``startup`` wins; else a size class or parameter count picks seed 000's row."""

    model_size: ModelSizeClass | None = None
    parameter_count_billions: Annotated[float, Field(gt=0)] | None = None
    startup: ProbeTiming | None = None
    readiness: ProbeTiming = ProbeTiming(
        initial_delay_seconds=5, period_seconds=10, timeout_seconds=5, failure_threshold=3
    )
    liveness: ProbeTiming = ProbeTiming(
        initial_delay_seconds=10, period_seconds=30, timeout_seconds=5, failure_threshold=3
    )


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
    max_5xx_rate: Annotated[float, Field(ge=0, le=1)] = 0.02
    min_stream_completion: Annotated[float, Field(ge=0, le=1)] = 0.90


class GateSettings(ConfigModel):
    """Checks that hold ``pulumi up`` until the new revision serves (see the gates section of the README)."""

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
    shm_size: Quantity = "2Gi"
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
