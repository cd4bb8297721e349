"""The settler: applies task outcomes through ``settle.lua`` with group commit.

Finished tasks queue their outcome here; one flusher coroutine sends everything queued in one
script call while the next batch accumulates, so throughput rises with load while latency stays
one round trip when idle. Every item is applied atomically (forward + ack + dedup mark, or
retry + ack, or dead-letter + ack) and only while the entry is still pending for this consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
)

from etl_core import keys, scripts
from etl_core.backoff import jittered_wait
from etl_core.dedup import DedupMarks
from etl_core.logging import get_logger
from etl_core.redis_client import REDIS_OUTAGE_ERRORS
from etl_core.windows import window_of_task_id

MAX_ITEMS_PER_CALL = 500
REDIS_RETRY_BASE_WAIT_S = 0.05
REDIS_RETRY_MAX_WAIT_S = 5.0


@dataclass(slots=True)
class Settlement:
    kind: str  # ack | fwd | retry | dead
    entry_id: str
    done_mark: str = ""  # the task id to mark done with the ack ('' for none)
    # Count a new done mark in its window's tally and the settled log (not for a task found
    # already done, whose mark is only renewed).
    tally: bool = True
    forwards: Sequence[tuple[str, dict[str, str]]] = ()
    delay_ms: int = 0
    member: str = ""
    dead_fields: dict[str, str] = field(default_factory=dict)
    future: asyncio.Future[bool] | None = None
    on_done: Callable[[bool], None] | None = None


def _encode(
    items: Sequence[Settlement], base_keys: list[str], stream: str = ""
) -> tuple[list[str], list[str]]:
    """KEYS and the item part of ARGV for one settle.lua call (``stream``: the source stream,
    whose window tallies count the done marks)."""
    all_keys = list(base_keys)
    index: dict[str, int] = {}
    argv: list[str] = []

    def key_index(key: str) -> int:
        if key not in index:
            all_keys.append(key)
            index[key] = len(all_keys)
        return index[key]

    for item in items:
        tally = 0 if item.tally else -1
        window = window_of_task_id(item.done_mark) if item.done_mark and item.tally else None
        if window is not None and stream:
            tally = key_index(keys.window_tally(stream, window))
        argv += [item.kind, item.entry_id, item.done_mark, str(tally)]
        if item.kind == "fwd":
            argv.append(str(len(item.forwards)))
            for target, fields in item.forwards:
                argv += [str(key_index(target)), str(len(fields))]
                for k, v in fields.items():
                    argv += [k, v]
        elif item.kind == "retry":
            argv += [str(item.delay_ms), item.member]
        elif item.kind == "dead":
            argv.append(str(len(item.dead_fields)))
            for k, v in item.dead_fields.items():
                argv += [k, v]
    return all_keys, argv


class Settler:
    def __init__(
        self, client: Any, *, stream: str, group: str, consumer: str, marks: DedupMarks
    ) -> None:
        """``marks``: where done marks go (the hash of the current bucket, named per call)."""
        self._client = client
        self._script = scripts.register(client, "settle")
        self._stream = stream
        self._stream_keys = [stream, keys.dead_letter_stream(stream), keys.delayed_set(stream)]
        self._settled_log = keys.settled_log(stream, group)
        self._marks = marks
        self._group_consumer = [group, consumer]
        self._queue: list[Settlement] = []
        self._wakeup = asyncio.Event()
        self._log = get_logger("etl_core.settle", stream=stream, consumer=consumer)

    async def _call(self, items: Sequence[Settlement]) -> list[int]:
        """One settle.lua call. The done-mark hash is named at each call (a retried call after
        a bucket ended writes into the new bucket, so a mark still lives a whole length)."""
        marks, expire_at_ms = self._marks.write_target()
        all_keys, argv = _encode(
            items, [*self._stream_keys, marks, self._settled_log], self._stream
        )
        head = [*self._group_consumer, str(expire_at_ms), str(keys.SETTLED_LOG_KEEP_MS)]
        return [int(x) for x in await self._script(keys=all_keys, args=head + argv)]

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, item: Settlement) -> asyncio.Future[bool]:
        """Queue ``item``; the future tells whether it was applied."""
        item.future = asyncio.get_running_loop().create_future()
        self._queue.append(item)
        self._wakeup.set()
        return item.future

    def submit_nowait(self, item: Settlement, on_done: Callable[[bool], None]) -> None:
        """Queue ``item``; ``on_done(applied)`` is called once it was sent (the hot path)."""
        item.on_done = on_done
        self._queue.append(item)
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Flush whatever is queued until ``stop`` is set (then call ``flush`` to drain)."""
        stopping = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            waking = asyncio.ensure_future(self._wakeup.wait())
            await asyncio.wait([waking, stopping], return_when=asyncio.FIRST_COMPLETED)
            waking.cancel()
            self._wakeup.clear()
            try:
                await self.flush(give_up_after_s=None)
            except Exception:
                # Never let the flusher die: its waiters would hang. Entries stay pending in Redis.
                self._log.exception("settle_flush_failed")
        stopping.cancel()

    async def flush(self, *, give_up_after_s: float | None) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_ITEMS_PER_CALL], self._queue[MAX_ITEMS_PER_CALL:]
            try:
                results = await self._call_with_retries(batch, give_up_after_s)
            except REDIS_OUTAGE_ERRORS:  # before ResponseError: READONLY is one
                self._log.error(
                    "settle_gave_up",
                    items=len(batch),
                    note="entries stay pending and will be reclaimed",
                )
                results = [False] * len(batch)
            except redis.exceptions.ResponseError:
                self._log.exception("settle_batch_rejected", items=len(batch))
                results = await self._one_by_one(batch)
            except Exception:
                self._resolve(batch, [0] * len(batch))
                raise
            self._resolve(batch, results)

    def _resolve(self, batch: Sequence[Settlement], results: Sequence[int]) -> None:
        for item, applied in zip(batch, results, strict=True):
            if item.on_done is not None:
                item.on_done(bool(applied))
            elif item.future is not None and not item.future.done():
                item.future.set_result(bool(applied))

    async def _call_with_retries(
        self, batch: Sequence[Settlement], give_up_after_s: float | None
    ) -> list[int]:
        stop = stop_after_delay(give_up_after_s) if give_up_after_s is not None else stop_never
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(REDIS_OUTAGE_ERRORS),
            wait=jittered_wait(base_s=REDIS_RETRY_BASE_WAIT_S, max_s=REDIS_RETRY_MAX_WAIT_S),
            stop=stop,
            reraise=True,
            before_sleep=lambda rs: self._log.warning(
                "settle_redis_error",
                attempt=rs.attempt_number,
                error=str(rs.outcome.exception()) if rs.outcome else "",
            ),
        ):
            with attempt:
                return await self._call(batch)
        raise AssertionError("unreachable")

    async def _one_by_one(self, batch: Sequence[Settlement]) -> list[int]:
        """Isolate an item Redis rejects (e.g. a forward stream key of the wrong type)."""
        results = []
        for item in batch:
            try:
                results.append((await self._call([item]))[0])
            except redis.exceptions.RedisError as exc:
                self._log.error(
                    "settle_item_rejected", entry_id=item.entry_id, kind=item.kind, error=str(exc)
                )
                results.append(0)
        return results
