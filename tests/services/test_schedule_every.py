"""``trail-etl schedule --every``: a run per tick until SIGTERM; a failed run does not end it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import schedule
from tests.services.conftest import WS_API_KEY
from tests.support.polling import wait_until


@pytest.fixture(autouse=True)
def _no_global_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # structlog is process-global: pointed at CliRunner's stderr, it would outlive the runner.
    monkeypatch.setattr(schedule, "configure_logging", lambda **_: None)


@pytest.mark.parametrize(
    ("spec", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800)]
)
def test_durations(spec: str, seconds: float) -> None:
    assert schedule.parse_duration(spec) == seconds


@pytest.mark.parametrize("spec", ["", "5", "0m", "-5m", "5 minutes", "1w", "1.5h"])
def test_bad_durations_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="--every"):
        schedule.parse_duration(spec)


def test_a_bad_every_exits_2_naming_it() -> None:
    result = CliRunner().invoke(
        schedule.app, ["--every", "soon"], env={"WEATHER_SERVICE_API_KEY": WS_API_KEY}
    )
    assert result.exit_code == 2
    assert "--every" in result.stderr


def _start(target: object) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_runs_at_every_tick_and_a_failed_run_is_retried_at_the_next() -> None:
    calls: list[int] = []
    failures: list[int] = []
    stop = threading.Event()

    def run_once() -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("weather service down")

    thread = _start(lambda: failures.append(schedule.run_every(run_once, every_s=0.01, stop=stop)))
    wait_until(lambda: len(calls) >= 4, timeout_s=10, message="four runs")
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert failures == [1]


def test_stop_ends_the_wait_at_once() -> None:
    calls: list[int] = []
    stop = threading.Event()
    thread = _start(lambda: schedule.run_every(lambda: calls.append(1), every_s=3600, stop=stop))
    wait_until(lambda: calls, timeout_s=10, message="the first run")
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert calls == [1]


def test_missed_ticks_are_skipped_not_caught_up() -> None:
    now = [0.0]
    waits: list[float] = []
    stop = threading.Event()

    def run_once() -> None:
        now[0] += 25.0 if not waits else 1.0  # the first run overruns two 10 s ticks

    def wait(timeout: float | None = None) -> bool:
        waits.append(timeout or 0.0)
        now[0] += timeout or 0.0
        if len(waits) == 3:
            stop.set()
        return stop.is_set()

    stop.wait = wait  # type: ignore[method-assign]
    schedule.run_every(run_once, every_s=10.0, stop=stop, clock=lambda: now[0])
    assert waits == [5.0, 9.0, 9.0]  # next ticks at 30, 40, 50


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_command_survives_failed_runs_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    port = _closed_port()
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "WEATHER_SERVICE_URL": f"http://127.0.0.1:{port}",
        "WEATHER_SERVICE_API_KEY": WS_API_KEY,
        "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
    }
    env.pop("LOCATIONS_FILE", None)
    log_path = tmp_path / "stderr.log"
    code = "from services.cli import app; app()"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-c", code, "schedule", "--every", "1s"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            wait_until(
                lambda: (
                    log_path.read_text().count("schedule_run_failed") >= 2
                    or process.poll() is not None
                ),
                timeout_s=30,
                message="two failed runs",
            )
            assert process.poll() is None, log_path.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "schedule_stopping" in log_path.read_text()
