"""A scheduler-like run that SIGKILLs itself at a chosen point (for the outbox crash tests).

Run as ``python -m tests.etl_core.outbox_crash_child --db ... --redis-url ... --crash POINT``:

``during_put``          puts tasks from a generator that kills the process mid-transaction
``after_put``           puts every task, then dies before flushing
``after_confirm:K``     puts, flushes, and dies right after round trip K was confirmed by Redis
                        (published, not yet deleted from the outbox)
``after_flush``         puts and flushes completely, then dies

Also importable: the test task type and the hook used by in-process crash tests.
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import redis

from etl_core.outbox import SqliteOutbox
from etl_core.producer import DEFAULT_BATCH_SIZE, PendingPublish, StreamProducer
from etl_core.task import ScheduledTask, TaskCodec

STREAM = "test-outbox-stream"
CLIENT_NAME = "outbox-crash-child"
WINDOW = "2026-11-22T10:00Z"


class OutboxJob(ScheduledTask):
    task_type = "test.outbox"


CODEC = TaskCodec([OutboxJob])


def jobs(n: int, window: str = WINDOW) -> Iterator[OutboxJob]:
    for i in range(n):
        yield OutboxJob(location_id=f"loc-{i:05d}", window=window)


class _HookedPending:
    """A PendingPublish that calls ``after`` once its replies were read."""

    def __init__(self, pending: PendingPublish, after: Callable[[], None]) -> None:
        self._pending = pending
        self._after = after
        self.count = pending.count
        self.batches = pending.batches

    def confirm(self) -> list[str | None]:
        ids = self._pending.confirm()
        self._after()
        return ids


class HookedProducer(StreamProducer):
    """Calls ``on_confirmed(k)`` right after round trip ``k`` (1-based) was confirmed."""

    def __init__(
        self, client: Any, stream: str, *, on_confirmed: Callable[[int], None], **options: Any
    ) -> None:
        super().__init__(client, stream, **options)
        self._on_confirmed = on_confirmed
        self.rounds_sent = 0

    def send(self, entries: Any, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Any:
        pending = super().send(entries, batch_size=batch_size)
        self.rounds_sent += 1
        number = self.rounds_sent
        return _HookedPending(pending, lambda: self._on_confirmed(number))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _dying_jobs(n: int, die_after: int) -> Iterator[OutboxJob]:
    for i, job in enumerate(jobs(n)):
        if i == die_after:
            die()
        yield job


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--crash", required=True)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batches-per-round-trip", type=int, default=2)
    parser.add_argument("--delete-every-rows", type=int, default=200)
    parser.add_argument("--max-backlog", type=int, default=None)
    args = parser.parse_args()

    point, _, arg = args.crash.partition(":")
    outbox = SqliteOutbox(args.db, chunk_size=args.chunk_size)
    if point == "during_put":
        outbox.put_tasks(STREAM, _dying_jobs(args.n, die_after=int(arg)), CODEC)
        raise SystemExit("the put should have been killed")
    outbox.put_tasks(STREAM, jobs(args.n), CODEC)
    if point == "after_put":
        die()

    def on_confirmed(number: int) -> None:
        if point == "after_confirm" and number == int(arg):
            die()

    client = redis.Redis.from_url(args.redis_url, client_name=CLIENT_NAME)
    producer = HookedProducer(
        client, STREAM, on_confirmed=on_confirmed, max_backlog=args.max_backlog
    )
    outbox.flush(
        producer,
        batch_size=args.batch_size,
        batches_per_round_trip=args.batches_per_round_trip,
        delete_every_rows=args.delete_every_rows,
    )
    if point == "after_flush":
        die()
    raise SystemExit(f"no crash point {args.crash!r} was reached")


if __name__ == "__main__":
    main()
