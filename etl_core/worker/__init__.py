"""The worker runtime: consumer groups, concurrency, settling, retries, reclaim, shutdown."""

from etl_core.worker.context import Handler, TaskContext
from etl_core.worker.hooks import WorkerHooks
from etl_core.worker.options import WorkerOptions, unique_consumer_name
from etl_core.worker.runtime import Worker

__all__ = [
    "Handler",
    "TaskContext",
    "Worker",
    "WorkerHooks",
    "WorkerOptions",
    "unique_consumer_name",
]
