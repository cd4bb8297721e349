"""``trail-etl dlq`` against a real redis-server, end to end through the command line."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from etl_core import keys
from services import pipeline_keys
from services.cli import app
from services.cli.dlq import LIST_VALUE_CHARS
from tests.support.redis_server import RedisServer

runner = CliRunner()
STREAM = "cli-stream"


@pytest.fixture
def dlq_client(redis_server: RedisServer) -> Any:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    for i, error_type in enumerate(["AuthError", "AuthError", "BadData"]):
        client.xadd(
            keys.dead_letter_stream(STREAM),
            {
                "type": "t",
                "v": "1",
                "task_id": f"t:{i}",
                "payload": "{}",
                "attempts": "3",
                "dlq_error_type": error_type,
                "dlq_error": f"boom {i}",
                "dlq_stage": "g",
                "dlq_deliveries": "3",
            },
        )
    yield client
    client.flushall()
    client.close()


def invoke(redis_server: RedisServer, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"REDIS_URL": redis_server.url})


def test_list_and_show(redis_server: RedisServer, dlq_client: Any) -> None:
    result = invoke(redis_server, "dlq", "list", STREAM, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["total"] == 3 and body["by_error_type"] == {"AuthError": 2, "BadData": 1}
    first = body["entries"][0]["id"]
    shown = invoke(redis_server, "dlq", "show", f"{STREAM}:dlq", first)
    assert shown.exit_code == 0 and json.loads(shown.output)["task_id"] == "t:0"
    missing = invoke(redis_server, "dlq", "show", STREAM, "1-1")
    assert missing.exit_code == 1 and "no entry 1-1" in missing.output


def test_the_list_clips_a_huge_value_and_show_prints_it_whole(
    redis_server: RedisServer, dlq_client: Any
) -> None:
    huge_id = "owm.ingest:" + "a" * 1_000_000 + "@w"
    entry_id = dlq_client.xadd(
        keys.dead_letter_stream(STREAM),
        {
            "type": "owm.ingest",
            "task_id": huge_id,
            "dlq_error_type": "PoisonMessage",
            "dlq_error": "\x1b[31mred[/] [bold]x\n",
            "dlq_stage": "g",
        },
    )
    # Wide enough that no cell folds: each value is on one line, as the test reads it.
    listed = runner.invoke(
        app, ["dlq", "list", STREAM], env={"REDIS_URL": redis_server.url, "COLUMNS": "600"}
    )
    assert listed.exit_code == 0, listed.output
    assert len(listed.output) < 20_000  # a few full-width lines, not the megabyte
    # the task column drops the type prefix (owm.ingest:), then clips
    assert "a" * LIST_VALUE_CHARS + "…[+999842 chars]" in listed.output
    assert "\x1b" not in listed.output  # escaped, not sent to the terminal; markup not read:
    assert "\\x1b[31mred[/] [bold]x\\n" in listed.output
    shown = invoke(redis_server, "dlq", "show", STREAM, entry_id)
    assert shown.exit_code == 0 and json.loads(shown.output)["task_id"] == huge_id
    exported = invoke(redis_server, "dlq", "list", STREAM, "--json")
    assert huge_id in [e["task_id"] for e in json.loads(exported.output)["entries"]]


def test_redrive_by_error_type_with_dry_run(redis_server: RedisServer, dlq_client: Any) -> None:
    dry = invoke(
        redis_server, "dlq", "redrive", STREAM, "--all", "--error-type", "AuthError", "--dry-run"
    )
    assert dry.exit_code == 0 and "would redrive 2 entries" in dry.output
    assert dlq_client.xlen(keys.dead_letter_stream(STREAM)) == 3
    done = invoke(redis_server, "dlq", "redrive", STREAM, "--all", "--error-type", "AuthError")
    assert done.exit_code == 0 and "redrove 2 entries" in done.output
    moved = dlq_client.xrange(STREAM)
    assert [f["task_id"] for _i, f in moved] == ["t:0", "t:1"]
    assert all(f["attempts"] == "0" and not any(k.startswith("dlq_") for k in f) for _i, f in moved)
    assert dlq_client.xlen(keys.dead_letter_stream(STREAM)) == 1


def test_purge_needs_confirmation_and_a_selection(
    redis_server: RedisServer, dlq_client: Any
) -> None:
    ids = [i for i, _f in dlq_client.xrange(keys.dead_letter_stream(STREAM))]
    refused = invoke(redis_server, "dlq", "purge", STREAM, "--id", ids[0])
    assert refused.exit_code == 2 and "--yes" in refused.output
    neither = invoke(redis_server, "dlq", "purge", STREAM, "--yes")
    assert neither.exit_code == 2 and "--id ID" in neither.output
    purged = invoke(redis_server, "dlq", "purge", STREAM, "--id", ids[0], "--yes")
    assert purged.exit_code == 0 and "purged 1 entries" in purged.output
    assert dlq_client.xlen(keys.dead_letter_stream(STREAM)) == 2


def test_bad_redis_url_is_a_clear_error(redis_server: RedisServer) -> None:
    result = runner.invoke(app, ["dlq", "list", STREAM], env={"REDIS_URL": "nope"})
    assert result.exit_code == 2 and "REDIS_URL" in result.output
    # Without retries: with them the command only waits ~12 s longer before saying the same.
    down = runner.invoke(
        app,
        ["dlq", "list", STREAM],
        env={"REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_RETRY_ATTEMPTS": "0"},
    )
    assert down.exit_code == 2 and "cannot reach Redis" in down.output


@pytest.mark.parametrize(
    "args",
    [
        ["list", "owm-ingest"],
        ["show", "owm-ingest", "1-0"],
        ["redrive", "owm-ingest", "--all"],
        ["purge", "owm-ingest", "--all", "--yes"],
    ],
)
def test_an_unknown_stream_is_an_error_naming_the_known_ones(
    dlq_client: Any, redis_server: RedisServer, args: list[str]
) -> None:
    result = runner.invoke(app, ["dlq", *args], env={"REDIS_URL": redis_server.url})
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "unknown stream 'owm-ingest'" in line
    assert "owm-ingestion-stream, owm-categorization-stream" in line


def test_a_pipeline_stream_without_dead_letters_lists_none(
    dlq_client: Any, redis_server: RedisServer
) -> None:
    for name in (
        "owm-ingestion-stream",
        pipeline_keys.INGESTION_STREAM,
        "owm-categorization-stream:dlq",
    ):
        result = runner.invoke(app, ["dlq", "list", name], env={"REDIS_URL": redis_server.url})
        assert result.exit_code == 0, result.output
        assert ": 0 entries" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["show", STREAM, "notanid"],
        ["redrive", STREAM, "--id", "x-1"],
        ["purge", STREAM, "--id", "1-x", "--yes"],
    ],
)
def test_a_malformed_entry_id_is_one_line(
    dlq_client: Any, redis_server: RedisServer, args: list[str]
) -> None:
    before = dlq_client.xlen(keys.dead_letter_stream(STREAM))
    result = runner.invoke(app, ["dlq", *args], env={"REDIS_URL": redis_server.url})
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "is not a stream entry id (they look like 1732262400000-0" in line
    assert dlq_client.xlen(keys.dead_letter_stream(STREAM)) == before


def _pipeline_dead_letter(client: Any, location: str, window: str, error_type: str) -> str:
    task_id = f"owm.ingest:{location}@{window}"
    payload = json.dumps({"location_id": location, "window": window, "lat": 1.0, "lon": 2.0})
    return str(
        client.xadd(
            keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM),
            {
                "type": "owm.ingest",
                "v": "1",
                "task_id": task_id,
                "payload": payload,
                "attempts": "4",
                "dlq_error_type": error_type,
                "dlq_error": "HTTP 404 from the weather service for /v1/locations/"
                f"{location}: location not found; register it with trail-etl locations import",
                "dlq_stage": pipeline_keys.FETCH_GROUP,
                "dlq_deliveries": "5",
            },
        )
    )


def test_the_table_fits_100_columns_one_line_per_entry(
    dlq_client: Any, redis_server: RedisServer
) -> None:
    for n in range(3):
        _pipeline_dead_letter(
            dlq_client,
            f"a-rather-long-trail-name-{n}",
            "2026-12-04T06:00Z",
            "WeatherServiceNotFound",
        )
    result = runner.invoke(
        app,
        ["dlq", "list", "owm-ingestion-stream"],
        env={"REDIS_URL": redis_server.url, "COLUMNS": "100"},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip("\n").splitlines()
    assert max(len(line) for line in lines) <= 100
    rows = [line for line in lines if re.match(r"^\s*\d+-\d+ ", line)]
    assert len(rows) == 3, result.output  # one line each: nothing wrapped
    assert all("WeatherServ" in row and " a-rather" in row for row in rows)


def test_redrive_and_purge_by_location_or_window(
    dlq_client: Any, redis_server: RedisServer
) -> None:
    ids = {
        (loc, win): _pipeline_dead_letter(dlq_client, loc, win, "WeatherServiceNotFound")
        for loc in ("loc-a", "loc-b")
        for win in ("2026-12-04T05:00Z", "2026-12-04T06:00Z")
    }
    env = {"REDIS_URL": redis_server.url, "COLUMNS": "200"}
    dead = keys.dead_letter_stream(pipeline_keys.INGESTION_STREAM)

    dry = runner.invoke(
        app, ["dlq", "redrive", "owm-ingestion-stream", "--location", "loc-a", "--dry-run"], env=env
    )
    assert dry.exit_code == 0, dry.output
    assert "would redrive 2 entries" in dry.output
    assert ids[("loc-a", "2026-12-04T05:00Z")] in dry.output
    assert dlq_client.xlen(dead) == 4

    moved = runner.invoke(
        app,
        [
            "dlq",
            "redrive",
            "owm-ingestion-stream",
            "--location",
            "loc-a",
            "--window",
            "2026-12-04T06:00Z",
        ],
        env=env,
    )
    assert moved.exit_code == 0 and "redrove 1 entries" in moved.output
    assert [f["task_id"] for _i, f in dlq_client.xrange(pipeline_keys.INGESTION_STREAM)] == [
        "owm.ingest:loc-a@2026-12-04T06:00Z"
    ]

    look = runner.invoke(
        app,
        ["dlq", "purge", "owm-ingestion-stream", "--window", "2026-12-04T05:00Z", "--dry-run"],
        env=env,
    )
    assert look.exit_code == 0 and "would purge 2 entries" in look.output
    assert dlq_client.xlen(dead) == 3, "a dry run deletes nothing"
    purged = runner.invoke(
        app,
        ["dlq", "purge", "owm-ingestion-stream", "--window", "2026-12-04T05:00Z", "--yes"],
        env=env,
    )
    assert purged.exit_code == 0 and "purged 2 entries" in purged.output
    left = [f["task_id"] for _i, f in dlq_client.xrange(dead)]
    assert left == ["owm.ingest:loc-b@2026-12-04T06:00Z"]
