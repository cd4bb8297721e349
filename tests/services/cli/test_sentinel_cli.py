"""The operator commands with ``REDIS_URL=redis+sentinel://...`` (real redis-servers: a master, a
replica, three sentinels): ``status``, ``dlq list``, ``pause`` and ``resume`` reach the master the
sentinels name; sentinels that do not answer, or a malformed URL, give one line without the
password."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from etl_core import keys
from services import pipeline_keys
from services.cli import app
from tests.support.redis_server import free_port, redis_server_binary, require_or_skip
from tests.support.sentinel import SentinelTopology, sentinel_topology

pytestmark = [pytest.mark.redis_real]

runner = CliRunner()
MARKER = "Sentinel-Leak-Marker-9x!"
FAST_FAILURE = {"REDIS_RETRY_ATTEMPTS": "0"}


@pytest.fixture(scope="module")
def topology() -> Iterator[SentinelTopology]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    with sentinel_topology(replicas=1) as topology:
        yield topology


def invoke(url: str, *args: str, **env: str) -> Any:
    return runner.invoke(app, list(args), env={"REDIS_URL": url, **env})


def test_status_dlq_pause_and_resume_reach_the_master(topology: SentinelTopology) -> None:
    master = topology.master().client()
    try:
        master.xadd(
            keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM),
            {"task_id": "t:1", "payload": "{}", "dlq_error_type": "BadData", "dlq_error": "boom"},
        )
        url = topology.sentinel_url(0)
        status = invoke(url, "status", "--json")
        assert status.exit_code == 0, status.output
        (ingestion,) = [
            s
            for s in json.loads(status.output)["streams"]
            if s["name"] == pipeline_keys.INGESTION_STREAM
        ]
        assert ingestion["dead_letters"]["count"] == 1

        listed = invoke(url, "dlq", "list", pipeline_keys.INGESTION_STREAM, "--json")
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.output)["by_error_type"] == {"BadData": 1}

        paused = invoke(url, "pause", pipeline_keys.FETCH_GROUP, "--reason", "sentinel test")
        assert paused.exit_code == 0, paused.output
        assert master.exists(keys.stage_pause(pipeline_keys.FETCH_GROUP))  # written on the master
        stages = json.loads(invoke(url, "status", "--json").output)["stages"]
        assert [s["paused"] for s in stages if s["name"] == pipeline_keys.FETCH_GROUP] == [True]
        resumed = invoke(url, "resume", pipeline_keys.FETCH_GROUP)
        assert resumed.exit_code == 0, resumed.output
        assert not master.exists(keys.stage_pause(pipeline_keys.FETCH_GROUP))
    finally:
        master.flushall()
        master.close()


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["dlq", "list", pipeline_keys.INGESTION_STREAM],
        ["pause", pipeline_keys.FETCH_GROUP],
    ],
    ids=" ".join,
)
def test_sentinels_that_do_not_answer_are_one_line_without_the_password(args: list[str]) -> None:
    url = (
        f"redis+sentinel://app:{MARKER}@127.0.0.1:{free_port()},127.0.0.1:{free_port()}/trail-etl/0"
    )
    result = invoke(url, *args, **FAST_FAILURE, REDIS_SENTINEL_PASSWORD=MARKER)
    assert result.exit_code == 2, result.output
    assert MARKER not in result.output and "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert re.search(
        r"cannot reach Redis at REDIS_URL=redis\+sentinel://app:\*\*\*@127\.0\.0\.1:\d+,", line
    ), line


def test_a_malformed_sentinel_url_is_one_line_naming_redis_url() -> None:
    result = invoke(f"redis+sentinel://:{MARKER}@127.0.0.1:26379", "status")
    assert result.exit_code == 2, result.output
    assert MARKER not in result.output
    (line,) = result.stderr.splitlines()
    assert "REDIS_URL" in line and "no master name" in line, line
