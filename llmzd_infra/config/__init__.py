"""Typed stack configuration: parsed once from Pulumi config (namespace ``llmzd``) at the program's edge."""

from llmzd_infra.config.errors import ConfigError, ConfigIssue
from llmzd_infra.config.loader import (
    CONFIG_NAMESPACE,
    ParsedConfig,
    StackSecrets,
    load_stack_config,
    parse_stack_config,
)
from llmzd_infra.config.models import (
    AddonsConfig,
    BlueGreenConfig,
    ClusterAccess,
    DrainConfig,
    GateSettings,
    HelmChartAddon,
    ImageConfig,
    LoadGateSettings,
    ModelCacheConfig,
    ModelDeployment,
    ModelSource,
    ProbesConfig,
    ProbeTiming,
    StackConfig,
    VllmSettings,
)

__all__ = [
    "CONFIG_NAMESPACE",
    "AddonsConfig",
    "BlueGreenConfig",
    "ClusterAccess",
    "ConfigError",
    "ConfigIssue",
    "DrainConfig",
    "GateSettings",
    "HelmChartAddon",
    "ImageConfig",
    "LoadGateSettings",
    "ModelCacheConfig",
    "ModelDeployment",
    "ModelSource",
    "ParsedConfig",
    "ProbeTiming",
    "ProbesConfig",
    "StackConfig",
    "StackSecrets",
    "VllmSettings",
    "load_stack_config",
    "parse_stack_config",
]
