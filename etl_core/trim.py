"""Safe trimming: remove from a stream only what every consumer group has acknowledged.

Producers never trim (``XADD MAXLEN`` deletes entries nobody has read yet). This separate operation
computes atomically in ``safe_trim.lua`` the lowest id any group still needs (its oldest pending
entry, or the first entry it has not been given) and trims the stream exactly below it (``XTRIM
MINID``). A stream without consumer groups (a dead-letter stream) is never trimmed. Every worker
runs it on its own stream every ``trim_interval_ms`` (``WORKER_TRIM_INTERVAL_S``), so a stream holds
what is still to do, not every task ever sent.
"""

from __future__ import annotations

from typing import Any

import redis

from etl_core import scripts
from etl_core.errors import TransientError
from etl_core.logging import get_logger

SCRIPT_NAME = "safe_trim"


def safe_trim(client: redis.Redis, stream: str) -> int:
    """Trim ``stream`` to what its consumer groups still need; return the number removed."""
    script = scripts.register(client, SCRIPT_NAME)
    try:
        removed = int(script(keys=[stream]))
    except redis.RedisError as exc:
        raise TransientError(f"trimming stream {stream!r} failed: {exc}") from exc
    _log(stream, removed)
    return removed


async def safe_trim_async(client: Any, stream: str) -> int:
    """``safe_trim`` with an asyncio client (the worker runtime's)."""
    script = scripts.register(client, SCRIPT_NAME)
    try:
        removed = int(await script(keys=[stream]))
    except redis.RedisError as exc:
        raise TransientError(f"trimming stream {stream!r} failed: {exc}") from exc
    _log(stream, removed)
    return removed


def _log(stream: str, removed: int) -> None:
    log = get_logger("etl_core.trim", component="trim")
    (log.info if removed else log.debug)("stream_trimmed", stream=stream, removed=removed)
