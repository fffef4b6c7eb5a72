"""Pod-spec values the Kubernetes API server refuses, checked before any resource exists.

Each rule cites k8s.io/kubernetes v1.34.4 pkg/apis/core/validation/validation.go:
- validateResourceRequirements: a request must be less than or equal to its limit;
- ValidateTolerations: an empty key needs operator Exists; tolerationSeconds needs effect NoExecute; Exists takes
  no value; a key is a label name and an Equal value a label value;
- ValidatePodSpec: nodeSelector goes through ValidateLabels (keys qualified names, values label values);
- ValidateVolumeMounts: each mountPath at most once per container.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from llmzd_infra.config.errors import ConfigIssue
from llmzd_infra.config.host_sizing import CACHE_MARGIN, PROCESS_MEMORY_GIB, host_memory_bytes, shm_size, weights_bytes
from llmzd_infra.config.models import ModelDeployment
from llmzd_infra.config.quantity import gibibytes, parse_quantity
from llmzd_infra.k8s_validation import label_value_problem, qualified_name_problem
from llmzd_infra.naming import PROBE_MOUNT_PATH, SHM_MOUNT_PATH


def pod_spec_issues(key: str, model: ModelDeployment) -> Iterator[ConfigIssue]:
    yield from _resource_issues(key, model)
    yield from _toleration_issues(key, model)
    yield from _node_selector_issues(key, model)
    yield from _mount_issues(key, model)


def _resource_issues(key: str, model: ModelDeployment) -> Iterator[ConfigIssue]:
    requests, limits = model.resources.requests, model.resources.limits
    needed = host_memory_bytes(model)
    if limits.memory is not None and parse_quantity(limits.memory) < needed:
        yield ConfigIssue(
            f"{key}.resources.limits.memory", limits.memory,
            f"at least {gibibytes(needed)}: vLLM's CPU swap space (4 GiB per GPU), /dev/shm ({shm_size(model)}, "
            f"memory-backed, so it counts against this limit) and {PROCESS_MEMORY_GIB} GiB for the server; or leave it "
            "unset to derive it",
        )
    weights = weights_bytes(model)
    cache = model.model_cache
    if weights is not None and cache.type == "emptyDir" and cache.size_limit is not None \
            and parse_quantity(cache.size_limit) < weights * CACHE_MARGIN:
        yield ConfigIssue(
            f"{key}.modelCache.sizeLimit", cache.size_limit,
            f"at least {gibibytes(weights * CACHE_MARGIN)}: {model.probes.parameter_count_billions:g}B parameters "
            f"as {model.vllm.dtype} take {weights / 1e9:.0f} GB, plus 25 % margin; a smaller emptyDir gets the pod "
            "evicted mid-download; or leave it unset to derive it",
        )
    for resource in ("cpu", "memory"):
        request, limit = getattr(requests, resource), getattr(limits, resource)
        if request is not None and limit is not None and parse_quantity(request) > parse_quantity(limit):
            yield ConfigIssue(
                f"{key}.resources.requests.{resource}", request,
                f"at most resources.limits.{resource} ({limit}): the API server refuses a request above its "
                f"limit; raise the limit too",
            )


def _toleration_issues(key: str, model: ModelDeployment) -> Iterator[ConfigIssue]:
    for index, toleration in enumerate(model.tolerations):
        path = f"{key}.tolerations[{index}]"
        if not toleration.key and toleration.operator != "Exists":
            yield ConfigIssue(
                f"{path}.operator", toleration.operator,
                "'Exists' when key is empty (it then tolerates every taint), or set a key",
            )
        if toleration.key and qualified_name_problem(toleration.key):
            yield ConfigIssue(
                f"{path}.key", toleration.key,
                f"a taint key such as 'nvidia.com/gpu' ({qualified_name_problem(toleration.key)})",
            )
        if toleration.toleration_seconds is not None and toleration.effect != "NoExecute":
            yield ConfigIssue(
                f"{path}.effect", toleration.effect,
                "'NoExecute' when tolerationSeconds is set (only NoExecute taints evict), or drop tolerationSeconds",
            )
        if toleration.operator == "Exists" and toleration.value:
            yield ConfigIssue(f"{path}.value", toleration.value, "no value when operator is 'Exists'")
        if toleration.operator == "Equal" and toleration.value and label_value_problem(toleration.value):
            yield ConfigIssue(
                f"{path}.value", toleration.value, f"a label value ({label_value_problem(toleration.value)})"
            )


def _node_selector_issues(key: str, model: ModelDeployment) -> Iterator[ConfigIssue]:
    for label, value in model.node_selector.items():
        problem = qualified_name_problem(label)
        if problem:
            yield ConfigIssue(
                f"{key}.nodeSelector[{label!r}]", label,
                f"a node label key such as 'nvidia.com/gpu.product' ({problem})",
            )
        elif label_value_problem(value):
            yield ConfigIssue(
                f"{key}.nodeSelector[{label!r}]", value, f"a label value ({label_value_problem(value)})"
            )


def _mount_issues(key: str, model: ModelDeployment) -> Iterator[ConfigIssue]:
    path = model.model_cache.mount_path
    normalized = posixpath.normpath(path) if path.startswith("/") else None
    taken = {SHM_MOUNT_PATH: "the shared-memory volume", PROBE_MOUNT_PATH: "the readiness probe files"}
    if normalized is None or ".." in path.split("/"):
        yield ConfigIssue(
            f"{key}.modelCache.mountPath", path, "an absolute path without '..' such as '/root/.cache/huggingface'"
        )
    elif normalized == "/" or any(
        normalized == other or other.startswith(normalized + "/") or normalized.startswith(other + "/")
        for other in taken
    ):
        used = ", ".join(f"{other} ({what})" for other, what in taken.items())
        yield ConfigIssue(
            f"{key}.modelCache.mountPath", path,
            f"a path apart from the pod's other mounts ({used}); the default is '/root/.cache/huggingface'",
        )
