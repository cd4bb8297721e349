from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.weather_service.conftest import Api, add_locations, condition, weather


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def test_a_run_is_opened_then_finished_with_merged_counts(api: Api) -> None:
    started = datetime.now(UTC) - timedelta(minutes=10)
    created = api.write(
        "POST", "/v1/runs",
        {"run_id": "fetch-1", "stage": "fetch-weather", "started_at": iso(started),
         "counts": {"scheduled": 40}},
    )
    assert created.status_code == 201
    assert created.json()["status"] == "running" and created.json()["finished_at"] is None

    progress = api.write("PATCH", "/v1/runs/fetch-1", {"counts": {"fetched": 10}})
    assert progress.json()["counts"] == {"scheduled": 40, "fetched": 10}

    finished = api.write(
        "PATCH", "/v1/runs/fetch-1",
        {"status": "partial", "counts": {"fetched": 38, "dead_lettered": 2}, "message": "2 failed"},
    )
    body = finished.json()
    assert finished.status_code == 200
    assert body["status"] == "partial" and body["message"] == "2 failed"
    assert body["counts"] == {"scheduled": 40, "fetched": 38, "dead_lettered": 2}
    assert body["finished_at"] is not None and body["duration_s"] >= 600
    assert api.client.get("/v1/runs/fetch-1").json() == body


def test_creating_a_run_again_is_idempotent_and_a_stage_clash_is_409(api: Api) -> None:
    first = api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "fetch-weather"})
    again = api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "fetch-weather"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    clash = api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "categorize"})
    assert clash.status_code == 409


def test_a_run_id_is_generated_when_none_is_given(api: Api) -> None:
    response = api.write("POST", "/v1/runs", {"stage": "schedule-jobs", "status": "succeeded"})
    assert response.status_code == 201
    body = response.json()
    assert body["run_id"].startswith("run-") and body["finished_at"] is not None


def test_a_finished_run_keeps_its_status(api: Api) -> None:
    api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "fetch-weather"})
    api.write("PATCH", "/v1/runs/r-1", {"status": "succeeded"})
    assert api.write("PATCH", "/v1/runs/r-1", {"status": "failed"}).status_code == 409
    assert api.write("PATCH", "/v1/runs/r-1", {"status": "running"}).status_code == 409
    same = api.write("PATCH", "/v1/runs/r-1", {"status": "succeeded", "counts": {"late": 1}})
    assert same.status_code == 200 and same.json()["counts"] == {"late": 1}


def test_bad_run_updates(api: Api) -> None:
    assert api.write("PATCH", "/v1/runs/r-404", {"status": "failed"}).status_code == 404
    api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "fetch-weather"})
    early = iso(datetime.now(UTC) - timedelta(days=1))
    before_start = api.write("PATCH", "/v1/runs/r-1", {"status": "failed", "finished_at": early})
    assert before_start.status_code == 422
    assert before_start.json()["detail"][0]["loc"] == ["body", "finished_at"]
    running_with_end = api.write(
        "PATCH", "/v1/runs/r-1", {"finished_at": iso(datetime.now(UTC))}
    )
    assert running_with_end.status_code == 422
    for body, field in (({"counts": {"Bad-Name": 1}}, "counts"), ({"counts": {"n": -1}}, "counts"),
                        ({"status": "exploded"}, "status")):
        response = api.write("PATCH", "/v1/runs/r-1", body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert api.client.get("/v1/runs/r-1").json()["status"] == "running"


def test_stats_report_counts_and_the_last_finished_run_per_stage(api: Api) -> None:
    empty = api.client.get("/v1/stats").json()
    assert empty["locations"] == 0 and empty["last_finished_run"] is None

    add_locations(api, "trail-0001", "trail-0002")
    api.write("PUT", "/v1/locations/trail-0001/weather",
              {"records": [weather(0, kind="observed"), weather(1), weather(2)]})
    api.write("PUT", "/v1/locations/trail-0001/conditions", {"conditions": [condition(0)]})
    now = datetime.now(UTC)

    def run(run_id: str, stage: str, finished_min_ago: int | None, status: str) -> None:
        body: dict[str, Any] = {"run_id": run_id, "stage": stage, "status": status,
                                "started_at": iso(now - timedelta(hours=1))}
        if finished_min_ago is not None:
            body["finished_at"] = iso(now - timedelta(minutes=finished_min_ago))
        assert api.write("POST", "/v1/runs", body).status_code == 201

    run("fetch-old", "fetch-weather", 30, "succeeded")
    run("fetch-new", "fetch-weather", 5, "partial")
    run("categorize-1", "categorize", 10, "failed")
    run("fetch-now", "fetch-weather", None, "running")

    stats = api.client.get("/v1/stats").json()

    assert stats["locations"] == 2
    assert stats["weather_records"] == {"observed": 1, "forecast": 2}
    assert stats["conditions"] == 1
    assert stats["latest_weather_fetched_at"] == weather(0)["fetched_at"].replace("+00:00", "Z")
    assert stats["runs_in_progress"] == 1
    assert stats["last_finished_run"]["run_id"] == "fetch-new"
    assert stats["last_finished_run"]["status"] == "partial"
    by_stage = stats["last_finished_run_by_stage"]
    assert {stage: r["run_id"] for stage, r in by_stage.items()} == {
        "fetch-weather": "fetch-new",
        "categorize": "categorize-1",
    }
