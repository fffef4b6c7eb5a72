"""Run a coroutine on uvloop when it is installed (a faster event loop), else on asyncio's default loop.

For the command line's processes only (`python -m loadgen ...` and its worker processes): the objects their
imports created are frozen out of the garbage collector first (gc.freeze). Every collection of the oldest
generation otherwise walks all of them again, and under load those pauses, up to tens of ms each on a busy
core, land in TTFT and its p99. Only the scans change: nothing frozen here is garbage, and collection of what
the run creates is as before.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    gc.collect()
    gc.freeze()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())
