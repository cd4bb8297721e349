"""Safe trimming: remove from a stream only what every consumer group has acknowledged.

Producers never trim (``XADD MAXLEN`` deletes entries nobody has read yet). This separate operation,
run by an operator or a maintenance job, computes atomically in ``safe_trim.lua`` the lowest id any
group still needs (its oldest pending entry, or the first entry it has not been given) and trims
the stream exactly below it (``XTRIM MINID``). A stream without consumer groups is never trimmed.
"""

from __future__ import annotations

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
    get_logger("etl_core.trim", component="trim").info(
        "stream_trimmed", stream=stream, removed=removed
    )
    return removed
