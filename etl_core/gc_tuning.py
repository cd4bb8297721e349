"""Cyclic garbage-collector settings for the long-running processes (workers and services).

Each task allocates thousands of short-lived containers (a decoded JSON answer of a remote API,
the records built from it, the request bodies), almost all freed by reference counting. With
CPython's default thresholds (700, 10, 10) the collector still ran ~20 times a second in a worker
whose handler calls such an API, and its full collections rescanned every object imported at
start: 10% of the worker's CPU (measured with ``gc.callbacks`` in a benchmark run of 3,000
scheduled tasks; one collection in all once tuned).

``tune_gc`` moves what exists at start into the permanent generation (``gc.freeze``), so it is
never scanned again, and collects the young generation after 50,000 net allocations instead of 700.
Cycles (an exception's traceback, say) are still collected, only later.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> None:
    """Call once the process has imported and built what it keeps, before it starts serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
