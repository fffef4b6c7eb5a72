"""Room for every gate in Pulumi's Python dynamic provider host.

The host (``python -m pulumi.dynamic``, pulumi 3.272.0 pulumi/dynamic/__main__.py) serves gRPC from a
``futures.ThreadPoolExecutor(max_workers=4)``. A gate's Create/Update holds its thread for minutes, so with more
than four models the fifth model's gates, and every Check/Diff of other dynamic resources, wait in the pool's
queue: the stack's total time grows by whole gate durations and a queued readiness gate starts after Argo's
progress deadline clock. The host offers no setting for this, so the first gate call widens the pool it runs in.
"""

from __future__ import annotations

import gc
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

HOST_MODULE = "pulumi.dynamic.__main__"
# Four gates per model run one after another, so one thread per model plus room for Check/Diff calls.
HOST_WORKERS = 64
_lock = threading.Lock()


def _in_dynamic_provider_host() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == HOST_MODULE


def widen_host_pool(workers: int = HOST_WORKERS) -> int:
    """Raise the gRPC pool's thread limit (only inside the dynamic provider host); returns pools widened."""
    if not _in_dynamic_provider_host():
        return 0
    widened = 0
    with _lock:
        for candidate in gc.get_objects():
            if isinstance(candidate, ThreadPoolExecutor) and candidate._max_workers < workers:
                candidate._max_workers = workers
                # Calls already queued get threads now, not only when the next call arrives.
                for _ in range(candidate._work_queue.qsize()):
                    candidate._adjust_thread_count()
                widened += 1
    return widened
