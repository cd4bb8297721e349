"""The demo's surroundings: a Redis, the mock OWM and the weather service, each on a free port.

Redis: a private ``redis-server`` when one is on PATH, else an in-process fakeredis server over
TCP (so the worker processes can share it). ``REDIS_URL`` is not read: a shell set up for a live
pipeline must not send the demo's tasks into it. A Redis named on purpose (``--redis-url``) is used
only when it holds no key of a pipeline (``owm-*``, ``etl:*``). Every process the demo starts is a
``trail-etl`` command of this project, stopped when the demo ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from etl_core.errors import ConfigurationError
from mock_owm.auth import admin_headers, generate_admin_token

DEMO_API_KEY = "demo-weather-service-key"
DEMO_OWM_KEY = "mock-owm-key"
START_TIMEOUT_S = 60.0


# Settings of a pipeline a shell may hold (the README's "from its parts" exports some): none of
# them reaches the demo's processes, which get the demo's own values instead.
_PIPELINE_SETTING_PREFIXES = (
    "REDIS_",
    "OWM_",
    "WEATHER_SERVICE_",
    "WORKER_",
    "FETCH_",
    "CATEGORIZE_",
    "SCHEDULE_",
    "LOCATIONS_",
    "OUTBOX_",
    "STREAM_",
    "BACKPRESSURE_",
    "MOCK_OWM_",
    "METRICS_",
    "CLASSIFIER",
    "DATABASE_URL",
    "LOG_LEVEL",
    "PIPELINE_",
)


def hermetic_environ() -> dict[str, str]:
    """This process's environment without any pipeline setting."""
    return {
        k: v for k, v in os.environ.items() if not k.upper().startswith(_PIPELINE_SETTING_PREFIXES)
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_command(*args: str) -> list[str]:
    """This project's ``trail-etl`` run with the current interpreter."""
    return [sys.executable, "-c", "from services.cli import main; main()", *args]


@dataclass
class Children:
    """Processes started by the demo; all are stopped (SIGTERM, then SIGKILL) at the end."""

    log_dir: Path
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, env={**hermetic_environ(), **env}, stdout=log, stderr=log)
        self.procs.append((name, proc))
        return proc

    def stop(self, names: set[str] | None = None, *, timeout_s: float = 30.0) -> None:
        chosen = [(n, p) for n, p in self.procs if names is None or n in names]
        for _name, proc in chosen:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout_s
        for _name, proc in chosen:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Environment:
    redis_url: str
    redis_kind: str  # "REDIS_URL", "redis-server" or "fakeredis"
    weather_url: str
    owm_url: str
    work_dir: Path
    children: Children
    owm_admin_token: str  # the mock's control endpoints (/__stats, /__faults) need it
    source: str = "owm"  # WEATHER_SOURCE: the mock serves both providers' APIs

    @property
    def owm_admin_headers(self) -> dict[str, str]:
        return admin_headers(self.owm_admin_token)

    def pipeline_env(self) -> dict[str, str]:
        return {
            "REDIS_URL": self.redis_url,
            "WEATHER_SERVICE_URL": self.weather_url,
            "WEATHER_SERVICE_API_KEY": DEMO_API_KEY,
            "OWM_BASE_URL": self.owm_url,
            "OWM_API_KEY": DEMO_OWM_KEY,
            "WEATHER_SOURCE": self.source,
            # The mock is free; the real APIs are not.
            "OWM_RATE_LIMIT_PER_MINUTE": "1000000",
            "OWM_RATE_LIMIT_PER_DAY": "100000000",
            "OPEN_METEO_BASE_URL": self.owm_url,
            "OPEN_METEO_RATE_LIMIT_PER_MINUTE": "1000000",
            "OPEN_METEO_RATE_LIMIT_PER_HOUR": "",
            "OPEN_METEO_RATE_LIMIT_PER_DAY": "",
            # No rate limit to wait on: keep more calls in flight (each fetch process holds twice
            # as many tasks), so the calls' latency overlaps; more handlers also make the
            # weather-service batches larger (fewer requests per location).
            "FETCH_CONCURRENCY": "256",
            "CATEGORIZE_CONCURRENCY": "256",
            "OUTBOX_PATH": str(self.work_dir / "outbox.sqlite3"),
            "LOG_LEVEL": "INFO",  # workers log their totals (worker_stopped) at INFO
            "METRICS_PORT": "0",  # several workers on one host: no probes (one port each)
        }

    def full_env(self) -> dict[str, str]:
        """This process's environment with the pipeline's settings on top."""
        return {**hermetic_environ(), **self.pipeline_env()}


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigurationError(f"{name} exited with code {proc.returncode} at start")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ConfigurationError(f"{name} did not answer {url} within {START_TIMEOUT_S:.0f} s")


PIPELINE_KEY_PATTERNS = ("owm-*", "etl:*")


def demo_redis(redis_url: str) -> Any:
    """A synchronous client of ``redis_url`` in any form the pipeline takes (``redis://``,
    ``rediss://``, ``unix://`` or ``redis+sentinel://``), with the pipeline's own retries."""
    from etl_core.redis_client import RedisRetryOptions, sync_client

    return sync_client(
        redis_url, RedisRetryOptions(), socket_timeout_s=10, socket_connect_timeout_s=5
    )


