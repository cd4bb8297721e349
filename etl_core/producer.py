"""Publishing to one stream: batched, idempotent, never trimming, with back-pressure.

Each batch is one EVALSHA of ``publish_once.lua``: for every task it records the task id in a
time-bucketed marker hash (``keys.published_markers``) and adds the entry only when the id was not
recorded yet, so a batch sent again after any crash adds nothing twice while the marker lives.
Several batches travel in one round trip, and ``send`` returns before their replies are read, so a
caller (the outbox) can do its own work while Redis runs the scripts.

The producer never trims (``XADD MAXLEN`` deletes entries no consumer has read yet). Instead, when
``max_backlog`` is set, it measures the stream's backlog once before each round trip and sends at
most ``max_backlog - backlog`` entries; at or above the bound it polls until consumers catch up, or
raises ``BackpressureError`` after ``backpressure_timeout_s``. Trimming is ``etl_core.trim``'s job.

Entry fields travel in their wire form: a JSON array of alternating names and values in field
order (``encode_fields``), which the script turns back into XADD arguments.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from json.encoder import encode_basestring
from typing import Any, TypeVar

import redis
from redis.exceptions import NoScriptError

from etl_core import keys, replication, scripts
from etl_core.backoff import compute_backoff_s
from etl_core.buckets import TimeBuckets
from etl_core.errors import BackpressureError, EtlError, RedisUnavailable, TransientError
from etl_core.logging import get_logger
from etl_core.redis_client import REDIS_OUTAGE_ERRORS, refusal
from etl_core.task import (
    FIELD_ATTEMPTS,
    FIELD_PAYLOAD,
    FIELD_TASK_ID,
    FIELD_TYPE,
    FIELD_VERSION,
    BaseTask,
    TaskCodec,
)
from etl_core.windows import window_of_task_id

DEFAULT_BATCH_SIZE = 500
DEFAULT_BATCHES_PER_ROUND_TRIP = 8
DEFAULT_MARKER_TTL_S = 24 * 3600.0
DEFAULT_BACKPRESSURE_TIMEOUT_S = 60.0
DEFAULT_BACKPRESSURE_POLL_S = 0.5
DEFAULT_REDIS_UNAVAILABLE_TIMEOUT_S = 0.0
REDIS_RETRY_BASE_S = 0.5
REDIS_RETRY_MAX_S = 5.0
MAX_ROUNDS_IN_FLIGHT = 2

SCRIPT_NAME = "publish_once"

# (task_id, fields in wire form)
WireEntry = tuple[str, str]
T = TypeVar("T")


def _wire(fields: Mapping[str, str]) -> str:
    # A JSON array of strings, built directly: twice as fast as json.dumps of a list.
    return "[" + ",".join([encode_basestring(s) for item in fields.items() for s in item]) + "]"


def encode_fields(fields: Mapping[str, str]) -> str:
    """Entry fields in wire form: a JSON array ``[name, value, name, value, ...]``, in order."""
    if not fields:
        raise ValueError("a stream entry needs at least one field")
    for name, value in fields.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"entry fields must map str to str, got {name!r}: {value!r}")
    return _wire(fields)


def decode_fields(wire: str) -> dict[str, str]:
    """The inverse of ``encode_fields``."""
    flat = json.loads(wire)
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def stream_backlog(groups: Sequence[Mapping[Any, Any]], *, stream_length: int) -> int:
    """How far the slowest consumer group is behind: the largest ``lag + pending`` of any group.

    ``groups`` is the reply of XINFO GROUPS. Redis 7 reports ``lag`` as nil when it cannot compute
    it (after deletions, or for a group created at an arbitrary id); that group then counts as the
    stream's length (every entry may still be unread), or its pending count if that is larger.
    Without groups the backlog is the stream's length.
    """
    if not groups:
        return stream_length
    worst = 0
    for group in groups:
        info = {_text(k): v for k, v in group.items()}
        pending = int(info.get("pending") or 0)
        lag = info.get("lag")
        behind = max(stream_length, pending) if lag is None else int(lag) + pending
        worst = max(worst, behind)
    return worst


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What one ``publish`` did: one id per offered entry (None: published before, skipped)."""

    stream: str
    entry_ids: tuple[str | None, ...]
    batches: int

    @property
    def published(self) -> int:
        return sum(1 for entry_id in self.entry_ids if entry_id is not None)

    @property
    def already_published(self) -> int:
        return len(self.entry_ids) - self.published


