"""Names and labels of the objects a model owns, in one place so components and outputs agree."""

from __future__ import annotations

from dataclasses import dataclass

PART_OF = "llmzd"
APP_NAME = "vllm"
REVISION_ANNOTATION = "llmzd.io/revision"
CONFIG_HASH_ANNOTATION = "llmzd.io/config-hash"
GATES_ANNOTATION = "llmzd.io/gates"
PROBE_MOUNT_PATH = "/etc/llmzd/probe"
SHM_MOUNT_PATH = "/dev/shm"
PROBE_FILE = "readiness_probe.py"  # the entry point kubelet execs
# Everything the probe runs: the entry point and the module it imports (cached as bytecode, see probe/).
PROBE_FILES = (PROBE_FILE, "vllm_readiness.py")


@dataclass(frozen=True)
class ModelNames:
    model: str

    @property
    def stable_service(self) -> str:
        return f"{self.model}-stable"

    @property
    def preview_service(self) -> str:
        return f"{self.model}-preview"

    @property
    def rollout(self) -> str:
        return self.model

    @property
    def config_resource(self) -> str:
        """The Pulumi name of the model's ConfigMap component (fixed); the ConfigMap in it is named like the object."""
        return f"{self.model}-config"

    def config_map(self, content_hash: str) -> str:
        """The ConfigMap's Kubernetes name, after its content: a settings change makes a new object.

        The old object stays for the stable pods until Pulumi deletes it, which it does only at the end of a
        successful update (llmzd_infra/components/model_config.py).
        """
        return f"{self.model}-config-{content_hash}"

    @property
    def hf_token_secret(self) -> str:
        return f"{self.model}-hf-token"

    @property
    def disruption_budget(self) -> str:
        return f"{self.model}-pdb"


def standard_labels(component: str, instance: str, version: str | None = None) -> dict[str, str]:
    """The ``app.kubernetes.io/*`` labels every object carries."""
    labels = {
        "app.kubernetes.io/name": APP_NAME if component == "inference" else PART_OF,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "llmzd",
    }
    if version:
        labels["app.kubernetes.io/version"] = version
    return labels


def selector_labels(model: str) -> dict[str, str]:
    """The stable subset of labels Services and the Rollout select on; never add a changing value here."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": model}


def in_cluster_url(service: str, namespace: str, port: int) -> str:
    return f"http://{service}.{namespace}.svc.cluster.local:{port}/v1"
