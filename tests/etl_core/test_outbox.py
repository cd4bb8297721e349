"""SqliteOutbox: durable put, idempotent flush, crash points by injected failure (fake and real)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl_core.errors import BackpressureError, OutboxError
from etl_core.outbox import SqliteOutbox
from etl_core.producer import StreamProducer
from tests.etl_core.outbox_crash_child import CODEC, STREAM, HookedProducer, OutboxJob, jobs
from tests.support.polling import wait_until

N = 1000  # 5 round trips of 2 batches of 100


class SimulatedCrash(Exception):
    pass


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.db"


@pytest.fixture
def outbox(db_path: Path) -> Iterator[SqliteOutbox]:
    with SqliteOutbox(db_path, chunk_size=100) as box:
        yield box


def flush(box: SqliteOutbox, producer: StreamProducer, **options: Any) -> Any:
    options = {"batch_size": 100, "batches_per_round_trip": 2, **options}
    return box.flush(producer, **options)


def stream_task_ids(client: Any) -> list[bytes]:
    return [fields[b"task_id"] for _, fields in client.xrange(STREAM)]


def crash_after_round(client: Any, round_number: int, **options: Any) -> HookedProducer:
    def on_confirmed(number: int) -> None:
        if number == round_number:
            raise SimulatedCrash(f"after round trip {number}")

    return HookedProducer(client, STREAM, on_confirmed=on_confirmed, **options)


# -- round trip ------------------------------------------------------------------------------


def test_put_then_flush_publishes_every_task_once_in_order(outbox: SqliteOutbox,
                                                           sredis: Any) -> None:
    tasks = list(jobs(N + 34))
    assert outbox.put_tasks(STREAM, tasks, CODEC) == N + 34
    assert outbox.pending_count() == N + 34
    report = flush(outbox, StreamProducer(sredis, STREAM))
    assert (report.published, report.already_published, report.batches) == (N + 34, 0, 11)
    assert outbox.pending_count() == 0
    decoded = [CODEC.decode(fields).task for _, fields in sredis.xrange(STREAM)]
    assert decoded == tasks


def test_putting_the_same_window_again_adds_nothing(outbox: SqliteOutbox, sredis: Any) -> None:
    assert outbox.put_tasks(STREAM, jobs(50), CODEC) == 50
    assert outbox.put_tasks(STREAM, jobs(50), CODEC) == 0
    assert outbox.pending_count() == 50
    producer = StreamProducer(sredis, STREAM)
    assert flush(outbox, producer).published == 50
    # A re-run of the window after the flush: the rows come back, the markers skip them.
    assert outbox.put_tasks(STREAM, jobs(50), CODEC) == 50
    report = flush(outbox, producer)
    assert (report.published, report.already_published) == (0, 50)
    assert sredis.xlen(STREAM) == 50
    assert outbox.pending_count() == 0
    # The next window is new work.
    assert outbox.put_tasks(STREAM, jobs(50, window="next"), CODEC) == 50
    assert flush(outbox, producer).published == 50
    assert sredis.xlen(STREAM) == 100


def test_put_takes_raw_pairs_and_flush_takes_one_stream(outbox: SqliteOutbox,
                                                        sredis: Any) -> None:
    outbox.put("other", [("x-1", {"task_id": "x-1", "k": "v"})])
    outbox.put(STREAM, [(f"t-{i}", {"task_id": f"t-{i}", "i": str(i)}) for i in range(30)])
    assert outbox.pending_streams() == ["other", STREAM]
    assert (outbox.pending_count(STREAM), outbox.pending_count("other")) == (30, 1)
    assert flush(outbox, StreamProducer(sredis, STREAM)).published == 30
    assert outbox.pending_streams() == ["other"]
    assert [f[b"i"] for _, f in sredis.xrange(STREAM)] == [str(i).encode() for i in range(30)]
    assert sredis.exists("other") == 0


def test_put_reads_a_generator_in_chunks(outbox: SqliteOutbox) -> None:
    behind: list[int] = []

    def watched() -> Iterator[OutboxJob]:
        for i, job in enumerate(jobs(1000)):
            behind.append(i - outbox.pending_count())  # rows yielded but not yet written
            yield job

    assert outbox.put_tasks(STREAM, watched(), CODEC) == 1000
    assert max(behind) == 99  # never more than one chunk (100) held in memory


def test_flush_of_an_empty_outbox_does_nothing(outbox: SqliteOutbox, sredis: Any) -> None:
    report = flush(outbox, StreamProducer(sredis, STREAM))
    assert (report.published, report.already_published, report.batches) == (0, 0, 0)
    assert sredis.exists(STREAM) == 0


def test_the_database_is_in_wal_mode_with_the_chosen_sync(db_path: Path) -> None:
    for level, number in (("FULL", 2), ("NORMAL", 1)):
        with SqliteOutbox(db_path, synchronous=level) as box:  # type: ignore[arg-type]
            conn = box._conn
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == number


def test_storage_errors_are_outbox_errors(tmp_path: Path) -> None:
    with pytest.raises(OutboxError):
        SqliteOutbox(tmp_path)  # a directory
    with pytest.raises(ValueError):
        SqliteOutbox(":memory:")
    other = sqlite3.connect(tmp_path / "v.db")
    other.execute("PRAGMA user_version=99")
    other.close()
    with pytest.raises(OutboxError, match="schema version 99"):
        SqliteOutbox(tmp_path / "v.db")


def test_invalid_fields_are_refused_and_nothing_is_written(outbox: SqliteOutbox) -> None:
    with pytest.raises(TypeError):
        outbox.put(STREAM, [("a", {"k": "v"}), ("b", {"k": 1})])  # type: ignore[dict-item]
    assert outbox.pending_count() == 0


# -- crash points (injected failures; SIGKILL versions are in test_outbox_crash.py) ----------


def test_a_failure_during_put_writes_nothing_and_the_rerun_puts_all(outbox: SqliteOutbox,
                                                                    sredis: Any) -> None:
    def failing() -> Iterator[OutboxJob]:
        for i, job in enumerate(jobs(N)):
            if i == 250:  # two chunks were written inside the transaction
                raise SimulatedCrash("during put")
            yield job

    with pytest.raises(SimulatedCrash):
        outbox.put_tasks(STREAM, failing(), CODEC)
    assert outbox.pending_count() == 0
    assert outbox.put_tasks(STREAM, jobs(N), CODEC) == N
    assert flush(outbox, StreamProducer(sredis, STREAM)).published == N
    assert sredis.xlen(STREAM) == N


def test_a_crash_after_put_keeps_the_rows_for_the_next_flush(db_path: Path, sredis: Any) -> None:
    with SqliteOutbox(db_path) as first_run:
        first_run.put_tasks(STREAM, jobs(N), CODEC)
    with SqliteOutbox(db_path) as next_run:
        assert next_run.pending_count() == N
        report = flush(next_run, StreamProducer(sredis, STREAM))
        assert (report.published, report.already_published) == (N, 0)
        assert next_run.pending_count() == 0
    ids = stream_task_ids(sredis)
    assert len(ids) == len(set(ids)) == N


def test_a_crash_after_publishing_before_deleting_republishes_nothing(
    outbox: SqliteOutbox, sredis: Any
) -> None:
    outbox.put_tasks(STREAM, jobs(N), CODEC)
    # The failure comes right after the last round trip was confirmed, before its rows were
    # deleted; the earlier rounds are deleted on the way out (a SIGKILL would leave them too:
    # see test_outbox_crash.py).
    with pytest.raises(SimulatedCrash):
        flush(outbox, crash_after_round(sredis, 5), delete_every_rows=10 * N)
    assert sredis.xlen(STREAM) == N
    assert outbox.pending_count() == 200
    report = flush(outbox, StreamProducer(sredis, STREAM))
    assert (report.published, report.already_published) == (0, 200)
    assert sredis.xlen(STREAM) == N
    assert outbox.pending_count() == 0


def test_a_crash_mid_flush_loses_and_duplicates_nothing(outbox: SqliteOutbox,
                                                        sredis: Any) -> None:
    outbox.put_tasks(STREAM, jobs(N), CODEC)
    # Bounded producer: one round trip at a time, so the counts are exact. Rounds 1-2 deleted,
    # round 3 published but not deleted, rounds 4-5 not sent.
    producer = crash_after_round(sredis, 3, max_backlog=10 * N)
    with pytest.raises(SimulatedCrash):
        flush(outbox, producer, delete_every_rows=200)
    assert sredis.xlen(STREAM) == 600
    assert outbox.pending_count() == 600
    report = flush(outbox, StreamProducer(sredis, STREAM))
    assert (report.published, report.already_published) == (400, 200)
    ids = stream_task_ids(sredis)
    assert len(ids) == len(set(ids)) == N
    assert outbox.pending_count() == 0


def test_a_crash_with_two_rounds_in_flight_loses_and_duplicates_nothing(
    outbox: SqliteOutbox, sredis: Any
) -> None:
    outbox.put_tasks(STREAM, jobs(N), CODEC)
    with pytest.raises(SimulatedCrash):
        flush(outbox, crash_after_round(sredis, 3), delete_every_rows=200)
    # Round 4 was sent before round 3 was confirmed; it is abandoned but Redis still runs it.
    wait_until(lambda: sredis.xlen(STREAM) == 800, message="round 4 to land")
    assert outbox.pending_count() == 600
    report = flush(outbox, StreamProducer(sredis, STREAM))
    assert (report.published, report.already_published) == (200, 400)
    ids = stream_task_ids(sredis)
    assert len(ids) == len(set(ids)) == N


def test_after_the_delete_nothing_is_left_and_a_rerun_adds_nothing(
    outbox: SqliteOutbox, sredis: Any
) -> None:
    producer = StreamProducer(sredis, STREAM)
    outbox.put_tasks(STREAM, jobs(N), CODEC)
    flush(outbox, producer)
    assert outbox.pending_count() == 0
    assert flush(outbox, producer).published == 0
    outbox.put_tasks(STREAM, jobs(N), CODEC)  # the whole run again, same window
    report = flush(outbox, producer)
    assert (report.published, report.already_published) == (0, N)
    assert sredis.xlen(STREAM) == N


def test_backpressure_stops_the_flush_and_keeps_the_unsent_rows(
    outbox: SqliteOutbox, sredis: Any
) -> None:
    outbox.put_tasks(STREAM, jobs(N), CODEC)
    producer = StreamProducer(sredis, STREAM, max_backlog=250, backpressure_timeout_s=0)
    with pytest.raises(BackpressureError, match="max_backlog=250"):
        flush(outbox, producer)
    assert sredis.xlen(STREAM) == 250  # never past the bound
    assert outbox.pending_count() == N - 250  # the confirmed ones were deleted
    sredis.delete(STREAM)  # a consumer group-less stream drained by hand
    report = flush(outbox, StreamProducer(sredis, STREAM))
    assert (report.published, report.already_published) == (N - 250, 0)
