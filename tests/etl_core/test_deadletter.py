"""Dead-letter streams: list, show, redrive (round trip to completion) and purge."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.deadletter import DeadLetters
from etl_core.errors import DeadLetterNotFound, PermanentError
from etl_core.outcomes import Done
from tests.etl_core.workerkit import GROUP, STREAM, Recorder, jobs, publish, run_until_idle


async def dead_letter_four(aredis: Any) -> None:
    """loc-0..1 fail with AuthError, loc-2..3 with BadData; a fifth task completes."""
    await publish(aredis, jobs(5))

    class AuthError(PermanentError):
        pass

    class BadData(PermanentError):
        pass

    async def fail(task: Any, _ctx: Any, _n: int) -> Done:
        if task.location_id in ("loc-0", "loc-1"):
            raise AuthError("401 Invalid API key")
        if task.location_id in ("loc-2", "loc-3"):
            raise BadData("lat out of range")
        return Done()

    worker = await run_until_idle(aredis, Recorder(fail))
    assert worker.counts.dead_lettered == 4 and worker.counts.done == 1


async def test_list_show_and_count_by_error_type(aredis: Any, sredis: Any) -> None:
    await dead_letter_four(aredis)
    dlq = DeadLetters(sredis, STREAM)
    assert dlq.count() == 4
    assert dlq.counts_by_error_type() == {"AuthError": 2, "BadData": 2}
    auth = dlq.list_entries(error_type="AuthError")
    assert [e.task_id for e in auth] == ["test.job:loc-0@w1", "test.job:loc-1@w1"]
    assert len(dlq.list_entries(limit=3)) == 3
    shown = dlq.show(auth[0].id)
    assert shown.error == "401 Invalid API key" and shown.fields["dlq_stage"] == GROUP
    assert set(shown.original_fields) == {"type", "v", "task_id", "payload", "attempts"}
    with pytest.raises(DeadLetterNotFound, match="no entry 1-1"):
        dlq.show("1-1")


async def test_redrive_round_trip_completes_the_task(aredis: Any, sredis: Any) -> None:
    await dead_letter_four(aredis)
    dlq = DeadLetters(sredis, STREAM)
    dry = dlq.redrive(error_type="AuthError", dry_run=True)
    assert len(dry.selected) == 2 and not dry.moved and dlq.count() == 4
    report = dlq.redrive(error_type="AuthError")
    assert len(report.moved) == 2 and not report.missing
    assert dlq.counts_by_error_type() == {"BadData": 2}
    handler = Recorder()  # the key was fixed: now everything succeeds
    worker = await run_until_idle(aredis, handler)
    assert sorted(handler.calls) == ["test.job:loc-0@w1", "test.job:loc-1@w1"]
    assert worker.counts.done == 2
    assert [c.attempts for c in handler.contexts] == [0, 0]  # attempts were reset


async def test_redrive_selected_ids_reports_missing_ones(aredis: Any, sredis: Any) -> None:
    await dead_letter_four(aredis)
    dlq = DeadLetters(sredis, STREAM)
    first = dlq.list_entries(limit=1)[0]
    report = dlq.redrive([first.id, "1-1"])
    assert [m[0] for m in report.moved] == [first.id] and report.missing == ["1-1"]
    assert dlq.count() == 3
    assert await aredis.xlen(STREAM) == 6  # 5 originals (acked, not trimmed) + the redriven one


async def test_purge_removes_only_what_was_asked(aredis: Any, sredis: Any) -> None:
    await dead_letter_four(aredis)
    dlq = DeadLetters(sredis, STREAM)
    one = dlq.list_entries(error_type="BadData")[0]
    assert dlq.purge([one.id]) == 1
    assert dlq.counts_by_error_type() == {"AuthError": 2, "BadData": 1}
    assert dlq.purge(error_type="AuthError") == 2
    assert dlq.counts_by_error_type() == {"BadData": 1}
    assert dlq.purge() == 1 and dlq.count() == 0
