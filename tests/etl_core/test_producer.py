"""StreamProducer: idempotent batches, no trimming, back-pressure (fake and real Redis)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis
from structlog.testing import capture_logs

from etl_core import keys, scripts
from etl_core.errors import BackpressureError, RedisUnavailable
from etl_core.producer import (
    StreamProducer,
    decode_fields,
    encode_fields,
    stream_backlog,
    wire_entries_of,
)
from etl_core.redis_client import RedisRetryOptions, sync_client
from tests.conftest import RedisBackend
from tests.etl_core.outbox_crash_child import CODEC, OutboxJob, jobs
from tests.support.redis_server import RedisServer

STREAM = "test-producer-stream"
LABEL, OTHER_LABEL = "2026-11-22T10:00Z", "2026-11-22T09:00Z"
GROUP = "g"


def entries(n: int, prefix: str = "t") -> list[tuple[str, dict[str, str]]]:
    return [(f"{prefix}-{i}", {"task_id": f"{prefix}-{i}", "n": str(i)}) for i in range(n)]


def fill(client: Any, n: int) -> list[bytes]:
    return [client.xadd(STREAM, {"n": str(i)}) for i in range(n)]


class FakeTime:
    """A clock that only moves when the producer sleeps; ``on_sleep`` runs at each poll."""

    def __init__(self, on_sleep: Any = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


# -- publishing ------------------------------------------------------------------------------


def test_publish_adds_every_entry_in_order_with_its_fields(sredis: Any) -> None:
    report = StreamProducer(sredis, STREAM).publish(
        entries(1234), batch_size=100, batches_per_round_trip=3
    )
    assert (report.published, report.already_published, report.batches) == (1234, 0, 13)
    stored = sredis.xrange(STREAM)
    assert [entry_id.decode() for entry_id, _ in stored] == list(report.entry_ids)
    assert [fields for _, fields in stored] == [
        {b"task_id": f"t-{i}".encode(), b"n": str(i).encode()} for i in range(1234)
    ]


def test_publishing_the_same_task_ids_again_adds_nothing(sredis: Any) -> None:
    producer = StreamProducer(sredis, STREAM)
    producer.publish(entries(300), batch_size=64)
    again = producer.publish(entries(310), batch_size=64)
    assert (again.published, again.already_published) == (10, 300)
    assert again.entry_ids[:300] == (None,) * 300
    assert sredis.xlen(STREAM) == 310


def test_tasks_round_trip_through_the_codec(sredis: Any) -> None:
    tasks = list(jobs(25))
    StreamProducer(sredis, STREAM).publish_tasks(tasks, CODEC, batch_size=10)
    decoded = [CODEC.decode(fields).task for _, fields in sredis.xrange(STREAM)]
    assert decoded == tasks


def marker_hashes(client: Any) -> list[Any]:
    return sorted(client.scan_iter(match=keys.published_marker_prefix(STREAM) + "*"))


def test_markers_live_between_one_and_two_ttls(sredis: Any) -> None:
    StreamProducer(sredis, STREAM, marker_ttl_s=3600).publish(entries(3))
    (bucket,) = marker_hashes(sredis)
    assert sorted(sredis.hkeys(bucket)) == [b"t-0", b"t-1", b"t-2"]
    assert 3_600_000 < sredis.pttl(bucket) <= 7_200_000


def test_the_previous_buckets_markers_still_count(sredis: Any) -> None:
    producer = StreamProducer(sredis, STREAM, marker_ttl_s=3600)
    producer.publish(entries(2))
    (bucket,) = marker_hashes(sredis)
    number = int(bucket.decode().rsplit(":", 1)[1])
    sredis.rename(bucket, keys.published_markers(STREAM, number - 1))  # an hour went by
    again = producer.publish(entries(3))
    assert (again.published, again.already_published) == (1, 2)


def test_an_expired_marker_allows_publishing_again(sredis: Any) -> None:
    producer = StreamProducer(sredis, STREAM)
    producer.publish(entries(2))
    for bucket in marker_hashes(sredis):
        sredis.hdel(bucket, "t-0")  # what expiry of its bucket does
    again = producer.publish(entries(2))
    assert (again.published, again.already_published) == (1, 1)


def test_the_producer_never_trims(sredis: Any) -> None:
    producer = StreamProducer(sredis, STREAM)
    for round_number in range(5):
        producer.publish(entries(400, prefix=f"r{round_number}"), batch_size=500)
    assert sredis.xlen(STREAM) == 2000


def test_fields_with_json_specials_and_unicode_survive(sredis: Any) -> None:
    tricky = {
        "quote": 'say "hi"',
        "backslash": "C:\\path\\",
        "newline": "a\nb\tc\r",
        "unicode": "Zürich \u2013 東京 😀",
        "empty": "",
        "control": "\x00\x01\x1f",
        "slash": "</x>",
    }
    StreamProducer(sredis, STREAM).publish([("t-1", tricky)])
    [(_, stored)] = sredis.xrange(STREAM)
    assert {k.decode(): v.decode() for k, v in stored.items()} == tricky
    assert list(stored) == [k.encode() for k in tricky]  # field order kept
    assert decode_fields(encode_fields(tricky)) == tricky


@pytest.mark.parametrize("fields", [{}, {"a": 1}, {1: "a"}])
def test_fields_must_be_a_non_empty_str_to_str_mapping(sredis: Any, fields: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        StreamProducer(sredis, STREAM).publish([("t-1", fields)])
    assert sredis.xlen(STREAM) == 0


def test_one_evalsha_per_batch_and_no_per_task_round_trips(backend: RedisBackend) -> None:
    if backend.is_fake:
        pytest.skip("command statistics need a real redis-server")
    client = backend.make_sync()
    client.config_resetstat()
    report = StreamProducer(client, STREAM).publish(entries(1000), batch_size=100)
    stats = client.info("commandstats")
    assert report.batches == 10
    assert stats["cmdstat_evalsha"]["calls"] == 10
    assert stats["cmdstat_xadd"]["calls"] == 1000  # all of them inside those 10 scripts
    in_script = {
        "cmdstat_xadd",
        "cmdstat_hexists",
        "cmdstat_hsetnx",
        "cmdstat_pexpireat",
        "cmdstat_time",
    }
    assert stats["cmdstat_hsetnx"]["calls"] == 1000
    client_commands = {name for name in stats if name not in in_script}
    assert client_commands <= {
        "cmdstat_evalsha",
        "cmdstat_script|load",
        "cmdstat_config|resetstat",
        "cmdstat_info",
    }
    client.close()


def test_publishing_recovers_when_the_script_cache_is_flushed(sredis: Any) -> None:
    producer = StreamProducer(sredis, STREAM)
    producer.publish(entries(10))
    sredis.script_flush()
    report = producer.publish(entries(20))
    assert (report.published, report.already_published) == (10, 10)
    assert sredis.xlen(STREAM) == 20


def test_a_lost_connection_between_rounds_loses_and_duplicates_nothing(
    backend: RedisBackend,
) -> None:
    if backend.is_fake:
        pytest.skip("CLIENT KILL needs a real redis-server")
    client = redis.Redis.from_url(backend.url, client_name="producer-under-test")
    admin = backend.make_sync()
    producer = StreamProducer(client, STREAM)
    wire = [(task_id, encode_fields(fields)) for task_id, fields in entries(600)]
    first = producer.send(wire[:300], batch_size=100)
    for connection in admin.client_list():
        if connection["name"] == "producer-under-test":
            admin.client_kill_filter(_id=connection["id"])
    second = producer.send(wire[300:], batch_size=100)
    ids = first.confirm() + second.confirm()
    assert len(ids) == 600
    stored = admin.xrange(STREAM)
    assert len(stored) == 600
    assert len({fields[b"task_id"] for _, fields in stored}) == 600
    client.close()
    admin.close()


@pytest.mark.redis_real
def test_rounds_redis_does_not_answer_are_sent_again_once_it_is_back(
    aof_redis_server: RedisServer,
) -> None:
    # No client-level retries: what rides out the outage here is the producer's own.
    client = sync_client(aof_redis_server.url, RedisRetryOptions(attempts=0))
    fake = FakeTime(on_sleep=lambda n: aof_redis_server.start() if n == 2 else None)
    producer = StreamProducer(
        client, STREAM, redis_unavailable_timeout_s=60, clock=fake.clock, sleep=fake.sleep
    )
    StreamProducer(client, STREAM).publish(entries(300), batch_size=100)
    aof_redis_server.kill()
    with capture_logs() as logs:
        report = producer.publish(entries(600), batch_size=100)
    assert (report.published, report.already_published) == (300, 300)
    assert len(fake.sleeps) == 2 and all(0 <= s <= 5 for s in fake.sleeps)
    retries = [e for e in logs if e["event"] == "publish_redis_unavailable"]
    assert [(e["log_level"], e["retry"]) for e in retries] == [("warning", 1), ("warning", 2)]
    assert "Connection refused" in retries[0]["error"] or "111" in retries[0]["error"]
    stored = client.xrange(STREAM)
    assert len({fields[b"task_id"] for _, fields in stored}) == len(stored) == 600
    client.close()


@pytest.mark.redis_real
def test_a_round_redis_never_answers_fails_after_the_timeout(
    own_redis_server: RedisServer,
) -> None:
    client = sync_client(own_redis_server.url, RedisRetryOptions(attempts=0))
    fake = FakeTime()
    producer = StreamProducer(
        client, STREAM, redis_unavailable_timeout_s=30, clock=fake.clock, sleep=fake.sleep
    )
    own_redis_server.kill()
    with pytest.raises(RedisUnavailable, match=r"publish_once\.lua"):
        producer.publish(entries(10))
    assert sum(fake.sleeps) == pytest.approx(30)
    assert len(fake.sleeps) >= 6 and max(fake.sleeps) <= 5
    client.close()


def test_rounds_must_be_confirmed_in_order(sredis: Any) -> None:
    producer = StreamProducer(sredis, STREAM)
    wire = [(task_id, encode_fields(fields)) for task_id, fields in entries(4)]
    first = producer.send(wire[:2])
    second = producer.send(wire[2:])
    with pytest.raises(RuntimeError):
        producer.send(wire[:1])  # two rounds in flight already
    with pytest.raises(RuntimeError):
        second.confirm()
    assert first.confirm() is not None and len(second.confirm()) == 2
    assert sredis.xlen(STREAM) == 4


@pytest.mark.parametrize(
    "options",
    [
        {"max_backlog": 0},
        {"backpressure_timeout_s": -1},
        {"backpressure_poll_s": 0},
        {"marker_ttl_s": 0},
        {"redis_unavailable_timeout_s": -1},
    ],
)
def test_invalid_options_are_refused(sredis: Any, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        StreamProducer(sredis, STREAM, **options)


# -- backlog ---------------------------------------------------------------------------------


def test_backlog_of_a_missing_stream_is_zero(sredis: Any) -> None:
    assert StreamProducer(sredis, STREAM).backlog() == 0


def test_backlog_without_groups_is_the_stream_length(sredis: Any) -> None:
    fill(sredis, 7)
    assert StreamProducer(sredis, STREAM).backlog() == 7


def test_backlog_is_the_slowest_groups_lag_plus_pending(sredis: Any) -> None:
    fill(sredis, 10)
    sredis.xgroup_create(STREAM, "fast", id="0")
    sredis.xgroup_create(STREAM, "slow", id="0")
    done = sredis.xreadgroup("fast", "c", {STREAM: ">"}, count=10)[0][1]
    sredis.xack(STREAM, "fast", *[entry_id for entry_id, _ in done])
    read = sredis.xreadgroup("slow", "c", {STREAM: ">"}, count=3)[0][1]
    sredis.xack(STREAM, "slow", read[0][0])
    assert StreamProducer(sredis, STREAM).backlog() == 7 + 2  # lag 7, pending 2


def test_backlog_falls_back_to_the_stream_length_when_lag_is_unknown(sredis: Any) -> None:
    ids = fill(sredis, 10)
    sredis.xgroup_create(STREAM, GROUP, id="0")
    sredis.xreadgroup(GROUP, "c", {STREAM: ">"}, count=3)
    sredis.xdel(STREAM, ids[6])  # a deleted, undelivered entry makes Redis 7 report lag nil
    [group] = sredis.xinfo_groups(STREAM)
    assert group["lag"] is None
    assert StreamProducer(sredis, STREAM).backlog() == 9


def test_stream_backlog_rules() -> None:
    assert stream_backlog([], stream_length=5) == 5
    groups = [{"pending": 2, "lag": 3}, {b"pending": 1, b"lag": 0}]
    assert stream_backlog(groups, stream_length=50) == 5
    assert stream_backlog([{"pending": 4, "lag": None}], stream_length=9) == 9
    assert stream_backlog([{"pending": 12, "lag": None}], stream_length=9) == 12


# -- back-pressure ---------------------------------------------------------------------------


def test_a_bounded_producer_never_adds_past_the_bound(sredis: Any) -> None:
    fill(sredis, 6)
    fake = FakeTime()
    producer = StreamProducer(
        sredis,
        STREAM,
        max_backlog=10,
        backpressure_timeout_s=1.0,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    with pytest.raises(BackpressureError):
        producer.publish(entries(9), batch_size=2)
    assert sredis.xlen(STREAM) == 10  # the first 4 went in; the other 5 waited, then failed


def test_backpressure_waits_its_timeout_then_fails_with_a_clear_message(sredis: Any) -> None:
    fill(sredis, 5)
    fake = FakeTime()
    producer = StreamProducer(
        sredis,
        STREAM,
        max_backlog=5,
        backpressure_timeout_s=2.0,
        backpressure_poll_s=0.5,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    with pytest.raises(BackpressureError) as caught:
        producer.publish(entries(3))
    message = str(caught.value)
    assert f"stream {STREAM!r}" in message
    assert "backlog of 5 entries" in message
    assert "max_backlog=5" in message
    assert "backpressure_timeout_s=2.0" in message
    assert fake.sleeps == [0.5, 0.5, 0.5, 0.5]
    assert sredis.xlen(STREAM) == 5


def test_a_consumer_acking_between_polls_releases_the_producer(sredis: Any) -> None:
    fill(sredis, 5)
    sredis.xgroup_create(STREAM, GROUP, id="0")

    def consume(poll_number: int) -> None:
        if poll_number == 2:
            read = sredis.xreadgroup(GROUP, "c", {STREAM: ">"}, count=3)[0][1]
            sredis.xack(STREAM, GROUP, *[entry_id for entry_id, _ in read])

    fake = FakeTime(on_sleep=consume)
    producer = StreamProducer(
        sredis,
        STREAM,
        max_backlog=5,
        backpressure_timeout_s=60.0,
        backpressure_poll_s=1.0,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    report = producer.publish(entries(3))
    assert report.published == 3
    assert fake.sleeps == [1.0, 1.0]
    assert sredis.xlen(STREAM) == 8
    assert producer.backlog() == 5


def test_a_consumer_thread_releases_a_waiting_producer(backend: RedisBackend) -> None:
    client, consumer = backend.make_sync(), backend.make_sync()
    fill(client, 20)
    client.xgroup_create(STREAM, GROUP, id="0")
    waiting = threading.Event()

    def sleep(seconds: float) -> None:
        waiting.set()
        time.sleep(seconds)

    def consume() -> None:
        assert waiting.wait(timeout=20)
        while True:
            reply = consumer.xreadgroup(GROUP, "c", {STREAM: ">"}, count=100)
            if not reply or not reply[0][1]:
                return
            consumer.xack(STREAM, GROUP, *[entry_id for entry_id, _ in reply[0][1]])

    thread = threading.Thread(target=consume)
    thread.start()
    producer = StreamProducer(
        client,
        STREAM,
        max_backlog=20,
        backpressure_timeout_s=30.0,
        backpressure_poll_s=0.01,
        sleep=sleep,
    )
    report = producer.publish(entries(15), batch_size=8)
    thread.join(timeout=30)
    assert report.published == 15
    assert waiting.is_set()
    assert client.xlen(STREAM) == 35
    assert producer.backlog() == 15
    client.close()
    consumer.close()


def test_the_script_refuses_a_batch_whose_ids_and_fields_do_not_match(sredis: Any) -> None:
    source = scripts.source("publish_once")
    markers = keys.published_markers(STREAM, 1)
    expire_at_ms = int(time.time() * 1000) + 60_000
    with pytest.raises(redis.ResponseError, match="task id, tally and fields per task"):
        sredis.eval(source, 2, STREAM, markers, expire_at_ms, 0, "t-1", 0)
    with pytest.raises(redis.ResponseError, match="task id, tally and fields per task"):
        sredis.eval(source, 2, STREAM, markers, expire_at_ms, "t-1", 0, '["a","1"]')
    assert sredis.exists(STREAM) == 0 and not marker_hashes(sredis)
    ids = sredis.eval(source, 2, STREAM, markers, expire_at_ms, 0, "t-1", 0, '["a","1"]')
    assert len(ids) == 1 and ids[0] is not None
    assert sredis.eval(source, 2, STREAM, markers, expire_at_ms, 0, "t-1", 0, '["a","1"]') == [None]


def test_published_tasks_are_counted_once_in_their_windows_tally(sredis: Any) -> None:
    producer = StreamProducer(sredis, STREAM)
    tasks = [OutboxJob(location_id=f"loc-{i}", window=LABEL) for i in range(3)]
    tasks.append(OutboxJob(location_id="loc-0", window=OTHER_LABEL))
    producer.publish_tasks(tasks, CODEC)
    producer.publish_tasks(tasks, CODEC)  # again: adds and counts nothing
    assert sredis.hgetall(keys.window_tally(STREAM, LABEL)) == {b"published": b"3"}
    assert sredis.hgetall(keys.window_tally(STREAM, OTHER_LABEL)) == {b"published": b"1"}
    assert sredis.pttl(keys.window_tally(STREAM, LABEL)) > 0
    untallied = StreamProducer(sredis, STREAM + "-2")  # ids without a window label: no tally
    untallied.publish_tasks(jobs(2, window="w1"), CODEC)
    assert int(sredis.xlen(STREAM + "-2")) == 2
    assert not sredis.exists(keys.window_tally(STREAM + "-2", "w1"))


def test_the_wire_form_of_tasks_equals_the_codecs_fields() -> None:
    tasks = [*jobs(3), OutboxJob(location_id='quote"and\\back\u00e9', window="w")]
    for (task_id, wire), task in zip(wire_entries_of(tasks, CODEC), tasks, strict=True):
        assert task_id == task.task_id
        assert wire == encode_fields(CODEC.encode(task))
        assert decode_fields(wire) == CODEC.encode(task)


def test_rounds_resent_after_a_lost_connection_are_confirmed_in_order(sredis: Any) -> None:
    """A round whose write found the connection gone is an orphan, and the next send resends it
    before anything new; it is still confirmed in its turn (the rounds after it too), and the
    stream holds every entry once."""
    producer = StreamProducer(sredis, STREAM)
    wire = [(task_id, encode_fields(fields)) for task_id, fields in entries(300)]
    first = producer.send(wire[:100], batch_size=50)
    connection = producer._connection
    assert connection is not None

    write = connection.send_packed_command

    def lost(*args: Any, **kwargs: Any) -> None:
        connection.send_packed_command = write  # once: the pool hands it out again later
        raise redis.ConnectionError("Connection reset by peer")

    connection.send_packed_command = lost  # the next write on it fails
    second = producer.send(wire[100:200], batch_size=50)  # an orphan
    ids = first.confirm()  # its replies were on the lost connection: sent again
    third = producer.send(wire[200:], batch_size=50)  # resends the orphan first
    ids += second.confirm() + third.confirm()
    assert len(ids) == 300  # the resent first round finds its entries published: None ids
    stored = sredis.xrange(STREAM)
    assert len({fields[b"task_id"] for _, fields in stored}) == len(stored) == 300
