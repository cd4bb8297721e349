"""Helpers shared by the commands: settings errors as clean exits, a Redis client."""

from __future__ import annotations

import redis
import typer
from rich.console import Console

from etl_core.errors import ConfigurationError
from services.cli.settings import CliSettings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def load_settings() -> CliSettings:
    try:
        settings: CliSettings = CliSettings.load()
    except ConfigurationError as exc:
        raise fail(str(exc)) from None
    return settings


def redis_client() -> redis.Redis:
    settings = load_settings()
    client = settings.sync_redis()
    try:
        client.ping()
    except redis.RedisError as exc:
        raise fail(f"cannot reach Redis at REDIS_URL={settings.redis_url}: {exc}") from None
    return client
