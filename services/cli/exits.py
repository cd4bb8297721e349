"""Clean exits of the service commands: one plain line on stderr, never wrapped."""

from __future__ import annotations

import redis
import typer

from etl_core.errors import RedisPermissionError, RedisRefused
from etl_core.redact import redact_text, redact_url
from etl_core.redis_client import REDIS_OUTAGE_ERRORS, refusal

EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2
ACL_DOC = "docs/operations.md (Redis ACLs)"


def one_line(message: str) -> str:
    """``message`` on one line, with the password of any URL in it redacted."""
    return " ".join(redact_text(message).split())


def exit_with(message: str, code: int = EXIT_BAD_SETTINGS) -> typer.Exit:
    """Print ``error: <message>`` as one line on stderr; the caller raises what this returns."""
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


def redis_problem(exc: BaseException, redis_url: str) -> tuple[str, int]:
    """What a failed Redis command says to an operator, and the exit code: Redis refused our
    credentials or an ACL permission (exit 2, naming the command), did not answer (exit 2: the
    command cannot do its job; a worker waits instead), or answered with an error (exit 1)."""
    where = f"REDIS_URL={redact_url(redis_url)}"
    refused: RedisRefused | None = refusal(exc)
    if refused is not None:
        hint = f"; see {ACL_DOC}" if isinstance(refused, RedisPermissionError) else ""
        return f"{refused} ({where}{hint})", EXIT_BAD_SETTINGS
    if isinstance(exc, (*REDIS_OUTAGE_ERRORS, OSError)):
        return f"cannot reach Redis at {where}: {exc}", EXIT_BAD_SETTINGS
    if isinstance(exc, redis.ResponseError) and "DB index is out of range" in str(exc):
        return (
            f"Redis at {where} has no such database: the number after the last / of REDIS_URL "
            "must be below the server's `databases` setting (16 unless changed)",
            EXIT_BAD_SETTINGS,
        )
    return f"Redis at {where} answered with an error: {type(exc).__name__}: {exc}", EXIT_FAILED


def redis_exit(exc: BaseException, redis_url: str) -> typer.Exit:
    """``exit_with`` the one line ``redis_problem`` gives."""
    message, code = redis_problem(exc, redis_url)
    return exit_with(message, code=code)
