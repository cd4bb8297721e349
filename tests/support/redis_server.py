"""A private redis-server process on a free loopback port, for tests that need the real thing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def require_or_skip(what: str, found: bool) -> None:
    """Skip a test when a real dependency is missing, except under CI=true, where it fails."""
    import pytest

    if found:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required under CI=true but was not found", pytrace=False)
    pytest.skip(f"{what} not found")


class RedisServer:
    """Owns one redis-server process: start, kill -9, restart on the same port and data dir."""

    def __init__(
        self,
        *,
        appendonly: bool = False,
        password: str | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        """``password``: the default user's (``requirepass``); ``url`` carries it. ``extra_args``:
        more redis-server options."""
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server not found on PATH")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="trail-etl-redis-"))
        self.appendonly = appendonly
        self.password = password
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.url_for(None, self.password)

    def url_for(self, user: str | None, password: str | None) -> str:
        """A URL of this server that signs in as ``user`` (None: the default user)."""
        auth = f"{user or ''}:{password}@" if password is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, *, timeout_s: float = 10.0) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--protected-mode",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
            *(["--requirepass", self.password] if self.password is not None else []),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not answer PING in time")
                time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: what a crash or an OOM kill does."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
