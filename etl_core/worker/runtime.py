"""The worker runtime: read a stream through a consumer group and run a handler on each task.

The handler reports what happened (``etl_core.outcomes``) or raises an ``etl_core.errors`` error;
the runtime does the rest:

* reads with XREADGROUP in batches and runs up to ``concurrency`` handlers at once (asyncio);
* settles outcomes atomically (forward + ack + dedup mark in one script, see ``settle.py``);
* retries later through a delayed set, with backoff and full jitter, without holding a slot;
* counts every delivery, crashes included (attempts field + the pending list's delivery count),
  and past ``max_deliveries`` sends the entry to the dead-letter stream;
* reclaims entries idle longer than ``reclaim_idle_ms`` from crashed consumers;
* on ``stop()`` (SIGTERM/SIGINT) stops reading, lets in-flight work finish within the grace period,
  and releases what did not finish, unacked, for others to reclaim at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.exceptions

from etl_core import keys
from etl_core.backoff import compute_backoff_s
from etl_core.deadletter import dead_letter_fields
from etl_core.dedup import DedupMarks
from etl_core.errors import PermanentError, PoisonMessage, TaskError, TransientError, WaitAndRetry
from etl_core.logging import get_logger
from etl_core.outcomes import Done, Fail, Forward, Outcome, OutcomeCounts, Retry
from etl_core.task import FIELD_ATTEMPTS, BaseTask, Envelope, TaskCodec
from etl_core.worker.hooks import WorkerHooks
from etl_core.worker.maintenance import (
    ConsumerPruner,
    DelayedPromoter,
    Reclaimer,
    delete_heartbeat,
    ensure_group,
    release,
    write_heartbeat,
)
from etl_core.worker.options import WorkerOptions
from etl_core.worker.settle import Settlement, Settler

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
MAX_REDIS_BACKOFF_S = 5.0
CHORE_STOP_TIMEOUT_S = 5.0


class TaskContext:
    """What a handler may want to know about the delivery it is handling."""

    __slots__ = ("_log", "_parent_log", "attempts", "consumer", "entry_id", "stream", "task_id")

    def __init__(
        self,
        *,
        entry_id: str,
        stream: str,
        consumer: str,
        attempts: int,
        task_id: str,
        parent_log: Any,
    ) -> None:
        self.entry_id = entry_id
        self.stream = stream
        self.consumer = consumer
        self.attempts = attempts  # attempts spent before this delivery (retries and crashes)
        self.task_id = task_id
        self._parent_log = parent_log
        self._log: Any = None

    @property
    def log(self) -> Any:
        """A logger bound to this task id and entry id (bound on first use: hot path)."""
        if self._log is None:
            self._log = self._parent_log.bind(task_id=self.task_id, message_id=self.entry_id)
        return self._log


Handler = Callable[[Any, TaskContext], Awaitable[Outcome]]


def _text_fields(fields: dict[Any, Any] | None) -> dict[str, str]:
    if not fields:
        return {}
    return {
        (k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)): (
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        )
        for k, v in fields.items()
    }


def _as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_tuple(entry_id: Any) -> tuple[int, int]:
    ms, _, seq = _as_text(entry_id).partition("-")
    return int(ms), int(seq or 0)


class Worker:
    def __init__(
        self,
        client: Any,
        codec: TaskCodec,
        handler: Handler,
        options: WorkerOptions,
        *,
        hooks: WorkerHooks | None = None,
    ) -> None:
        self.client = client
        self.codec = codec
        self.handler = handler
        self.options = o = options
        self.hooks = hooks or WorkerHooks()
        self.counts = OutcomeCounts()
        self.log = get_logger(
            "etl_core.worker", stream=o.stream, group=o.group, consumer=o.consumer
        )
        self._dedup = DedupMarks(o.group, ttl_s=o.dedup_ttl_s) if o.dedup else None
        self._settler = Settler(
            client,
            stream=o.stream,
            group=o.group,
            consumer=o.consumer,
            dedup_ttl_ms=int(o.dedup_ttl_s * 1000),
        )
        self._reclaimer = Reclaimer(
            client,
            stream=o.stream,
            group=o.group,
            consumer=o.consumer,
            min_idle_ms=o.reclaim_idle_ms,
        )
        self._promoter = DelayedPromoter(client, stream=o.stream)
        self._pruner = ConsumerPruner(
            client,
            stream=o.stream,
            group=o.group,
            consumer=o.consumer,
            min_idle_ms=o.consumer_prune_idle_ms,
        )
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._slot_free = asyncio.Event()
        self._stopping = asyncio.Event()
        self._chores_stop = asyncio.Event()
        self._next_reclaim = 0.0
        self._redis_failures = 0
        self.last_loop_monotonic = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop reading; in-flight work finishes within ``shutdown_grace_s``. Idempotent."""
        if not self._stopping.is_set():
            self.log.info("worker_stopping", in_flight=len(self._in_flight))
            self._stopping.set()
            self._slot_free.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self, *, until_idle: bool = False) -> OutcomeCounts:
        """Consume until ``stop()``; with ``until_idle``, also stop once the group has no work left
        (nothing unread, nothing pending, nothing waiting in the delayed set).
        """
        o = self.options
        await self._with_redis_retry(
            "ensure_group", lambda: ensure_group(self.client, o.stream, o.group)
        )
        self.log.info("worker_started", concurrency=o.concurrency)
        chores = [
            asyncio.create_task(self._settler.run(self._chores_stop), name="settler"),
            asyncio.create_task(self._promote_loop(), name="promote"),
            asyncio.create_task(
                self._every(o.housekeeping_interval_ms, self._housekeeping), name="housekeeping"
            ),
        ]
        try:
            await self._read_loop(until_idle=until_idle)
        finally:
            await self._shutdown(chores)
        return self.counts

    async def _shutdown(self, chores: list[asyncio.Task[Any]]) -> None:
        o = self.options
        if self._in_flight:
            _done, pending = await asyncio.wait(
                list(self._in_flight.values()), timeout=o.shutdown_grace_s
            )
            unfinished = [eid for eid, t in self._in_flight.items() if t in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if unfinished:
                with contextlib.suppress(*REDIS_ERRORS):
                    await release(
                        self.client,
                        stream=o.stream,
                        group=o.group,
                        consumer=o.consumer,
                        entry_ids=unfinished,
                        idle_ms=o.reclaim_idle_ms,
                    )
                self.counts.released += len(unfinished)
                self.log.warning("worker_released_unfinished", count=len(unfinished))
        self._chores_stop.set()
        _done, still_running = await asyncio.wait(chores, timeout=CHORE_STOP_TIMEOUT_S)
        for chore in still_running:  # e.g. the settler blocked on an unreachable Redis
            chore.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=CHORE_STOP_TIMEOUT_S)
        await self._settler.flush(give_up_after_s=max(o.shutdown_grace_s, 1.0))
        with contextlib.suppress(*REDIS_ERRORS):
            await delete_heartbeat(self.client, group=o.group, consumer=o.consumer)
        self.log.info(
            "worker_stopped",
            **{k: v for k, v in dataclasses.asdict(self.counts).items() if k != "by_error_type"},
        )

    # -- reading -------------------------------------------------------------------------------

    async def _read_loop(self, *, until_idle: bool) -> None:
        o = self.options
        while not self._stopping.is_set():
            self.last_loop_monotonic = time.monotonic()
            self._safe_hook(self.hooks.on_loop)
            free = o.concurrency - len(self._in_flight)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            if time.monotonic() >= self._next_reclaim:
                # Reclaim happens here, not in a chore of its own: one place fills the slots, so
                # reclaimed and newly read entries together never exceed ``concurrency``.
                self._next_reclaim = time.monotonic() + o.reclaim_interval_ms / 1000
                try:
                    await self._reclaim()
                except REDIS_ERRORS as exc:
                    await self._redis_backoff("reclaim", exc)
                except redis.exceptions.ResponseError:
                    self.log.exception("reclaim_failed")
                continue
            started = time.monotonic()
            try:
                reply = await self.client.xreadgroup(
                    o.group,
                    o.consumer,
                    {o.stream: ">"},
                    count=min(free, o.read_count),
                    block=o.block_ms,
                )
            except redis.exceptions.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self.log.warning("group_missing_recreating")
                await self._with_redis_retry(
                    "ensure_group", lambda: ensure_group(self.client, o.stream, o.group)
                )
                continue
            except REDIS_ERRORS as exc:
                await self._redis_backoff("xreadgroup", exc)
                continue
            self._redis_failures = 0
            entries = reply[0][1] if reply else []
            if entries:
                await self._dispatch([(eid, f, 1) for eid, f in entries])
                continue
            if until_idle and await self._is_idle():
                return
            if (time.monotonic() - started) * 1000 < o.block_ms / 2:
                # fakeredis (and a server that returned early) does not block: do not spin.
                await self._sleep_unless_stopping(o.empty_read_backoff_ms / 1000)

    async def _is_idle(self) -> bool:
        """Nothing in flight here, nothing pending or undelivered in the group, no delayed retry."""
        o = self.options
        if self._in_flight or self._settler.queued:
            return False
        pipe = self.client.pipeline(transaction=True)
        pipe.xpending(o.stream, o.group)
        pipe.zcard(keys.delayed_set(o.stream))
        pipe.xinfo_groups(o.stream)
        pipe.xinfo_stream(o.stream)
        summary, delayed, groups, info = await pipe.execute()
        if int(summary["pending"]) or int(delayed):
            return False
        group = next(g for g in groups if _as_text(g["name"]) == o.group)
        return _id_tuple(group["last-delivered-id"]) >= _id_tuple(info["last-generated-id"])

    async def _dispatch(self, entries: list[tuple[Any, Any, int]]) -> None:
        """Decode a batch, settle what needs no handler, start the rest."""
        runnable: list[tuple[str, Envelope[BaseTask], int, dict[str, str]]] = []
        for raw_id, raw_fields, delivered in entries:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            if entry_id in self._in_flight:  # reclaimed from ourselves while still running here
                continue
            fields = _text_fields(raw_fields)
            try:
                env = self.codec.decode_text(fields)
            except PoisonMessage as exc:
                self.log.warning("poison_message", message_id=entry_id, error=str(exc))
                self._track(
                    entry_id,
                    self._dead(
                        entry_id, fields, "PoisonMessage", str(exc), delivered, time.monotonic()
                    ),
                )
                continue
            deliveries = env.attempts + delivered
            if deliveries > self.options.max_deliveries:
                message = (
                    f"delivered {deliveries} times (max_deliveries={self.options.max_deliveries}); "
                    f"{delivered - 1} deliveries ended without an outcome (crash or timeout)"
                )
                self.log.warning(
                    "max_deliveries_exceeded", message_id=entry_id, task_id=env.task_id
                )
                self._track(
                    entry_id,
                    self._dead(
                        entry_id,
                        fields,
                        "MaxDeliveriesExceeded",
                        message,
                        deliveries - 1,
                        time.monotonic(),
                    ),
                )
                continue
            runnable.append((entry_id, env, delivered, fields))
        if self._dedup is not None and runnable:
            done = await self._with_redis_retry(
                "dedup",
                lambda: self._dedup.done_among(self.client, [r[1].task_id for r in runnable]),  # type: ignore[union-attr]
            )
            if done:
                for entry_id, env, _d, _f in runnable:
                    if env.task_id in done:
                        self._track(
                            entry_id,
                            self._settle(
                                Settlement("ack", entry_id, self._dedup_key(env)),
                                "already_done",
                                None,
                                time.monotonic(),
                            ),
                        )
                runnable = [r for r in runnable if r[1].task_id not in done]
        for entry_id, env, delivered, fields in runnable:
            self._track(entry_id, self._run_one(entry_id, env, delivered, fields))

    def _track(self, entry_id: str, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._in_flight[entry_id] = task
        task.add_done_callback(functools.partial(self._finished, entry_id))

    def _finished(self, entry_id: str, _task: asyncio.Future[None]) -> None:
        self._in_flight.pop(entry_id, None)
        self._slot_free.set()

    # -- running one task ---------------------------------------------------------------------

    async def _run_one(
        self, entry_id: str, env: Envelope[BaseTask], delivered: int, fields: dict[str, str]
    ) -> None:
        o = self.options
        started = time.monotonic()
        ctx = TaskContext(
            entry_id=entry_id,
            stream=o.stream,
            consumer=o.consumer,
            attempts=env.attempts + delivered - 1,
            task_id=env.task_id,
            parent_log=self.log,
        )
        try:
            async with asyncio.timeout(o.handler_timeout_s):
                outcome = await self.handler(env.task, ctx)
        except TimeoutError:
            outcome = Retry("HandlerTimeout", f"handler took longer than {o.handler_timeout_s} s")
        except WaitAndRetry as exc:
            outcome = Retry(
                exc.error_type, str(exc), delay_s=exc.retry_after_s, spend_attempt=False
            )
        except PermanentError as exc:
            outcome = Fail(exc.error_type, str(exc))
        except TransientError as exc:
            outcome = Retry(exc.error_type, str(exc), delay_s=exc.retry_after_s)
        except TaskError as exc:  # a TaskError of no family: treat as transient
            outcome = Retry(exc.error_type, str(exc), delay_s=exc.retry_after_s)
        except Exception as exc:
            ctx.log.exception("handler_crashed")
            outcome = Retry(type(exc).__name__, str(exc) or type(exc).__name__)
        await self._apply(entry_id, env, delivered, fields, outcome, started, ctx)

    async def _apply(
        self,
        entry_id: str,
        env: Envelope[BaseTask],
        delivered: int,
        fields: dict[str, str],
        outcome: Outcome,
        started: float,
        ctx: TaskContext,
    ) -> None:
        o = self.options
        deliveries = env.attempts + delivered
        if isinstance(outcome, Done):
            await self._settle(
                Settlement("ack", entry_id, self._dedup_key(env)), "done", None, started
            )
        elif isinstance(outcome, Forward):
            target = outcome.stream or o.forward_stream
            if target is None:
                await self._apply(
                    entry_id,
                    env,
                    delivered,
                    fields,
                    Fail(
                        "ConfigurationError",
                        "handler forwarded tasks but the worker has no forward_stream",
                    ),
                    started,
                    ctx,
                )
                return
            forwards = [(target, self.codec.encode(t)) for t in outcome.tasks]
            await self._settle(
                Settlement("fwd", entry_id, self._dedup_key(env), forwards=forwards),
                "forwarded",
                None,
                started,
            )
        elif isinstance(outcome, Fail):
            ctx.log.warning("task_failed", error_type=outcome.error_type, error=outcome.message)
            await self._dead(
                entry_id, fields, outcome.error_type, outcome.message, deliveries, started
            )
        elif outcome.spend_attempt and deliveries >= o.max_deliveries:
            ctx.log.warning(
                "task_retries_exhausted", error_type=outcome.error_type, error=outcome.message
            )
            await self._dead(
                entry_id,
                fields,
                outcome.error_type,
                f"{outcome.message} (gave up after {deliveries} deliveries)",
                deliveries,
                started,
            )
        else:
            kept = deliveries if outcome.spend_attempt else deliveries - 1
            delay_s = (
                outcome.delay_s
                if outcome.delay_s is not None
                else compute_backoff_s(
                    max(kept, 1), base_s=o.retry_backoff_base_s, max_s=o.retry_backoff_max_s
                )
            )
            member = json.dumps({**fields, FIELD_ATTEMPTS: str(kept)}, sort_keys=True)
            kind = "retried" if outcome.spend_attempt else "waited"
            ctx.log.info(
                "task_retry_scheduled",
                error_type=outcome.error_type,
                error=outcome.message,
                delay_s=round(delay_s, 3),
                attempts=kept,
            )
            await self._settle(
                Settlement("retry", entry_id, delay_ms=int(delay_s * 1000), member=member),
                kind,
                outcome.error_type,
                started,
            )

    async def _dead(
        self,
        entry_id: str,
        fields: dict[str, str],
        error_type: str,
        message: str,
        deliveries: int,
        started: float,
    ) -> None:
        o = self.options
        dead = dead_letter_fields(
            fields,
            error_type=error_type,
            error=message,
            stage=o.group,
            consumer=o.consumer,
            deliveries=deliveries,
            source_stream=o.stream,
            source_id=entry_id,
        )
        await self._settle(
            Settlement("dead", entry_id, dead_fields=dead), "dead_lettered", error_type, started
        )

    def _dedup_key(self, env: Envelope[BaseTask]) -> str:
        return self._dedup.key(env.task_id) if self._dedup is not None else ""

    async def _settle(
        self, item: Settlement, kind: str, error_type: str | None, started: float
    ) -> None:
        applied = await self._settler.submit(item)
        if not applied:
            self.counts.skipped_not_owned += 1
            self.log.info("settle_skipped_not_owned", message_id=item.entry_id, kind=kind)
            return
        setattr(self.counts, kind, getattr(self.counts, kind) + 1)
        if error_type:
            self.counts.by_error_type[error_type] = self.counts.by_error_type.get(error_type, 0) + 1
        self._safe_hook(self.hooks.on_outcome, kind, error_type, time.monotonic() - started)

    # -- chores ----------------------------------------------------------------------------

    async def _every(self, interval_ms: int, chore: Callable[[], Awaitable[None]]) -> None:
        """Run ``chore`` every ``interval_ms`` until the chores are told to stop.

        Stopping is an event, not only a cancellation: a cancellation delivered inside a Redis call
        can be swallowed by the client library, and a chore must never keep shutdown waiting.
        """
        while not self._chores_stop.is_set():
            try:
                await chore()
            except REDIS_ERRORS as exc:
                self.log.warning("chore_redis_error", chore=chore.__name__, error=str(exc))
                self._safe_hook(self.hooks.on_redis_error, chore.__name__)
            except Exception:
                self.log.exception("chore_failed", chore=chore.__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._chores_stop.wait(), timeout=interval_ms / 1000)

    async def _reclaim(self) -> None:
        if self._stopping.is_set():
            return
        free = self.options.concurrency - len(self._in_flight)
        result = await self._reclaimer.claim(min(free, self.options.read_count))
        if result.deleted_ids:
            self.counts.deleted_while_pending += len(result.deleted_ids)
            self.log.warning(
                "reclaim_found_deleted_entries",
                count=len(result.deleted_ids),
                ids=result.deleted_ids[:10],
            )
        gone = [eid for eid, fields, _ in result.entries if fields is None]
        if gone:  # Redis 6.2: a deleted entry is claimed with no fields; ack it, never retry it
            await self.client.xack(self.options.stream, self.options.group, *gone)
            self.counts.deleted_while_pending += len(gone)
        live = [e for e in result.entries if e[1] is not None]
        if live or result.deleted_ids:
            self.counts.reclaimed += len(live)
            self.log.info("reclaimed", count=len(live), deleted=len(result.deleted_ids) + len(gone))
            self._safe_hook(self.hooks.on_reclaimed, len(live), len(result.deleted_ids) + len(gone))
        if live:
            await self._dispatch(live)

    async def _promote_loop(self) -> None:
        async def promote() -> None:
            moved, _next_due = await self._promoter.promote()
            while moved >= 500:
                moved, _next_due = await self._promoter.promote()

        await self._every(self.options.delayed_poll_ms, promote)

    async def _housekeeping(self) -> None:
        o = self.options
        await write_heartbeat(
            self.client,
            group=o.group,
            consumer=o.consumer,
            ttl_ms=o.housekeeping_interval_ms * 3,
            in_flight=len(self._in_flight),
        )
        removed = await self._pruner.prune()
        if removed:
            self.log.info("pruned_idle_consumers", consumers=removed)

    # -- helpers ---------------------------------------------------------------------------

    async def _redis_backoff(self, where: str, exc: Exception) -> None:
        self._redis_failures += 1
        self._safe_hook(self.hooks.on_redis_error, where)
        delay_s = compute_backoff_s(
            min(self._redis_failures, 10), base_s=0.1, max_s=MAX_REDIS_BACKOFF_S
        )
        self.log.warning(
            "redis_unavailable", where=where, error=str(exc), retry_in_s=round(delay_s, 2)
        )
        await self._sleep_unless_stopping(delay_s)

    async def _with_redis_retry(self, where: str, call: Callable[[], Awaitable[Any]]) -> Any:
        while True:
            try:
                result = await call()
            except REDIS_ERRORS as exc:
                if self._stopping.is_set():
                    raise
                await self._redis_backoff(where, exc)
                continue
            self._redis_failures = 0
            return result

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _safe_hook(self, hook: Callable[..., None], *args: Any) -> None:
        try:
            hook(*args)
        except Exception:
            self.log.exception("hook_failed", hook=getattr(hook, "__name__", str(hook)))
