"""The outbox across a Sentinel failover (real redis-servers: a master, a replica, 3 sentinels).

The issue's loss: the master confirms the published tasks, the outbox deletes their rows, the
master dies before its replica got them, the replica is promoted: the tasks are gone, and nothing
is left to send them again. Here the replica is stopped (SIGSTOP) and its socket filled before the
outbox flushes, so what the master sends it piles up in the master's memory; the master is
SIGKILLed with the replica still stopped, then the replica resumes and is promoted without it.
With the WAIT on, the rows stay until the new master holds every task (the flush that kept them
sends them again); with it off the test counts the tasks lost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from structlog.testing import capture_logs

from etl_core.outbox import FlushReport, SqliteOutbox
from etl_core.producer import StreamProducer
from etl_core.replication import NO_WAIT, ReplicationWait
from tests.etl_core.outbox_crash_child import CODEC, STREAM, jobs
from tests.support.polling import wait_until
from tests.support.redis_server import redis_server_binary, require_or_skip
from tests.support.sentinel import SentinelTopology, sentinel_topology
from tests.support.sentinel_clients import fill_the_replica_socket, stuck_bytes, sync_master

pytestmark = [pytest.mark.redis_real, pytest.mark.slow]

TASKS = 5_000
WAIT = ReplicationWait(timeout_ms=200, give_up_after_s=120)
# WAIT answers as soon as the replica acknowledges: a long timeout costs a healthy replica nothing,
# and a loaded machine does not turn a slow acknowledgement into a retry.
PATIENT_WAIT = ReplicationWait(timeout_ms=15_000, give_up_after_s=120)


@pytest.fixture
def topology() -> Iterator[SentinelTopology]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    with sentinel_topology(replicas=1) as topology:
        yield topology


def _task_ids(client: redis.Redis) -> list[bytes]:
    return [fields[b"task_id"] for _, fields in client.xrange(STREAM)]


def _fail_over(topology: SentinelTopology, replica: Any) -> redis.Redis:
    """SIGKILL the master while ``replica`` is stopped, resume it, wait for its promotion."""
    old = topology.master()
    old.kill()
    replica.resume()
    topology.wait_for_new_master(old)
    assert topology.master() is replica
    return replica.client(timeout_s=10)


def test_without_the_wait_a_failover_loses_tasks_the_outbox_deleted(
    topology: SentinelTopology, tmp_path: Path
) -> None:
    client = sync_master(topology)
    replica = topology.replicas()[0]
    master = topology.master().client(timeout_s=10)
    try:
        with SqliteOutbox(tmp_path / "outbox.db") as outbox:
            outbox.put_tasks(STREAM, jobs(TASKS), CODEC)
            replica.pause()
            fill_the_replica_socket(master)
            stuck = stuck_bytes(master)
            report = outbox.flush(StreamProducer(client, STREAM), replication=NO_WAIT)
            assert report.published == TASKS and outbox.pending_count() == 0
            assert master.xlen(STREAM) == TASKS  # the master confirmed every task
            assert stuck_bytes(master) > stuck  # ... which its replica never got
            promoted = _fail_over(topology, replica)
            lost = TASKS - len(set(_task_ids(promoted)))
            # What the issue saw: confirmed, deleted from the outbox, not on the new master.
            assert lost > 0, "the promoted replica had every task: the test shows nothing"
            assert outbox.pending_count() == 0
    finally:
        client.close()


def test_with_the_wait_a_failover_loses_no_task_and_the_flush_finishes(
    topology: SentinelTopology, tmp_path: Path
) -> None:
    client = sync_master(topology)
    replica = topology.replicas()[0]
    master = topology.master().client(timeout_s=10)
    path = tmp_path / "outbox.db"
    with SqliteOutbox(path) as outbox:
        outbox.put_tasks(STREAM, jobs(TASKS), CODEC)
    outcome: dict[str, Any] = {}

    def flush() -> None:  # its own thread, so its own SQLite connection
        try:
            with SqliteOutbox(path) as outbox:
                outcome["report"] = outbox.flush(
                    StreamProducer(client, STREAM, redis_unavailable_timeout_s=60), replication=WAIT
                )
        except BaseException as exc:
            outcome["error"] = exc

    flusher = threading.Thread(target=flush, daemon=True)
    try:
        with capture_logs() as logs:
            replica.pause()
            fill_the_replica_socket(master)
            flusher.start()
            wait_until(
                lambda: (
                    master.xlen(STREAM) == TASKS
                    and any(e["event"] == "outbox_replication_unconfirmed" for e in list(logs))
                ),
                timeout_s=60,
                message="every task confirmed by the master and a WAIT that timed out",
            )
            with SqliteOutbox(path) as reader:
                assert reader.pending_count() == TASKS, "rows went before a replica had them"
            promoted = _fail_over(topology, replica)
            flusher.join(timeout=120)
            assert not flusher.is_alive(), "the flush did not finish after the failover"
        assert "error" not in outcome, outcome.get("error")
        report: FlushReport = outcome["report"]
        ids = _task_ids(promoted)
        assert len(ids) == TASKS and len(set(ids)) == TASKS, "a task lost or added twice"
        assert report.replication_retries >= 1
        with SqliteOutbox(path) as reader:
            assert reader.pending_count() == 0
        unconfirmed = [e for e in logs if e["event"] == "outbox_replication_unconfirmed"]
        assert all(e["kept_rows"] == TASKS for e in unconfirmed)
        assert {e["reason"] for e in unconfirmed} <= {
            "too_few_replicas",
            "master_changed",
            "no_answer",
        }
    finally:
        if replica.alive():
            replica.resume()
        if flusher.ident is not None:  # started: a failure before it must not be masked
            flusher.join(timeout=30)
        client.close()


def test_one_wait_per_delete_transaction_and_the_replica_holds_every_task(
    topology: SentinelTopology, tmp_path: Path
) -> None:
    client = sync_master(topology)
    replica = topology.replicas()[0].client(timeout_s=10)
    try:
        with SqliteOutbox(tmp_path / "outbox.db") as outbox:
            outbox.put_tasks(STREAM, jobs(2_500), CODEC)
            report = outbox.flush(
                StreamProducer(client, STREAM),
                batch_size=100,
                batches_per_round_trip=2,
                delete_every_rows=1_000,
                replication=PATIENT_WAIT,
            )
            assert (report.published, report.replication_retries) == (2_500, 0)
            # Deletes after 1,000, 2,000 and the last 500 rows: one WAIT each, not one per round.
            assert report.replication_waits == 3
            assert outbox.pending_count() == 0
        # WAIT returned: the replica holds every task already, no polling needed.
        assert replica.xlen(STREAM) == 2_500
    finally:
        client.close()