def _redis_error(what: str, exc: redis.RedisError) -> EtlError:
    """A failed call as our error: ``RedisRefused`` when Redis refused our credentials or a
    permission, ``RedisUnavailable`` when it did not answer at all."""
    refused = refusal(exc)
    if refused is not None:
        return refused
    if isinstance(exc, REDIS_OUTAGE_ERRORS):
        return RedisUnavailable(f"{what} failed: {exc}")
    return TransientError(f"{what} failed: {exc}")


def _read_replies(connection: Any, count: int) -> list[Any]:
    return [connection.read_response() for _ in range(count)]


class PendingPublish:
    """One round trip of batches written to Redis; ``confirm()`` reads its replies.

    ``count`` entries were sent: a prefix of what was offered to ``send`` (back-pressure may allow
    fewer). Until ``confirm()`` returns, nothing is known about them: they may or may not be in the
    stream. Rounds of one producer are confirmed in the order they were sent.
    """

    def __init__(
        self, producer: StreamProducer, commands: list[tuple[Any, ...]], *, count: int
    ) -> None:
        self._producer = producer
        self._commands = commands
        self._connection: Any | None = None  # where its commands were written
        self._replies: list[Any] | None = None
        self._abandoned = False
        self._confirmed = False
        self.count = count
        self.batches = len(commands)

    def confirm(self) -> list[str | None]:
        """For each sent entry its new id, or None where it was published before (skipped)."""
        if not self._confirmed:
            # Also when a resend already holds the replies: the producer must still retire the
            # round, or the next round's confirm finds this one first in line.
            self._producer._confirm(self)
            self._confirmed = True
        ids: list[str | None] = []
        for reply in self._replies or ():
            ids.extend([i if i is None or isinstance(i, str) else i.decode() for i in reply])
        if len(ids) != self.count:
            raise TransientError(
                f"publish_once on stream {self._producer.stream!r} returned {len(ids)} ids for "
                f"{self.count} entries"
            )
        return ids


