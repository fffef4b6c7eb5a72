"""Host-side sizes a model needs: weight cache, /dev/shm and memory. Each rule names where it comes from.

- Weights: parameter count x bytes per parameter of the dtype (safetensors store each parameter at its dtype's
  width: 2 bytes for bf16/fp16, 4 for fp32; ``auto`` loads the checkpoint's dtype, bf16 for current models), plus
  25 % for tokenizer, config and the partial files the Hugging Face download keeps until it completes.
- /dev/shm: NCCL passes tensor-parallel traffic between GPUs of one node through shared memory (NCCL
  troubleshooting guide, "Docker": its 64 MB default is too small); 1 GiB per tensor-parallel rank, at least
  2 GiB (the vLLM Kubernetes guide's value for one GPU).
- Memory: vLLM 0.11.0 reserves ``swap_space`` = 4 GiB of CPU memory per GPU (vllm/config/cache.py); a
  memory-backed emptyDir (/dev/shm) counts against the container's memory limit (Kubernetes docs, emptyDir
  ``medium: Memory``); plus about 4 GiB for the server process (Python, torch, the CUDA context).
"""

from __future__ import annotations

import math

from llmzd_infra.config.models import ModelDeployment
from llmzd_infra.config.quantity import GIB, gibibytes, parse_quantity

BYTES_PER_PARAMETER = {"auto": 2, "half": 2, "float16": 2, "bfloat16": 2, "float": 4, "float32": 4}
CACHE_MARGIN = 1.25
DEFAULT_CACHE = "20Gi"  # when the parameter count is not given
SHM_PER_RANK_GIB = 1
MIN_SHM_GIB = 2
VLLM_SWAP_SPACE_GIB = 4
PROCESS_MEMORY_GIB = 4
DEFAULT_MEMORY_LIMIT_GIB = 16


def weights_bytes(model: ModelDeployment) -> float | None:
    billions = model.probes.parameter_count_billions
    if billions is None:
        return None
    return billions * 1e9 * BYTES_PER_PARAMETER[model.vllm.dtype]


def cache_size(model: ModelDeployment) -> str:
    """The emptyDir sizeLimit: configured, else derived from the weights, else 20Gi."""
    if model.model_cache.size_limit is not None:
        return model.model_cache.size_limit
    weights = weights_bytes(model)
    return DEFAULT_CACHE if weights is None else gibibytes(weights * CACHE_MARGIN)


def shm_size(model: ModelDeployment) -> str:
    if model.shm_size is not None:
        return model.shm_size
    return f"{max(MIN_SHM_GIB, SHM_PER_RANK_GIB * model.vllm.tensor_parallel_size)}Gi"


def host_memory_bytes(model: ModelDeployment) -> int:
    swap = VLLM_SWAP_SPACE_GIB * max(model.gpus_per_replica, model.vllm.tensor_parallel_size, 1) * GIB
    return math.ceil(PROCESS_MEMORY_GIB * GIB + swap + parse_quantity(shm_size(model)))


def memory_amounts(model: ModelDeployment) -> tuple[str | None, str | None]:
    """(request, limit) for memory: configured values win; unset ones cover what vLLM needs on the host."""
    requests, limits = model.resources.requests, model.resources.limits
    needed = host_memory_bytes(model)
    request = requests.memory or gibibytes(needed)
    # An unset limit also covers a configured request: the API server refuses a request above its limit.
    limit = limits.memory or gibibytes(max(needed, DEFAULT_MEMORY_LIMIT_GIB * GIB, parse_quantity(request)))
    return request, limit
