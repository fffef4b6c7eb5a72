"""Readiness probe for vLLM containers: /health must answer 200, then /v1/models must list the model.

    python3 readiness_probe.py [PORT] [HOST] [--expect-model NAME]

PORT defaults to 8000, HOST to localhost. Env READINESS_TIMEOUT (seconds, default 5) bounds each of the two
HTTP requests, so a run ends within about twice that; READINESS_EXPECT_MODEL names the served model to
expect when the flag is not given. Exit 0 when ready, 1 when not (or on a usage error). Prints one line,
``readiness_probe: ...``, which Kubernetes shows in the pod's events.

This file only starts the check in ``vllm_readiness.py`` beside it. The split is for speed: Python compiles
the script it runs on every run, but caches the bytecode of a module it imports, which is a third of the cost
of a probe run (``benchmarks/probe_bench.py``).
"""

import sys

if __name__ == "__main__":
    if sys.pycache_prefix is None:
        # The ConfigMap mount is read-only, so the bytecode cannot be cached beside the source.
        sys.pycache_prefix = "/tmp/llmzd-probe-pycache"
    # Under `python3 -I` the script's own directory is not on sys.path.
    sys.path.insert(0, __file__.rpartition("/")[0] or ".")
    from vllm_readiness import main

    sys.exit(main())
