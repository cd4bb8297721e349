"""Helpers shared by the commands: settings errors as clean exits, a Redis client."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
import typer
from rich.console import Console
from rich.markup import escape

from etl_core.errors import ConfigurationError, RedisRefused
from services.cli.exits import one_line, redis_problem
from services.cli.settings import CliSettings

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    # soft_wrap: the message stays one line whatever the terminal width
    err_console.print(f"[bold red]error:[/] {escape(one_line(message))}", soft_wrap=True)
    return typer.Exit(code)


def load_settings() -> CliSettings:
    try:
        settings: CliSettings = CliSettings.load()
    except ConfigurationError as exc:
        raise fail(str(exc)) from None
    return settings


def redis_fail(exc: BaseException, redis_url: str) -> typer.Exit:
    """``fail`` with the one line ``exits.redis_problem`` gives for a failed Redis command."""
    message, code = redis_problem(exc, redis_url)
    return fail(message, code=code)


@contextmanager
def redis_errors(redis_url: str) -> Iterator[None]:
    """A Redis command that fails in the block ends the command with one line, no traceback."""
    try:
        yield
    except (redis.RedisError, RedisRefused) as exc:
        raise redis_fail(exc, redis_url) from None


def with_redis_errors(command: F) -> F:
    """``redis_errors`` around a whole command that talks to Redis through ``redis_client``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with redis_errors(load_settings().redis_url):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def redis_client() -> redis.Redis:
    settings = load_settings()
    client = settings.sync_redis()
    with redis_errors(settings.redis_url):
        client.ping()
    return client
