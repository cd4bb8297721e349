"""The worker runtime: read a stream through a consumer group and run a handler on each task.

The handler reports what happened (``etl_core.outcomes``) or raises an ``etl_core.errors`` error;
the runtime does the rest (what it decides is in ``policy.py``):

* reads with XREADGROUP in batches; ``concurrency`` runner coroutines run handlers at once;
* settles outcomes atomically (forward + ack + dedup mark in one script, see ``settle.py``);
* retries later through a delayed set, with backoff and full jitter, without holding a slot;
* counts every delivery, crashes included, and past ``max_deliveries`` dead-letters the entry;
* reclaims entries idle longer than ``reclaim_idle_ms`` from crashed consumers;
* trims its stream to what the groups still need every ``trim_interval_ms`` (``etl_core.trim``);
* stops with ``RedisRefused`` when Redis refuses its credentials or an ACL permission of the
  read loop (an outage, by contrast, is waited out);
* reads nothing and starts no handler while the stage is paused (``etl_core.pause``, looked at
  every ``pause_poll_ms``); a handler's ``StageBlocked`` failure pauses it for every replica, and
  one trial task at a time decides when it runs again;
* on ``stop()`` (SIGTERM/SIGINT) stops reading, lets running handlers finish within the grace
  period, and releases what did not finish, unacked, for others to reclaim at once.

An entry holds a slot from the moment it is read until its outcome is applied in Redis, so read,
running and settling entries together never exceed ``concurrency``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.exceptions

from etl_core import keys
from etl_core.backoff import compute_backoff_s
from etl_core.dedup import DedupMarks
from etl_core.errors import PoisonMessage, RedisUnavailable, TaskError, TransientError
from etl_core.logging import get_logger
from etl_core.outcomes import OutcomeCounts
from etl_core.pause import PauseSource, PauseState, StagePause
from etl_core.redis_client import REDIS_OUTAGE_ERRORS, refusal
from etl_core.task import FIELD_TASK_ID, TASK_ID_PREVIEW_CHARS, BaseTask, Envelope, TaskCodec
from etl_core.text import clip
from etl_core.trim import safe_trim_async
from etl_core.worker.context import Handler, TaskContext
from etl_core.worker.hooks import WorkerHooks
from etl_core.worker.maintenance import (
    ConsumerPruner,
    DelayedPromoter,
    Reclaimer,
    delete_heartbeat,
    ensure_group,
    release,
    take_back_lost,
    write_heartbeat,
)
from etl_core.worker.options import WorkerOptions
from etl_core.worker.policy import Decision, Policy, outcome_of_error
from etl_core.worker.settle import Settler

REDIS_ERRORS = REDIS_OUTAGE_ERRORS  # a failover's READONLY too: the task waits, spends nothing
CHORE_STOP_TIMEOUT_S = 5.0
PROMOTE_BATCH = 500
HEARTBEAT_TTL_INTERVALS = 3  # a heartbeat outlives two missed housekeeping rounds

Runnable = tuple[str, Envelope[BaseTask], int, dict[str, str]]


def _as_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _text_fields(fields: dict[Any, Any] | None) -> dict[str, str]:
    if not fields:
        return {}
    try:  # the usual case: a client that returns bytes, valid UTF-8
        return {k.decode(): v.decode() for k, v in fields.items()}
    except (AttributeError, UnicodeDecodeError):
        return {_as_text(k): _as_text(v) for k, v in fields.items()}


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
        forward_codec: TaskCodec | None = None,
        hooks: WorkerHooks | None = None,
    ) -> None:
        """``codec`` decodes this stream's entries: register only the task types this worker
        handles, so a task in the wrong stream is a poison message, not a crash. ``forward_codec``
        encodes the tasks it forwards (default: ``codec``)."""
        self.client = client
        self.codec = codec
        self.handler = handler
        self.options = o = options
        self.hooks = hooks or WorkerHooks()
        self.counts = OutcomeCounts()
        self.log = get_logger(
            "etl_core.worker", stream=o.stream, group=o.group, consumer=o.consumer
        )
        self._policy = Policy(o, forward_codec or codec)
        marks = DedupMarks(o.stream, o.group, horizon_s=o.dedup_horizon_s)
        self._dedup = marks if o.dedup else None
        self._settler = Settler(
            client, stream=o.stream, group=o.group, consumer=o.consumer, marks=marks
        )
        self._reclaimer = Reclaimer(
            client,
            stream=o.stream,
            group=o.group,
            consumer=o.consumer,
            min_idle_ms=o.reclaim_idle_ms,
        )
        self._promoter = DelayedPromoter(client, stream=o.stream, batch=PROMOTE_BATCH)
        self._pruner = ConsumerPruner(
            client,
            stream=o.stream,
            group=o.group,
            consumer=o.consumer,
            min_idle_ms=o.consumer_prune_idle_ms,
        )
        self._in_flight: set[str] = set()  # read and not yet settled: each holds a slot
        self._given_up: set[str] = set()  # settled, not applied: left pending for the reclaim
        self._running: dict[asyncio.Task[Any], float] = {}  # runner -> its handler's deadline
        self._timed_out: set[asyncio.Task[Any]] = set()
        self._queue: asyncio.Queue[Runnable] = asyncio.Queue()
        self._slot_free = asyncio.Event()
        self._stopping = asyncio.Event()
        self._chores_stop = asyncio.Event()
        self._next_reclaim = 0.0
        self._next_trim = time.monotonic() + o.trim_interval_ms / 1000
        # A trial may run as long as a handler may, plus a look at the pause to report it.
        self._pause = StagePause(
            client, o.group, trial_ttl_ms=round(o.handler_timeout_s * 1000) + o.pause_poll_ms
        )
        self.pause_state: PauseState | None = None  # as last seen; None: running
        self._next_pause_check = 0.0
        self._trial_entry: str | None = None  # the entry this replica runs as the pause's trial
        self._redis_failures = 0
        self.last_loop_monotonic = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop reading; running handlers finish within ``shutdown_grace_s``. Idempotent."""
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

    def not_ready_reason(self) -> str | None:
        """Why this worker takes no tasks now (for ``/readyz``), or None."""
        state = self.pause_state
        return None if state is None else f"stage {self.options.group} {state.describe()}"

    async def run(self, *, until_idle: bool = False) -> OutcomeCounts:
        """Consume until ``stop()``; with ``until_idle``, also stop once the group has no work left
        (nothing unread, nothing pending, nothing waiting in the delayed set).
        """
        o = self.options
        await self._with_redis_retry(
            "ensure_group", lambda: ensure_group(self.client, o.stream, o.group)
        )
        self.log.info("worker_started", concurrency=o.concurrency)
        runners = [
            asyncio.create_task(self._runner(), name=f"runner-{i}") for i in range(o.concurrency)
        ]
        chores = [
            asyncio.create_task(self._settler.run(self._chores_stop), name="settler"),
            asyncio.create_task(self._every(o.delayed_poll_ms, self._promote), name="promote"),
            asyncio.create_task(
                self._every(self._watch_interval_ms(), self._watchdog), name="watchdog"
            ),
            asyncio.create_task(
                self._every(o.housekeeping_interval_ms, self._housekeeping), name="housekeeping"
            ),
        ]
        try:
            await self._read_loop(until_idle=until_idle)
        finally:
            await self._shutdown(runners, chores)
        return self.counts

    async def _shutdown(
        self, runners: list[asyncio.Task[None]], chores: list[asyncio.Task[Any]]
    ) -> None:
        o = self.options
        unstarted = []
        while not self._queue.empty():  # read but not started: hand back at once
            unstarted.append(self._queue.get_nowait()[0])
        deadline = time.monotonic() + o.shutdown_grace_s
        while (
            len(self._in_flight) > len(unstarted) and (remaining := deadline - time.monotonic()) > 0
        ):
            self._slot_free.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._slot_free.wait(), timeout=remaining)
        for runner in runners:  # idle, or stuck in a handler past the grace period
            runner.cancel()
        await asyncio.wait(runners, timeout=CHORE_STOP_TIMEOUT_S)
        self._chores_stop.set()
        _done, still_running = await asyncio.wait(chores, timeout=CHORE_STOP_TIMEOUT_S)
        for chore in still_running:  # e.g. the settler blocked on an unreachable Redis
            chore.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=CHORE_STOP_TIMEOUT_S)
        await self._settler.flush(give_up_after_s=max(o.shutdown_grace_s, 1.0))
        unfinished = sorted(self._in_flight)
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
            self._in_flight.clear()
            self.log.warning("worker_released_unfinished", count=len(unfinished))
        with contextlib.suppress(*REDIS_ERRORS):
            await delete_heartbeat(self.client, group=o.group, consumer=o.consumer)
        counts = {k: v for k, v in dataclasses.asdict(self.counts).items() if k != "by_error_type"}
        self.log.info("worker_stopped", **counts)

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
            paused, trial = await self._pause_gate()
            if paused:
                await self._sleep_unless_stopping(o.pause_poll_ms / 1000)
                continue
            if trial:
                await self._read_trial()
                continue
            if time.monotonic() >= self._next_reclaim:
                # Reclaim happens here, not in a chore of its own: one place fills the slots.
                self._next_reclaim = time.monotonic() + o.reclaim_interval_ms / 1000
                try:
                    await self._reclaim(free)
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
                self._raise_if_refused("xreadgroup", exc)
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

    async def _pause_gate(self) -> tuple[bool, bool]:
        """(paused, trial) now: paused, read nothing; trial, read exactly one task to try."""
        now = time.monotonic()
        if now < self._next_pause_check:
            return self.pause_state is not None, False
        self._next_pause_check = now + self.options.pause_poll_ms / 1000
        try:
            state, trial = await self._pause.check(self.options.consumer)
        except REDIS_ERRORS:  # the read that follows meets the same outage and backs off
            return self.pause_state is not None, False
        self._see_pause(state)
        return state is not None and not trial, trial

    async def _read_trial(self) -> None:
        """Read one task as the trial of an automatic pause; none to read ends the trial."""
        o = self.options
        try:
            reply = await self.client.xreadgroup(
                o.group, o.consumer, {o.stream: ">"}, count=1, block=o.block_ms
            )
            entries = reply[0][1] if reply else []
            if not entries:
                await self._pause.trial_ended_without_task()
                return
        except REDIS_ERRORS as exc:
            await self._redis_backoff("pause_trial", exc)
            return
        self._trial_entry = _as_text(entries[0][0])
        self.log.info("stage_pause_trial_started", message_id=self._trial_entry)
        queued = await self._dispatch([(eid, f, 1) for eid, f in entries])
        if self._trial_entry not in queued:
            # settled without a handler (poison, already done): it tried nothing
            self._trial_entry = None
            with contextlib.suppress(*REDIS_ERRORS):
                await self._pause.trial_ended_without_task()

    def _see_pause(self, state: PauseState | None) -> None:
        """Note the pause as seen now; say so when it starts, changes source or ends."""
        before, self.pause_state = self.pause_state, state
        if (before and before.source) == (state and state.source):
            return
        if state is None:
            self.log.info("stage_resumed")
        else:
            self.log.warning(
                "stage_paused",
                source=str(state.source),
                reason=state.reason,
                since_ms=state.since_ms,
            )
        self._safe_hook(self.hooks.on_pause, None if state is None else str(state.source))

    async def _after_outcome(self, entry_id: str, decision: Decision) -> None:
        """Pause the stage for a stage-wide failure; end this replica's trial by its outcome."""
        trial = entry_id == self._trial_entry
        if not trial and (decision.pause_reason is None or self.pause_state is not None):
            return
        if trial:
            self._trial_entry = None
            self._next_pause_check = 0.0  # look again at once
        try:
            if decision.pause_reason is not None:
                state = await self._pause.pause(
                    decision.pause_reason,
                    source=PauseSource.AUTO,
                    retry_after_s=decision.delay_s or self.options.pause_trial_interval_s,
                )
                self._see_pause(state)
            elif await self._pause.resume(only=PauseSource.AUTO):
                self.log.info("stage_pause_lifted_by_trial", message_id=entry_id)
                self._see_pause(None)
        except REDIS_ERRORS as exc:  # the trial token expires; another replica tries again
            self.log.warning("stage_pause_update_failed", error=str(exc))

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

    async def _dispatch(self, entries: list[tuple[Any, Any, int]]) -> list[str]:
        """Decode a batch; settle what needs no handler; queue the rest for the runners (their
        entry ids are returned)."""
        runnable: list[Runnable] = []
        for raw_id, raw_fields, delivered in entries:
            entry_id = _as_text(raw_id)
            if entry_id in self._in_flight:  # reclaimed from ourselves while still held here
                continue
            self._in_flight.add(entry_id)
            fields = _text_fields(raw_fields)
            try:
                env = self.codec.decode_text(fields)
            except PoisonMessage as exc:
                self.log.warning(
                    "poison_message",
                    message_id=entry_id,
                    task_id=clip(fields.get(FIELD_TASK_ID, ""), TASK_ID_PREVIEW_CHARS),
                    error=str(exc),
                )
                self._submit(self._policy.poison(entry_id, fields, exc, delivered))
                continue
            unrun = self._policy.before_run(
                entry_id, fields, attempts=env.attempts, delivered=delivered
            )
            if unrun is not None:
                if unrun.log_event is not None:
                    self.log.warning(unrun.log_event, message_id=entry_id, task_id=env.task_id)
                self._submit(unrun)
                continue
            runnable.append((entry_id, env, delivered, fields))
        if self._dedup is not None and runnable:
            dedup = self._dedup
            done = await self._with_redis_retry(
                "dedup", lambda: dedup.done_among(self.client, [r[1].task_id for r in runnable])
            )
            if done:
                for entry_id, env, _d, _f in runnable:
                    if env.task_id in done:
                        self._submit(self._policy.already_done(entry_id, env.task_id))
                runnable = [r for r in runnable if r[1].task_id not in done]
        for item in runnable:
            self._queue.put_nowait(item)
        return [item[0] for item in runnable]

    # -- running -------------------------------------------------------------------------------

    async def _runner(self) -> None:
        while True:
            entry_id, env, delivered, fields = await self._queue.get()
            await self._run_one(entry_id, env, delivered, fields)

    async def _run_one(
        self, entry_id: str, env: Envelope[BaseTask], delivered: int, fields: dict[str, str]
    ) -> None:
        o = self.options
        started = time.monotonic()
        if self.pause_state is not None and entry_id != self._trial_entry:
            self._submit(
                self._policy.handed_back(
                    entry_id,
                    fields,
                    attempts=env.attempts,
                    delivered=delivered,
                    reason=self.pause_state.describe(),
                ),
                started,
            )
            return
        ctx = TaskContext(
            entry_id=entry_id,
            stream=o.stream,
            consumer=o.consumer,
            attempts=env.attempts + delivered - 1,
            task_id=env.task_id,
            parent_log=self.log,
        )
        me = asyncio.current_task()
        assert me is not None
        self._running[me] = started + o.handler_timeout_s
        try:
            outcome = await self.handler(env.task, ctx)
        except asyncio.CancelledError:
            if me not in self._timed_out:
                raise  # shutdown
            outcome = outcome_of_error(TimeoutError(), handler_timeout_s=o.handler_timeout_s)
        except REDIS_ERRORS as exc:
            # Redis did not answer the handler even after the client's retries: no fault of the
            # task, so it waits without spending an attempt. (Left unsettled instead, its entry
            # would be reclaimed later with one more delivery counted, which spends one.)
            ctx.log.warning("handler_redis_unavailable", error=str(exc))
            outcome = outcome_of_error(
                RedisUnavailable(f"{type(exc).__name__}: {exc}"),
                handler_timeout_s=o.handler_timeout_s,
            )
        except Exception as exc:
            if not isinstance(exc, TaskError):
                ctx.log.exception("handler_crashed")
            outcome = outcome_of_error(exc, handler_timeout_s=o.handler_timeout_s)
        finally:
            del self._running[me]
            if me in self._timed_out:
                self._timed_out.discard(me)
                me.uncancel()
        done_mark = env.task_id if self._dedup is not None else ""
        decision = self._policy.settlement_for(
            outcome,
            entry_id=entry_id,
            fields=fields,
            attempts=env.attempts,
            delivered=delivered,
            done_mark=done_mark,
            trial=entry_id == self._trial_entry,
        )
        if decision.log_event is not None:
            level = (
                ctx.log.info if decision.log_event == "task_retry_scheduled" else ctx.log.warning
            )
            level(
                decision.log_event,
                error_type=decision.error_type,
                error=getattr(outcome, "message", ""),
                delay_s=decision.delay_s,
            )
        self._submit(decision, started)
        await self._after_outcome(entry_id, decision)

    def _submit(self, decision: Decision, started: float | None = None) -> None:
        self._settler.submit_nowait(
            decision.settlement,
            functools.partial(
                self._settled,
                decision.settlement.entry_id,
                decision.kind,
                decision.error_type,
                started if started is not None else time.monotonic(),
            ),
        )

    def _settled(
        self, entry_id: str, kind: str, error_type: str | None, started: float, applied: bool
    ) -> None:
        self._in_flight.discard(entry_id)
        self._slot_free.set()
        if not applied:
            self._given_up.add(entry_id)
            self.counts.skipped_not_owned += 1
            self.log.info("settle_skipped_not_owned", message_id=entry_id, kind=kind)
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

    def _watch_interval_ms(self) -> int:
        return max(10, min(1000, int(self.options.handler_timeout_s * 1000 / 20)))

    async def _watchdog(self) -> None:
        """Cancel handlers past ``handler_timeout_s``: one timer for all, not one per task.

        The runner sees the cancellation inside the handler's await, recognises it as a timeout
        (``_timed_out``) and reports ``HandlerTimeout``, as ``asyncio.timeout`` would.
        """
        now = time.monotonic()
        for runner, deadline in list(self._running.items()):
            if deadline <= now and runner not in self._timed_out:
                self._timed_out.add(runner)
                runner.cancel()

    async def _reclaim(self, free: int) -> None:
        result = await self._reclaimer.claim(min(free, self.options.read_count))
        if result.deleted_ids:
            self.log.warning(
                "reclaim_found_deleted_entries",
                count=len(result.deleted_ids),
                ids=result.deleted_ids[:10],
            )
        claimed = result.entries
        deleted = len(result.deleted_ids)
        self.counts.deleted_while_pending += deleted
        if claimed or deleted:
            self.counts.reclaimed += len(claimed)
            self.log.info("reclaimed", count=len(claimed), deleted=deleted)
            self._safe_hook(self.hooks.on_reclaimed, len(claimed), deleted)
        if claimed:
            await self._dispatch(claimed)
        await self._take_back_lost(free - len(claimed))

    async def _take_back_lost(self, free: int) -> None:
        """Run again, spending no delivery, what a read whose reply was lost delivered to us."""
        o = self.options
        lost = await take_back_lost(
            self.client,
            stream=o.stream,
            group=o.group,
            consumer=o.consumer,
            held=self._in_flight,
            skip=self._given_up,
            count=min(free, o.read_count),
        )
        if lost.pending_ids is not None:
            self._given_up &= lost.pending_ids
        if not lost.entries:
            return
        gone = [eid for eid, fields, _ in lost.entries if fields is None]
        if gone:  # deleted from the stream meanwhile: nothing to run
            await self.client.xack(o.stream, o.group, *gone)
        live = [e for e in lost.entries if e[1] is not None]
        self.log.warning(
            "lost_deliveries_taken_back",
            count=len(live),
            deleted=len(gone),
            ids=[e[0] for e in live][:10],
        )
        if live:
            await self._dispatch(live)

    async def _promote(self) -> None:
        while await self._promoter.promote() >= PROMOTE_BATCH:  # a full batch: more may be due
            continue

    async def _housekeeping(self) -> None:
        o = self.options
        await write_heartbeat(
            self.client,
            group=o.group,
            consumer=o.consumer,
            ttl_ms=o.housekeeping_interval_ms * HEARTBEAT_TTL_INTERVALS,
            in_flight=len(self._in_flight),
        )
        removed = await self._pruner.prune()
        for name in removed:
            self.log.info(
                "consumer_pruned", pruned=name, min_idle_ms=o.consumer_prune_idle_ms, pending=0
            )
        if removed:
            self._safe_hook(self.hooks.on_consumers_pruned, len(removed))
        if o.trim_interval_ms and time.monotonic() >= self._next_trim:
            self._next_trim = time.monotonic() + o.trim_interval_ms / 1000
            try:
                await safe_trim_async(self.client, o.stream)
            except TransientError as exc:  # the next round tries again
                self.log.warning("trim_failed", error=str(exc))

    # -- helpers ---------------------------------------------------------------------------

    def _raise_if_refused(self, where: str, exc: BaseException) -> None:
        """Redis refused our credentials or an ACL permission: stop, naming it, instead of
        waiting for a world that will not change (``RedisRefused`` is a ``ConfigurationError``)."""
        refused = refusal(exc)
        if refused is not None:
            self.log.error("redis_refused", where=where, error=str(refused))
            raise refused from exc

    async def _redis_backoff(self, where: str, exc: Exception) -> None:
        """Wait out an outage; but Redis refusing us is no outage: ``RedisRefused`` ends ``run``."""
        self._raise_if_refused(where, exc)
        self._redis_failures += 1
        self._safe_hook(self.hooks.on_redis_error, where)
        o = self.options
        delay_s = compute_backoff_s(
            min(self._redis_failures, 10),
            base_s=o.redis_backoff_base_s,
            max_s=o.redis_backoff_max_s,
        )
        self.log.warning(
            "redis_unavailable", where=where, error=str(exc), retry_in_s=round(delay_s, 2)
        )
        await self._sleep_unless_stopping(delay_s)

    async def _with_redis_retry(self, where: str, call: Callable[[], Awaitable[Any]]) -> Any:
        while True:
            try:
                result = await call()
            except redis.exceptions.ResponseError as exc:
                self._raise_if_refused(where, exc)
                raise
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
