"""``trail-etl demo``, the README's run command, end to end."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from etl_core import keys
from services import pipeline_keys
from services.cli import app
from tests.support.redis_server import RedisServer, redis_server_binary, require_or_skip
from tests.support.sentinel import sentinel_topology

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("source", ["owm", "open-meteo"])
def test_demo_labels_every_location_with_a_private_redis_server(source: str) -> None:
    require_or_skip("redis-server", redis_server_binary() is not None)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.cli import main; main()",
            "demo",
            "--locations",
            "8",
            "--timeout-s",
            "120",
            "--source",
            source,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Redis: redis-server" in done.stdout
    assert f"weather source {source}" in done.stdout
    assert "every location has a trail condition (8/8)" in done.stdout


def test_a_source_the_mock_does_not_serve_is_one_line() -> None:
    result = CliRunner().invoke(app, ["demo", "--source", "darksky"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --source: 'darksky' is not one the mock serves (owm, open-meteo)"
    ]


def test_demo_falls_back_to_fakeredis_when_no_redis_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr("services.demo.environment.shutil.which", lambda _name: None)
    result = CliRunner().invoke(
        app, ["demo", "--locations", "5", "--fault-rate", "0.2", "--timeout-s", "120"]
    )
    assert result.exit_code == 0, result.output[-3000:]
    assert "Redis: fakeredis" in result.output
    assert "every location has a trail condition (5/5)" in result.output
    # Read from the mock's /__stats, which needs the admin token the demo gave the mock.
    calls = re.search(r"source calls\W+(\d+)", result.output)
    assert calls is not None and int(calls[1]) >= 5, result.output[-3000:]


def _snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: client.dump(key) for key in client.keys("*")}


def _live_pipeline(client: redis.Redis) -> None:
    """What a live pipeline holds: a stream with its group and a held task, a dead letter."""
    client.xadd(pipeline_keys.INGESTION_STREAM, {"type": "owm.ingest", "task_id": "live:1"})
    client.xgroup_create(pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP, id="0")
    client.xreadgroup(
        pipeline_keys.FETCH_GROUP, "live-worker", {pipeline_keys.INGESTION_STREAM: ">"}, count=1
    )
    client.xadd(keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM), {"task_id": "live:0"})


@pytest.fixture
def live_redis(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    _live_pipeline(client)
    yield client
    client.flushall()
    client.close()


def test_the_demo_never_joins_the_pipeline_of_REDIS_URL(
    live_redis: redis.Redis, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("LOCATIONS_FILE", "/nonexistent/live-locations.csv")
    monkeypatch.setattr("services.demo.environment.shutil.which", lambda _name: None)
    before = _snapshot(live_redis)
    result = CliRunner().invoke(app, ["demo", "--locations", "3", "--timeout-s", "120"])
    assert result.exit_code == 0, result.output[-3000:]
    assert "Redis: fakeredis" in result.output
    assert _snapshot(live_redis) == before, "the demo touched the live pipeline's Redis"


def test_a_redis_url_holding_a_pipeline_is_refused(
    live_redis: redis.Redis, redis_server: RedisServer
) -> None:
    before = _snapshot(live_redis)
    result = CliRunner().invoke(app, ["demo", "--redis-url", redis_server.url])
    assert result.exit_code == 2, result.output
    assert "holds pipeline keys" in result.output and "Traceback" not in result.output
    assert _snapshot(live_redis) == before


def test_the_demo_runs_on_an_empty_redis_url_and_keeps_its_work_dir_when_it_fails(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    try:
        # 2,000 new locations (four paid calls each) cannot all be labelled in 1 s: the run
        # fails, and says where its logs are.
        result = CliRunner().invoke(
            app,
            ["demo", "--redis-url", redis_server.url, "--locations", "2000", "--timeout-s", "1"],
        )
        assert result.exit_code == 1, result.output[-3000:]
        assert "Redis: --redis-url" in result.output
        kept = re.search(r"kept the work directory (\S+)", result.output)
        assert kept is not None, result.output[-3000:]
        work_dir = Path(kept[1])
        assert sorted(p.name for p in work_dir.glob("*worker*.log")), "no worker logs kept"
        assert result.output.count("only ") == 1, "the failure is said once"
        shutil.rmtree(work_dir)
    finally:
        client.flushall()
        client.close()


def test_the_demo_runs_on_a_sentinel_deployment() -> None:
    require_or_skip("redis-server", redis_server_binary() is not None)
    with sentinel_topology(replicas=1) as topology:
        result = CliRunner().invoke(
            app,
            [
                "demo",
                "--redis-url",
                topology.sentinel_url(),
                "--locations",
                "4",
                "--timeout-s",
                "120",
            ],
        )
        assert result.exit_code == 0, result.output[-3000:]
        assert "every location has a trail condition (4/4)" in result.output
        # The work went to the master the sentinels name.
        host, port = topology.master_address()
        master = redis.Redis(host=host, port=port)
        try:
            assert list(master.scan_iter(match="owm-*")), "no pipeline keys on the master"
        finally:
            master.close()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("redis+sentinel://127.0.0.1:1/", "master"),
        ("redis+sentinel://127.0.0.1:notaport/mymaster/0", "port"),
    ],
)
def test_a_malformed_sentinel_redis_url_is_one_line(url: str, named: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--redis-url", url])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert named in result.output.lower(), result.output
