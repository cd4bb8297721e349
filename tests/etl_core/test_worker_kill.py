"""Crash tests with real SIGKILLs of worker processes, on a real redis-server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from etl_core import keys
from etl_core.task import TaskCodec
from tests.etl_core.workerkit import CODEC, GROUP, NEXT, STREAM, Job
from tests.support.polling import wait_until
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.redis_real


def start_child(url: str, mode: str, *, until_idle: bool = False) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "tests.etl_core.worker_child", url, mode]
    if until_idle:
        args.append("--until-idle")
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def publish(client: Any, tasks: list[Job]) -> None:
    pipe = client.pipeline(transaction=False)
    for task in tasks:
        pipe.xadd(STREAM, CODEC.encode(task))
    pipe.execute()


def finish(url: str, mode: str) -> None:
    child = start_child(url, mode, until_idle=True)
    _out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()[-2000:]


def test_forward_and_ack_survive_repeated_sigkill(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    tasks = [Job(location_id=f"loc-{i}", window="w1") for i in range(300)]
    publish(client, tasks)
    for threshold in (40, 120, 200):  # kill a worker mid-flow three times
        child = start_child(redis_server.url, "forward")
        wait_until(
            lambda t=threshold: client.xlen(NEXT) >= t,
            timeout_s=60,
            message=f"{threshold} forwarded",
        )
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
    finish(redis_server.url, "forward")

    forwarded = [TaskCodec.decode(CODEC, f).task_id for _i, f in client.xrange(NEXT)]
    assert len(forwarded) == 300, "every task handed over exactly once"
    assert sorted(forwarded) == sorted(f"test.next:loc-{i}@w1" for i in range(300))
    assert client.xpending(STREAM, GROUP)["pending"] == 0
    assert client.xlen(keys.dead_letter_stream(STREAM)) == 0
    client.close()


def test_a_task_that_kills_its_worker_ends_in_the_dead_letter_stream(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    good_before = [Job(location_id=f"a-{i}", window="w1") for i in range(5)]
    good_after = [Job(location_id=f"b-{i}", window="w1") for i in range(5)]
    publish(client, [*good_before, Job(location_id="poison", window="w1"), *good_after])
    kills = 0
    for _run in range(8):
        child = start_child(redis_server.url, "poison", until_idle=True)
        _out, err = child.communicate(timeout=60)
        if child.returncode == -signal.SIGKILL:
            kills += 1
            continue
        assert child.returncode == 0, err.decode()[-2000:]
        break
    assert kills == 3, "max_deliveries=3: three deliveries crashed, the fourth is dead-lettered"
    dead = client.xrange(keys.dead_letter_stream(STREAM))
    assert len(dead) == 1
    fields = {k.decode(): v.decode() for k, v in dead[0][1].items()}
    assert fields["task_id"] == "test.job:poison@w1"
    assert fields["dlq_error_type"] == "MaxDeliveriesExceeded"
    assert fields["dlq_deliveries"] == "3"
    calls = {k.decode(): int(v) for k, v in client.hgetall("test:calls").items()}
    assert calls == {t.task_id: 1 for t in good_before + good_after}  # each good task exactly once
    assert client.xpending(STREAM, GROUP)["pending"] == 0
    client.close()
