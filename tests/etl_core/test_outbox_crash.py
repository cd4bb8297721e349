"""The scheduler's failure list, each with a real SIGKILL of a child process, on a real Redis.

The child (``outbox_crash_child.py``) puts N tasks and flushes them, killing itself with SIGKILL at
the chosen point; a fresh outbox then does what the next cron run does: flush the leftovers (and
put the same window again). The stream must end with exactly N entries, one per task_id.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from etl_core.errors import RedisUnavailable
from etl_core.outbox import SqliteOutbox
from etl_core.producer import StreamProducer
from tests.etl_core.outbox_crash_child import CLIENT_NAME, CODEC, STREAM, jobs
from tests.support.polling import wait_until
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis_real

N = 1000  # 5 round trips of 2 batches of 100
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(redis_server: RedisServer) -> Any:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


def run_child(db: Path, url: str, crash: str, *options: str) -> None:
    """Run the child until it kills itself, and until Redis has dropped its connections."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.etl_core.outbox_crash_child", "--db", str(db),
         "--redis-url", url, "--n", str(N), "--crash", crash, *options],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    observer = redis.Redis.from_url(url)
    wait_until(
        lambda: all(c["name"] != CLIENT_NAME for c in observer.client_list()),
        message="Redis to process what the killed child had sent",
    )
    observer.close()


def next_run(db: Path, client: Any) -> tuple[int, Any]:
    """What the next cron run does first: count and flush the leftovers."""
    with SqliteOutbox(db) as outbox:
        leftovers = outbox.pending_count()
        report = outbox.flush(StreamProducer(client, STREAM))
        assert outbox.pending_count() == 0
    return leftovers, report


def assert_each_task_once(client: Any) -> None:
    ids = [fields[b"task_id"] for _, fields in client.xrange(STREAM)]
    assert len(ids) == len(set(ids)) == N


def test_killed_during_put_nothing_is_half_written_and_the_rerun_puts_all(
    tmp_path: Path, client: Any, redis_server: RedisServer
) -> None:
    db = tmp_path / "outbox.db"
    run_child(db, redis_server.url, "during_put:450")  # 4 chunks written, not committed
    with SqliteOutbox(db) as outbox:
        assert outbox.pending_count() == 0
        assert outbox.put_tasks(STREAM, jobs(N), CODEC) == N
    leftovers, report = next_run(db, client)
    assert (leftovers, report.published, report.already_published) == (N, N, 0)
    assert_each_task_once(client)


def test_killed_after_put_the_rows_survive_and_are_published_once(
    tmp_path: Path, client: Any, redis_server: RedisServer
) -> None:
    db = tmp_path / "outbox.db"
    run_child(db, redis_server.url, "after_put")
    assert client.exists(STREAM) == 0
    leftovers, report = next_run(db, client)
    assert (leftovers, report.published, report.already_published) == (N, N, 0)
    assert_each_task_once(client)


def test_killed_after_publishing_before_deleting_nothing_is_republished(
    tmp_path: Path, client: Any, redis_server: RedisServer
) -> None:
    db = tmp_path / "outbox.db"
    run_child(db, redis_server.url, "after_confirm:5", "--delete-every-rows", str(10 * N))
    assert client.xlen(STREAM) == N
    leftovers, report = next_run(db, client)
    assert (leftovers, report.published, report.already_published) == (N, 0, N)
    assert client.xlen(STREAM) == N
    assert_each_task_once(client)


def test_killed_mid_flush_the_counts_are_exact(
    tmp_path: Path, client: Any, redis_server: RedisServer
) -> None:
    db = tmp_path / "outbox.db"
    # One round trip at a time (a bounded producer): rounds 1-2 deleted, 3 published only.
    run_child(db, redis_server.url, "after_confirm:3", "--max-backlog", str(10 * N))
    assert client.xlen(STREAM) == 600
    leftovers, report = next_run(db, client)
    assert (leftovers, report.published, report.already_published) == (600, 400, 200)
    assert_each_task_once(client)


def test_killed_with_two_round_trips_in_flight_nothing_is_lost_or_doubled(
    tmp_path: Path, client: Any, redis_server: RedisServer
) -> None:
    db = tmp_path / "outbox.db"
    run_child(db, redis_server.url, "after_confirm:3")
    # Round 4 was on the wire when the process died: Redis may or may not have run it.
    published_before = client.xlen(STREAM)
    assert published_before in range(600, 801)
    leftovers, report = next_run(db, client)
    assert leftovers == 600
    assert report.published == N - published_before
    assert report.already_published == leftovers - report.published
    assert_each_task_once(client)


def test_killed_after_the_delete_nothing_is_left_and_a_rerun_adds_nothing(
    tmp_path: Path, client: Any, redis_server: RedisServer
) -> None:
    db = tmp_path / "outbox.db"
    run_child(db, redis_server.url, "after_flush")
    leftovers, report = next_run(db, client)
    assert (leftovers, report.published, report.already_published) == (0, 0, 0)
    with SqliteOutbox(db) as outbox:  # the cron job runs again in the same window
        assert outbox.put_tasks(STREAM, jobs(N), CODEC) == N
        report = outbox.flush(StreamProducer(client, STREAM))
    assert (report.published, report.already_published) == (0, N)
    assert_each_task_once(client)


def test_redis_down_during_flush_keeps_every_row_for_the_next_run(
    tmp_path: Path, own_redis_server: RedisServer
) -> None:
    client = redis.Redis.from_url(own_redis_server.url, socket_connect_timeout=1)
    with SqliteOutbox(tmp_path / "outbox.db") as outbox:
        outbox.put_tasks(STREAM, jobs(N), CODEC)
        own_redis_server.kill()
        with pytest.raises(RedisUnavailable):
            outbox.flush(StreamProducer(client, STREAM))
        assert outbox.pending_count() == N
        own_redis_server.start()
        report = outbox.flush(StreamProducer(client, STREAM))
        assert (report.published, report.already_published) == (N, 0)
        assert outbox.pending_count() == 0
    assert_each_task_once(client)
    client.close()