def require_no_pipeline(redis_url: str) -> None:
    """Refuse a Redis that holds any key of a pipeline: the demo would read and write them."""
    import redis

    from etl_core.redact import redact_url
    from etl_core.redis_url import RedisUrlError

    try:
        client = demo_redis(redis_url)
    except RedisUrlError as exc:
        raise ConfigurationError(f"--redis-url {redact_url(redis_url)}: {exc}") from None
    try:
        for pattern in PIPELINE_KEY_PATTERNS:
            for key in client.scan_iter(match=pattern, count=1000):
                name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
                raise ConfigurationError(
                    f"the Redis at --redis-url {redact_url(redis_url)} holds pipeline keys (e.g. "
                    f"{name[:80]!r}): the demo runs only where no pipeline is; give it an empty "
                    "database (another number after the last /) or leave --redis-url out"
                )
    except redis.RedisError as exc:
        raise ConfigurationError(
            f"cannot use the Redis at --redis-url {redact_url(redis_url)}: {exc}"
        ) from None
    finally:
        client.close()


@contextmanager
def _redis(stack: ExitStack, work_dir: Path, redis_url: str | None) -> Iterator[tuple[str, str]]:
    if redis_url:
        require_no_pipeline(redis_url)
        yield redis_url, "--redis-url"
        return
    binary = shutil.which("redis-server")
    if binary is not None:
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(work_dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(work_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop_redis() -> None:
            proc.terminate()
            proc.wait(timeout=10)

        stack.callback(stop_redis)
        yield f"redis://127.0.0.1:{port}/0", "redis-server"
        return
    import fakeredis

    server: Any = fakeredis.TcpFakeServer(("127.0.0.1", free_port()), server_type="redis")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stack.callback(server.shutdown)
    host, port = server.server_address
    url = f"redis://{host}:{port}/0"
    _preload_scripts(url)
    yield url, "fakeredis"


def _preload_scripts(url: str) -> None:
    """Load every etl_core script up front: fakeredis's TCP server drops the connection when a
    client falls back from EVALSHA (NOSCRIPT) to SCRIPT LOAD, which redis-py does on first use."""
    import redis

    from etl_core import scripts

    client = redis.Redis.from_url(url)
    try:
        for path in sorted(Path(scripts.__file__).parent.glob("*.lua")):
            client.script_load(scripts.source(path.stem))
    finally:
        client.close()


def start_services(
    children: Children,
    work_dir: Path,
    *,
    owm_admin_token: str,
    mock_env: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Start mock-owm (its control endpoints behind ``owm_admin_token``) and the weather service
    (SQLite in ``work_dir``); wait until both answer. Returns (mock OWM URL, weather service
    URL)."""
    owm_port, weather_port = free_port(), free_port()
    mock = children.start(
        "mock-owm",
        cli_command("serve", "mock-owm", "--port", str(owm_port)),
        {
            "MOCK_OWM_API_KEYS": DEMO_OWM_KEY,
            "MOCK_OWM_ADMIN_TOKEN": owm_admin_token,
            "MOCK_OWM_LOG_LEVEL": "WARNING",
            # The mock enforces Open-Meteo's free quotas by default, as the real API does; the
            # demo and the benchmarks run more locations than they allow in an hour.
            "MOCK_OWM_OPEN_METEO_RATE_LIMIT_PER_MINUTE": "",
            "MOCK_OWM_OPEN_METEO_RATE_LIMIT_PER_HOUR": "",
            "MOCK_OWM_OPEN_METEO_RATE_LIMIT_PER_DAY": "",
            **(mock_env or {}),
        },
    )
    weather = children.start(
        "weather-service",
        cli_command("serve", "weather-service", "--port", str(weather_port)),
        {
            "DATABASE_URL": f"sqlite:///{work_dir / 'weather.db'}",
            "WEATHER_SERVICE_API_KEYS": DEMO_API_KEY,
            "WEATHER_SERVICE_LOG_LEVEL": "WARNING",
        },
    )
    owm_url, weather_url = f"http://127.0.0.1:{owm_port}", f"http://127.0.0.1:{weather_port}"
    _wait_healthy(owm_url + "/__health", mock, "mock-owm")
    _wait_healthy(weather_url + "/ready", weather, "weather-service")
    return owm_url, weather_url


@contextmanager
def demo_environment(
    work_dir: Path,
    *,
    fault_rate: float,
    mock_env: dict[str, str] | None = None,
    redis_url: str | None = None,
    source: str = "owm",
    say: Callable[[str], None] = lambda _message: None,
) -> Iterator[Environment]:
    """``mock_env``: more MOCK_OWM_* settings for the mock (benchmarks: latency). ``redis_url``: a
    Redis of the caller's instead of a private one (refused if it holds a pipeline's keys).
    ``source``: the weather source the workers use (``owm`` or ``open-meteo``, both served by the
    mock). ``say`` is told each step as it starts."""
    with ExitStack() as stack:
        children = Children(work_dir)
        stack.callback(children.stop)
        say("starting Redis" if redis_url is None else "checking the Redis at --redis-url")
        redis_url, kind = stack.enter_context(_redis(stack, work_dir, redis_url))
        token = generate_admin_token()  # a fresh one per run
        say("starting the mock weather provider and the weather service")
        owm_url, weather_url = start_services(
            children,
            work_dir,
            owm_admin_token=token,
            mock_env={"MOCK_OWM_ERROR_RATE": str(fault_rate), **(mock_env or {})},
        )
        yield Environment(
            redis_url, kind, weather_url, owm_url, work_dir, children, token, source
        )