class StreamProducer:
    """Adds entries to one stream through ``publish_once.lua``; never trims. One thread.

    ``marker_ttl_s`` is how long a task's publish marker lives at least (at most twice that);
    within it, publishing the same ``task_id`` again adds nothing. It must exceed the longest gap
    between a crash after publishing and the next flush of the outbox (the cron interval, plus
    slack). ``max_backlog=None`` means no
    bound; otherwise see the module documentation. ``clock`` and ``sleep`` are injectable for tests.

    Rounds go out on one connection, in order. Without a bound, up to ``max_rounds_in_flight`` (2)
    rounds may be unconfirmed, so Redis never waits for the client; with a bound, one, so every
    backlog measurement sees all that was sent before it.

    A lost connection or a missing script (Redis restarted, SCRIPT FLUSH) is handled by sending
    the affected rounds again, in order, which the markers make harmless (entries the first attempt
    added then count as already published). While Redis does not answer at all (after the client's
    own retries), a round is tried again with backoff for up to ``redis_unavailable_timeout_s``
    from its first failure (0: not at all), then ``RedisUnavailable`` is raised. Redis refusing our
    credentials or a permission is raised at once as ``RedisRefused``; other Redis errors are raised
    as ``TransientError``.
    """

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        *,
        max_backlog: int | None = None,
        backpressure_timeout_s: float = DEFAULT_BACKPRESSURE_TIMEOUT_S,
        backpressure_poll_s: float = DEFAULT_BACKPRESSURE_POLL_S,
        marker_ttl_s: float = DEFAULT_MARKER_TTL_S,
        redis_unavailable_timeout_s: float = DEFAULT_REDIS_UNAVAILABLE_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not stream:
            raise ValueError("stream must be a non-empty name")
        if max_backlog is not None and max_backlog < 1:
            raise ValueError(f"max_backlog must be at least 1 (or None), got {max_backlog}")
        if backpressure_timeout_s < 0:
            raise ValueError(f"backpressure_timeout_s must be >= 0, got {backpressure_timeout_s}")
        if backpressure_poll_s <= 0:
            raise ValueError(f"backpressure_poll_s must be positive, got {backpressure_poll_s}")
        if marker_ttl_s < 0.001:
            raise ValueError(f"marker_ttl_s must be at least 1 ms, got {marker_ttl_s}")
        if redis_unavailable_timeout_s < 0:
            raise ValueError(
                f"redis_unavailable_timeout_s must be >= 0, got {redis_unavailable_timeout_s}"
            )
        self._client = client
        self.stream = stream
        self.max_backlog = max_backlog
        self.backpressure_timeout_s = backpressure_timeout_s
        self.backpressure_poll_s = backpressure_poll_s
        self.marker_ttl_ms = int(marker_ttl_s * 1000)
        self.redis_unavailable_timeout_s = redis_unavailable_timeout_s
        self._buckets = TimeBuckets(self.marker_ttl_ms)
        self.max_rounds_in_flight = MAX_ROUNDS_IN_FLIGHT if max_backlog is None else 1
        self._clock = clock
        self._sleep = sleep
        self._script = scripts.register(client, SCRIPT_NAME)
        self._script_loaded = False
        self._connection: Any | None = None
        self._in_flight: deque[PendingPublish] = deque()
        self._log = get_logger("etl_core.producer", component="producer", stream=stream)

    # -- back-pressure -----------------------------------------------------------------------

    def backlog(self) -> int:
        """The stream's backlog now (``stream_backlog``), measured in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        pipe.xinfo_groups(self.stream)
        pipe.xlen(self.stream)
        try:
            groups, length = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            raise _redis_error(f"measuring the backlog of {self.stream!r}", exc) from exc
        for reply in (length, groups):
            if isinstance(reply, redis.RedisError) and refusal(reply) is not None:
                raise _redis_error(f"measuring the backlog of {self.stream!r}", reply)
        if isinstance(length, Exception):
            raise TransientError(f"XLEN {self.stream!r} failed: {length}")
        if isinstance(groups, Exception):
            if length != 0:  # "no such key" is the only expected error, for a missing stream
                raise TransientError(f"XINFO GROUPS {self.stream!r} failed: {groups}")
            groups = []
        return stream_backlog(groups, stream_length=int(length))

    def _capacity(self, wanted: int) -> int:
        """How many entries may be sent now; waits while the backlog is at or above the bound."""
        if self.max_backlog is None:
            return wanted
        deadline: float | None = None
        while True:
            backlog = self._while_unavailable(self.backlog)
            if backlog < self.max_backlog:
                if deadline is not None:
                    self._log.info(
                        "backpressure_released", backlog=backlog, max_backlog=self.max_backlog
                    )
                return min(wanted, self.max_backlog - backlog)
            now = self._clock()
            if deadline is None:
                deadline = now + self.backpressure_timeout_s
                self._log.warning(
                    "backpressure_waiting",
                    backlog=backlog,
                    max_backlog=self.max_backlog,
                    timeout_s=self.backpressure_timeout_s,
                )
            elif now >= deadline:
                raise BackpressureError(
                    f"stream {self.stream!r} has a backlog of {backlog} entries, at or above "
                    f"max_backlog={self.max_backlog}, and it did not drain within "
                    f"backpressure_timeout_s={self.backpressure_timeout_s}: its consumers are not "
                    "keeping up (entries are never trimmed to make room)"
                )
            self._sleep(min(self.backpressure_poll_s, max(deadline - now, 0.0)))

    # -- sending -----------------------------------------------------------------------------

    def _command(self, batch: Sequence[WireEntry]) -> tuple[Any, ...]:
        current = self._buckets.current()
        others = [b for b in self._buckets.readable() if b != current]
        tally_keys: list[str] = []
        tally_index: dict[str, int] = {}
        triples: list[Any] = []
        first_tally = 3 + len(others)
        for task_id, fields in batch:
            index = 0
            window = window_of_task_id(task_id)
            if window is not None:
                if window not in tally_index:
                    tally_index[window] = first_tally + len(tally_keys)
                    tally_keys.append(keys.window_tally(self.stream, window))
                index = tally_index[window]
            triples += [task_id, index, fields]
        return (
            "EVALSHA",
            self._script.sha,
            2 + len(others) + len(tally_keys),
            self.stream,
            keys.published_markers(self.stream, current),
            *(keys.published_markers(self.stream, b) for b in others),
            *tally_keys,
            self._buckets.expire_at_ms(current),
            len(others),
            *triples,
        )

    def send(
        self, entries: Sequence[WireEntry], *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> PendingPublish:
        """Send ``entries`` (or, under back-pressure, a prefix of them) in one round trip.

        One EVALSHA per ``batch_size`` entries; returns before the replies are read.
        """
        if not entries:
            raise ValueError("send needs at least one entry")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if len(self._in_flight) >= self.max_rounds_in_flight:
            raise RuntimeError(
                f"{len(self._in_flight)} round(s) to {self.stream!r} are unconfirmed; confirm the "
                "oldest before sending more"
            )
        count = self._capacity(len(entries))
        if not self._script_loaded:
            self._while_unavailable(self._load_script)
        pending = PendingPublish(
            self,
            [
                self._command(entries[i : min(i + batch_size, count)])
                for i in range(0, count, batch_size)
            ],
            count=count,
        )
        try:
            self._resend_orphans()
            self._in_flight.append(pending)
            if self._connection is None:
                self._connection = self._client.connection_pool.get_connection()
            pending._connection = connection = self._connection
            connection.send_packed_command(connection.pack_commands(pending._commands))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if refusal(exc) is not None:
                self.abandon()
                raise _redis_error(f"publishing to stream {self.stream!r}", exc) from exc
            self._log.warning("publish_connection_lost", error=str(exc))
            self._drop_connection()  # this round becomes an orphan: sent again, in order
        except BaseException:
            self.abandon()
            raise
        return pending

    def _confirm(self, pending: PendingPublish) -> None:
        if pending._abandoned:
            raise TransientError(f"a round to {self.stream!r} was abandoned after an earlier error")
        if not self._in_flight or self._in_flight[0] is not pending:
            raise RuntimeError("rounds must be confirmed in the order they were sent")
        try:
            connection = self._connection
            if (
                pending._replies is None
                and connection is not None
                and pending._connection is connection
            ):
                try:
                    pending._replies = _read_replies(connection, len(pending._commands))
                except (redis.ConnectionError, redis.TimeoutError, NoScriptError) as exc:
                    if refusal(exc) is not None:
                        raise _redis_error(f"publishing to stream {self.stream!r}", exc) from exc
                    self._log.warning("publish_retried", error=str(exc))
                    self._drop_connection()
                except redis.RedisError as exc:
                    raise _redis_error(f"publishing to stream {self.stream!r}", exc) from exc
            if pending._replies is None:
                pending._replies = self._resend(pending._commands)
        except BaseException:
            self.abandon()
            raise
        self._in_flight.popleft()
        if not self._in_flight:
            self._release_connection()

    def abandon(self) -> None:
        """Forget every unconfirmed round (after an error); their entries may be in the stream."""
        for pending in self._in_flight:
            pending._abandoned = True
        self._in_flight.clear()
        self._drop_connection()

    def _resend_orphans(self) -> None:
        """Rounds whose connection was lost are sent again, in order, before anything new."""
        for pending in self._in_flight:
            if pending._replies is None and pending._connection is not self._connection:
                pending._replies = self._resend(pending._commands)

    def _resend(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send batches again through a client pipeline (with the client's own retries)."""

        def once() -> list[Any]:
            self._load_script()
            pipe = self._client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            try:
                return list(pipe.execute())
            except redis.RedisError as exc:
                raise _redis_error(f"publishing to stream {self.stream!r}", exc) from exc

        return self._while_unavailable(once)

    def _load_script(self) -> None:
        try:
            self._client.script_load(self._script.script)
        except redis.RedisError as exc:
            raise _redis_error(f"loading {SCRIPT_NAME}.lua", exc) from exc
        self._script_loaded = True

    def _while_unavailable(self, call: Callable[[], T]) -> T:
        """``call()``, tried again with backoff while it raises ``RedisUnavailable``, for up to
        ``redis_unavailable_timeout_s`` from its first failure."""
        deadline: float | None = None
        failures = 0
        while True:
            try:
                return call()
            except RedisUnavailable as exc:
                now = self._clock()
                if deadline is None:
                    deadline = now + self.redis_unavailable_timeout_s
                if now >= deadline:
                    raise
                failures += 1
                delay_s = min(
                    compute_backoff_s(failures, base_s=REDIS_RETRY_BASE_S, max_s=REDIS_RETRY_MAX_S),
                    deadline - now,
                )
                self._log.warning(
                    "publish_redis_unavailable",
                    retry=failures,
                    error=str(exc),
                    retry_in_s=round(delay_s, 2),
                    gives_up_in_s=round(deadline - now, 1),
                )
                self._sleep(delay_s)

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()
            self._release_connection()

    def _release_connection(self) -> None:
        if self._connection is not None:
            self._client.connection_pool.release(self._connection)
            self._connection = None

    # -- replication -------------------------------------------------------------------------

    def replication_state(self) -> replication.ReplicationState:
        """The master's replication history and connected replicas (``etl_core.replication``),
        asked again while Redis does not answer, as a round is."""
        return self._while_unavailable(lambda: replication.read_state(self._client))

    def wait_replicated(self, *, replicas: int, timeout_ms: int) -> replication.ReplicaAck:
        """WAIT, behind a fence write of this stream's, for ``replicas`` to hold what the master
        has applied so far (every confirmed round included)."""
        return replication.wait_for_replicas(
            self._client,
            fence_key=keys.replication_fence(self.stream),
            replicas=replicas,
            timeout_ms=timeout_ms,
        )

    # -- convenience -------------------------------------------------------------------------

    def publish(
        self,
        entries: Iterable[tuple[str, Mapping[str, str]]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batches_per_round_trip: int = DEFAULT_BATCHES_PER_ROUND_TRIP,
    ) -> PublishReport:
        """Publish ``(task_id, fields)`` pairs in order; a task_id at most once per marker TTL."""
        wire = ((task_id, encode_fields(fields)) for task_id, fields in entries)
        return self._publish_wire(
            wire, batch_size=batch_size, batches_per_round_trip=batches_per_round_trip
        )

    def publish_tasks(
        self,
        tasks: Iterable[BaseTask],
        codec: TaskCodec,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batches_per_round_trip: int = DEFAULT_BATCHES_PER_ROUND_TRIP,
    ) -> PublishReport:
        """Publish tasks encoded by ``codec``."""
        return self._publish_wire(
            wire_entries_of(tasks, codec),
            batch_size=batch_size,
            batches_per_round_trip=batches_per_round_trip,
        )

    def _publish_wire(
        self, wire: Iterator[WireEntry], *, batch_size: int, batches_per_round_trip: int
    ) -> PublishReport:
        if batches_per_round_trip < 1:
            raise ValueError(
                f"batches_per_round_trip must be at least 1, got {batches_per_round_trip}"
            )
        round_size = batch_size * batches_per_round_trip
        ids: list[str | None] = []
        batches = 0
        buffer: list[WireEntry] = []
        while True:
            buffer.extend(islice(wire, round_size - len(buffer)))
            if not buffer:
                break
            pending = self.send(buffer, batch_size=batch_size)
            ids.extend(pending.confirm())
            batches += pending.batches
            buffer = buffer[pending.count :]
        report = PublishReport(stream=self.stream, entry_ids=tuple(ids), batches=batches)
        self._log.info(
            "stream_published",
            published=report.published,
            already_published=report.already_published,
            batches=batches,
        )
        return report


def wire_entries_of(tasks: Iterable[BaseTask], codec: TaskCodec) -> Iterator[WireEntry]:
    """Tasks encoded by ``codec``, in wire form (what the outbox stores).

    The same as ``encode_fields(codec.encode(task))`` (a test holds them equal), built from a
    per-type template: the outbox puts hundreds of thousands of tasks at a time.
    """
    templates: dict[type[BaseTask], str] = {}
    for task in tasks:
        head = templates.get(type(task))
        if head is None:
            reference = codec.encode(task)  # also checks that the type is registered
            head = templates[type(task)] = (
                f"[{encode_basestring(FIELD_TYPE)},{encode_basestring(reference[FIELD_TYPE])},"
                f"{encode_basestring(FIELD_VERSION)},{encode_basestring(reference[FIELD_VERSION])},"
                f"{encode_basestring(FIELD_TASK_ID)},"
            )
        task_id = task.task_id
        yield (
            task_id,
            (
                f"{head}{encode_basestring(task_id)},{encode_basestring(FIELD_PAYLOAD)},"
                f'{encode_basestring(task.model_dump_json())},{encode_basestring(FIELD_ATTEMPTS)},"0"]'
            ),
        )
