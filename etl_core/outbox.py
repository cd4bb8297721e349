"""The durable outbox: tasks are stored in SQLite before they are published, and deleted after.

The scheduler first flushes what a crashed run left behind, then ``put``s this run's tasks, then
``flush``es them. Nothing is lost and nothing is added to a stream twice, whatever point a crash
(even ``kill -9``) interrupts:

* during ``put``: a put is one transaction, so it is all there or not at all; the re-run puts all.
* after ``put``, before publishing: the rows survive; the next ``flush`` publishes them.
* after publishing, before the rows are deleted: the next ``flush`` sends them again, and
  ``publish_once.lua`` skips every task whose publish marker exists (``already_published``). The
  marker TTL (``StreamProducer(marker_ttl_s=...)``) must therefore exceed the gap between a crash
  and the next flush, e.g. the cron interval.
* after the delete: nothing is left to do.
* a failover: a promoted replica lacks what the old master had not sent it yet, so with replicas
  connected a delete waits until they hold the rows (``flush(replication=...)``,
  ``etl_core.replication``); rows not confirmed so are kept and sent again.

Durability: the database runs in WAL mode. With ``synchronous="FULL"`` (the default) every commit
fsyncs the WAL, so a committed put survives a process crash and a power loss. ``"NORMAL"`` skips
that fsync; a committed put still survives a crash of the process (``kill -9``: the WAL write has
reached the operating system before COMMIT returns) but a power loss may roll back the last commits.

Rows: ``seq`` (AUTOINCREMENT, publishing order), ``stream``, ``task_id`` (UNIQUE per stream:
putting the same task again adds nothing while its row is here), ``fields`` (the entry fields as a
JSON array of alternating names and values, ``producer.encode_fields``) and ``created_ms``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Literal

from etl_core.backoff import compute_backoff_s
from etl_core.errors import OutboxError, ReplicationUnconfirmed
from etl_core.logging import get_logger
from etl_core.producer import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BATCHES_PER_ROUND_TRIP,
    PendingPublish,
    StreamProducer,
    WireEntry,
    encode_fields,
    wire_entries_of,
)
from etl_core.replication import FlushReplication, ReplicationWait
from etl_core.task import BaseTask, TaskCodec

DEFAULT_CHUNK_SIZE = 5_000
DEFAULT_BUSY_TIMEOUT_MS = 10_000
DEFAULT_DELETE_EVERY_ROWS = 20_000
SCHEMA_VERSION = 1
DEFAULT_REPLICATION_WAIT = ReplicationWait()  # auto: every connected replica, none without
_RETRY_BASE_S = 0.2
_RETRY_MAX_S = 2.0

Synchronous = Literal["FULL", "NORMAL"]
# (seq, task_id, fields in wire form)
Row = tuple[int, str, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    stream     TEXT    NOT NULL,
    task_id    TEXT    NOT NULL,
    fields     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (stream, task_id)
)
"""
_INSERT = "INSERT OR IGNORE INTO outbox (stream, task_id, fields, created_ms) VALUES (?, ?, ?, ?)"
# NOT INDEXED: walk the table in seq (rowid) order, not the (stream, task_id) index plus a sort.
_SELECT = (
    "SELECT seq, task_id, fields FROM outbox NOT INDEXED "
    "WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?"
)
_DELETE = "DELETE FROM outbox NOT INDEXED WHERE stream = ? AND seq BETWEEN ? AND ?"


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What one ``flush`` did for one stream."""

    stream: str
    published: int
    already_published: int  # sent again after a crash and skipped: their markers existed
    batches: int  # EVALSHA calls
    replication_waits: int = 0  # WAIT calls (one per delete transaction when replicas exist)
    replication_retries: int = 0  # passes started again after a WAIT did not confirm


class SqliteOutbox:
    """A durable outbox in one SQLite file, shared by every stream its owner publishes to.

    One process, one thread per instance. Several processes may open the same file (SQLite
    serializes writers; ``busy_timeout_ms`` is how long one waits for another).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self.path = os.fspath(path)
        if self.path in ("", ":memory:") or self.path.startswith("file::memory:"):
            raise ValueError("the outbox must be a file: an in-memory database is not durable")
        self._chunk_size = chunk_size
        self._log = get_logger("etl_core.outbox", component="outbox", path=self.path)
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=busy_timeout_ms / 1000
            )
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        try:
            self._setup(synchronous)
        except BaseException:
            self._conn.close()
            raise

    def _setup(self, synchronous: Synchronous) -> None:
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"outbox {self.path}: WAL mode unavailable (journal_mode={mode})")
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise OutboxError(
                        f"outbox {self.path} has schema version {version}; this code knows "
                        f"version {SCHEMA_VERSION}"
                    )
                self._conn.execute(_SCHEMA)
                self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot set up outbox {self.path}: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SqliteOutbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- put ---------------------------------------------------------------------------------

    def put(self, stream: str, entries: Iterable[tuple[str, Mapping[str, str]]]) -> int:
        """Store ``(task_id, fields)`` pairs for ``stream`` in one transaction.

        The iterable is read ``chunk_size`` entries at a time, so a generator of a million tasks
        keeps memory flat. Returns how many rows were added: a task_id already waiting for this
        stream is ignored.
        """
        wire = ((task_id, encode_fields(fields)) for task_id, fields in entries)
        return self._insert(stream, wire)

    def put_tasks(self, stream: str, tasks: Iterable[BaseTask], codec: TaskCodec) -> int:
        """``put`` for tasks, encoded by ``codec``."""
        return self._insert(stream, wire_entries_of(tasks, codec))

    def _insert(self, stream: str, wire: Iterator[WireEntry]) -> int:
        if not stream:
            raise ValueError("stream must be a non-empty name")
        conn = self._conn
        offered = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
            before = conn.total_changes
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot start a put: {exc}") from exc
        try:
            while chunk := list(islice(wire, self._chunk_size)):
                offered += len(chunk)
                created_ms = time.time_ns() // 1_000_000
                conn.executemany(
                    _INSERT, [(stream, task_id, fields, created_ms) for task_id, fields in chunk]
                )
            added = conn.total_changes - before
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise OutboxError(f"outbox {self.path}: put to {stream!r} failed: {exc}") from exc
            raise
        self._log.info("outbox_put", stream=stream, offered=offered, added=added)
        return added

    # -- reading -----------------------------------------------------------------------------

    def pending_count(self, stream: str | None = None) -> int:
        """Rows waiting to be published: for ``stream``, or for every stream."""
        try:
            if stream is None:
                row = self._conn.execute("SELECT count(*) FROM outbox").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT count(*) FROM outbox WHERE stream = ?", (stream,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot count rows: {exc}") from exc
        return int(row[0])

    def pending_streams(self) -> list[str]:
        """The streams that have rows waiting, by their oldest row first."""
        try:
            rows = self._conn.execute(
                "SELECT stream FROM outbox GROUP BY stream ORDER BY min(seq)"
            ).fetchall()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot list streams: {exc}") from exc
        return [str(r[0]) for r in rows]

    def _select(self, stream: str, *, after_seq: int, limit: int) -> list[Row]:
        try:
            return self._conn.execute(_SELECT, (stream, after_seq, limit)).fetchall()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot read rows: {exc}") from exc

    def _delete(self, stream: str, first_seq: int, last_seq: int) -> None:
        try:
            self._conn.execute(_DELETE, (stream, first_seq, last_seq))
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot delete published rows: {exc}") from exc

    # -- flush -------------------------------------------------------------------------------

    def flush(
        self,
        producer: StreamProducer,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batches_per_round_trip: int = DEFAULT_BATCHES_PER_ROUND_TRIP,
        delete_every_rows: int = DEFAULT_DELETE_EVERY_ROWS,
        replication: ReplicationWait = DEFAULT_REPLICATION_WAIT,
    ) -> FlushReport:
        """Publish every row of ``producer.stream``, oldest first, deleting rows once confirmed.

        Each round trip carries up to ``batches_per_round_trip`` EVALSHA batches of ``batch_size``;
        up to ``producer.max_rounds_in_flight`` rounds are sent before the oldest is confirmed, and
        meanwhile the next rows are read and confirmed rows deleted (one transaction per
        ``delete_every_rows`` confirmed rows, and one at the end). Rows are deleted only after the
        stream confirmed them and, when the master has replicas (``replication``,
        ``etl_core.replication``), after one WAIT per delete transaction saw them replicated.

        On an error the rows not yet confirmed stay for the next flush (so do confirmed ones not yet
        seen replicated). A WAIT that does not confirm (too few replicas acknowledged, the master
        changed) ends the attempt with its rows kept; the flush starts again from the oldest row,
        which sends the kept rows again (their markers make that free; after a failover the new
        master gets the ones it lacks), until ``replication.give_up_after_s`` has passed since the
        first such failure, then raises ``ReplicationUnconfirmed``, the rows still kept.
        """
        if batch_size < 1 or batches_per_round_trip < 1 or delete_every_rows < 1:
            raise ValueError(
                "batch_size, batches_per_round_trip and delete_every_rows must be at least 1"
            )
        stream = producer.stream
        started = time.monotonic()
        total = _Counts()
        deadline: float | None = None
        retries = 0
        while True:
            check = FlushReplication(producer, replication)
            attempt = _Counts()
            try:
                self._flush_once(
                    producer,
                    check,
                    attempt,
                    batch_size=batch_size,
                    round_size=batch_size * batches_per_round_trip,
                    delete_every_rows=delete_every_rows,
                )
            except ReplicationUnconfirmed as exc:
                total.merge(attempt, waits=check.waits)
                retries += 1
                now = time.monotonic()
                deadline = now + replication.give_up_after_s if deadline is None else deadline
                self._wait_before_retry(stream, exc, retry=retries, now=now, deadline=deadline)
                continue
            total.merge(attempt, waits=check.waits)
            break
        report = FlushReport(
            stream=stream,
            published=total.published,
            already_published=total.already,
            batches=total.batches,
            replication_waits=total.waits,
            replication_retries=retries,
        )
        self._log.info(
            "outbox_flushed", **asdict(report), duration_s=round(time.monotonic() - started, 3)
        )
        return report

    def _wait_before_retry(
        self, stream: str, exc: ReplicationUnconfirmed, *, retry: int, now: float, deadline: float
    ) -> None:
        """Log an unconfirmed flush and sleep before the next pass; past ``deadline``, give up."""
        kept = self.pending_count(stream)
        context = {
            "stream": stream,
            "reason": exc.reason,
            "wanted": exc.wanted,
            "acknowledged": exc.acknowledged,
            "kept_rows": kept,
            "retry": retry,
        }
        if now >= deadline:
            self._log.error("outbox_replication_gave_up", **context)
            raise ReplicationUnconfirmed(
                f"stream {stream!r}: Redis did not confirm that its replicas hold the published "
                f"tasks ({exc}); {kept} row(s) stay in the outbox and are sent again by the next "
                "flush",
                reason=exc.reason,
                wanted=exc.wanted,
                acknowledged=exc.acknowledged,
            ) from exc
        delay_s = min(
            compute_backoff_s(retry, base_s=_RETRY_BASE_S, max_s=_RETRY_MAX_S), deadline - now
        )
        self._log.warning(
            "outbox_replication_unconfirmed",
            **context,
            retry_in_s=round(delay_s, 2),
            gives_up_in_s=round(deadline - now, 1),
        )
        time.sleep(delay_s)

    def _flush_once(
        self,
        producer: StreamProducer,
        check: FlushReplication,
        counts: _Counts,
        *,
        batch_size: int,
        round_size: int,
        delete_every_rows: int,
    ) -> None:
        """One pass over the stream's rows (``flush``); adds what it did to ``counts``."""
        stream = producer.stream
        in_flight: deque[tuple[list[Row], PendingPublish]] = deque()
        undeleted: tuple[int, int] | None = None  # seq range confirmed, not yet deleted
        undeleted_rows = 0
        rows = self._select(stream, after_seq=0, limit=round_size)
        if rows:
            check.start()  # before anything is sent: the history the rows must be confirmed on
        try:
            while rows or in_flight:
                if rows and len(in_flight) < producer.max_rounds_in_flight:
                    pending = producer.send(
                        [(task_id, fields) for _, task_id, fields in rows], batch_size=batch_size
                    )
                    sent, rest = rows[: pending.count], rows[pending.count :]
                    in_flight.append((sent, pending))
                    rows = rest + self._select(
                        stream, after_seq=rows[-1][0], limit=round_size - len(rest)
                    )
                    if rows and len(in_flight) < producer.max_rounds_in_flight:
                        continue
                if undeleted is not None and undeleted_rows >= delete_every_rows:
                    check.confirm()  # one WAIT per delete transaction, not per round
                    seq_range, undeleted, undeleted_rows = undeleted, None, 0
                    self._delete(stream, *seq_range)
                sent, pending = in_flight.popleft()
                ids = pending.confirm()
                first_seq = sent[0][0] if undeleted is None else undeleted[0]
                undeleted = (first_seq, sent[-1][0])
                undeleted_rows += len(sent)
                counts.batches += pending.batches
                fresh = sum(1 for entry_id in ids if entry_id is not None)
                counts.published += fresh
                counts.already += len(ids) - fresh
            if undeleted is not None:
                check.confirm()
                seq_range, undeleted = undeleted, None
                self._delete(stream, *seq_range)
        finally:
            if in_flight:
                producer.abandon()
            # Confirmed rows go on an error too, unless they still await a WAIT: then they are
            # sent again next time, which the markers make free.
            if undeleted is not None and not check.required:
                self._delete(stream, *undeleted)


@dataclass(slots=True)
class _Counts:
    published: int = 0
    already: int = 0
    batches: int = 0
    waits: int = 0

    def merge(self, attempt: _Counts, *, waits: int) -> None:
        """Add one pass's counts; rows an earlier pass published and this one sent again (kept
        after an unconfirmed WAIT) count once, as published."""
        self.already += max(0, attempt.already - self.published)
        self.published += attempt.published
        self.batches += attempt.batches
        self.waits += waits
