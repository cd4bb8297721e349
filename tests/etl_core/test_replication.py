"""The outbox's WAIT decision: auto, 0 and N; what confirms a flush; rows kept when it does not
(fakeredis, and a real redis-server without replicas). With replicas: test_outbox_failover.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis

from etl_core.errors import ConfigurationError, ReplicationUnconfirmed
from etl_core.outbox import SqliteOutbox
from etl_core.producer import StreamProducer
from etl_core.replication import (
    NO_WAIT,
    FlushReplication,
    ReplicaAck,
    ReplicationState,
    ReplicationWait,
    read_state,
    replicas_to_wait_for,
    unconfirmed_reason,
)
from tests.etl_core.outbox_crash_child import CODEC, STREAM, jobs
from tests.support.redis_server import RedisServer

AUTO = ReplicationWait()


# -- the decision, pure ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "connected", "wanted"),
    [
        (AUTO, 0, 0),
        (AUTO, 1, 1),
        (AUTO, 3, 3),
        (NO_WAIT, 2, 0),
        (ReplicationWait(replicas=2), 0, 2),
    ],
)
def test_auto_waits_for_every_connected_replica_and_n_for_n(
    policy: ReplicationWait, connected: int, wanted: int
) -> None:
    assert (
        replicas_to_wait_for(policy, ReplicationState(history="h1", replicas=connected)) == wanted
    )


def test_a_wait_confirms_only_enough_acks_on_the_same_history() -> None:
    since = ReplicationState(history="h1", replicas=2)
    assert unconfirmed_reason(ReplicaAck(wanted=2, acknowledged=2, history="h1"), since) is None
    assert unconfirmed_reason(ReplicaAck(wanted=2, acknowledged=3, history="h1"), since) is None
    too_few = ReplicaAck(wanted=2, acknowledged=1, history="h1")
    assert unconfirmed_reason(too_few, since) == "too_few_replicas"
    # A new master may lack the writes, however many of its replicas acknowledge.
    failover = ReplicaAck(wanted=2, acknowledged=2, history="h2")
    assert unconfirmed_reason(failover, since) == "master_changed"


@pytest.mark.parametrize(
    "options",
    [{"replicas": -1}, {"timeout_ms": 0}, {"give_up_after_s": -1.0}],
)
def test_invalid_policies_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ReplicationWait(**options)


class FakeSource:
    """A producer's replication side, scripted: the state at start, then one ack per WAIT."""

    def __init__(self, state: ReplicationState, acks: list[int], history: str = "h1") -> None:
        self.state = state
        self.acks = acks
        self.history = history
        self.states_read = 0
        self.waits: list[tuple[int, int]] = []

    def replication_state(self) -> ReplicationState:
        self.states_read += 1
        return self.state

    def wait_replicated(self, *, replicas: int, timeout_ms: int) -> ReplicaAck:
        self.waits.append((replicas, timeout_ms))
        return ReplicaAck(wanted=replicas, acknowledged=self.acks.pop(0), history=self.history)


def test_no_replica_means_no_wait_and_never_waiting_asks_nothing() -> None:
    source = FakeSource(ReplicationState(history="h1", replicas=0), acks=[])
    check = FlushReplication(source, AUTO)
    check.start()
    check.confirm()
    assert (check.required, source.states_read, source.waits) == (False, 1, [])
    never = FakeSource(ReplicationState(history="h1", replicas=2), acks=[])
    check = FlushReplication(never, NO_WAIT)
    check.start()
    check.confirm()
    assert (check.required, never.states_read, never.waits) == (False, 0, [])


def test_a_short_wait_or_a_new_master_does_not_confirm() -> None:
    policy = ReplicationWait(timeout_ms=250)
    source = FakeSource(ReplicationState(history="h1", replicas=2), acks=[2, 1])
    check = FlushReplication(source, policy)
    check.start()
    check.confirm()
    with pytest.raises(ReplicationUnconfirmed) as short:
        check.confirm()
    assert (short.value.reason, short.value.wanted, short.value.acknowledged) == (
        "too_few_replicas",
        2,
        1,
    )
    assert source.waits == [(2, 250), (2, 250)]
    moved = FakeSource(ReplicationState(history="h1", replicas=1), acks=[1], history="h2")
    check = FlushReplication(moved, policy)
    check.start()
    with pytest.raises(ReplicationUnconfirmed) as changed:
        check.confirm()
    assert changed.value.reason == "master_changed"


# -- against fakeredis and a real server without replicas ------------------------------------


def test_fakeredis_reports_no_replication_and_auto_flushes_unchanged(tmp_path: Path) -> None:
    client = fakeredis.FakeRedis()
    assert read_state(client) == ReplicationState(history=None, replicas=0)
    with SqliteOutbox(tmp_path / "outbox.db") as outbox:
        outbox.put_tasks(STREAM, jobs(300), CODEC)
        report = outbox.flush(StreamProducer(client, STREAM), delete_every_rows=100)
        assert (report.published, report.replication_waits, outbox.pending_count()) == (300, 0, 0)
        # Asking for a replica of a server that has no WAIT is a configuration error.
        outbox.put_tasks(STREAM, jobs(10, window="2026-11-22T11:00Z"), CODEC)
        with pytest.raises(ConfigurationError, match="WAIT"):
            outbox.flush(StreamProducer(client, STREAM), replication=ReplicationWait(replicas=1))
        assert outbox.pending_count() == 10


@pytest.mark.redis_real
def test_a_single_redis_is_not_waited_for(tmp_path: Path, redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    try:
        state = read_state(client)
        assert state.replicas == 0 and state.history
        with SqliteOutbox(tmp_path / "outbox.db") as outbox:
            outbox.put_tasks(STREAM, jobs(300), CODEC)
            report = outbox.flush(StreamProducer(client, STREAM), delete_every_rows=100)
            assert (report.published, report.replication_waits) == (300, 0)
            assert outbox.pending_count() == 0
    finally:
        client.flushall()
        client.close()


@pytest.mark.redis_real
def test_a_wait_that_times_out_keeps_the_rows_and_gives_up_in_time(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """One replica wanted, none there: every WAIT times out. The tasks are in the stream (the
    master confirmed them), the rows stay, the flush is tried again, then gives up with a clear
    error; a later flush without the wait publishes nothing twice."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    policy = ReplicationWait(replicas=1, timeout_ms=50, give_up_after_s=0.5)
    try:
        with SqliteOutbox(tmp_path / "outbox.db") as outbox:
            outbox.put_tasks(STREAM, jobs(250), CODEC)
            with pytest.raises(ReplicationUnconfirmed, match="250 row") as gave_up:
                outbox.flush(
                    StreamProducer(client, STREAM), delete_every_rows=100, replication=policy
                )
            assert (gave_up.value.wanted, gave_up.value.acknowledged) == (1, 0)
            assert outbox.pending_count() == 250
            assert client.xlen(STREAM) == 250
            report = outbox.flush(StreamProducer(client, STREAM), replication=NO_WAIT)
            assert (report.published, report.already_published) == (0, 250)
            assert outbox.pending_count() == 0
            assert client.xlen(STREAM) == 250
    finally:
        client.flushall()
        client.close()
