"""Settings of the operator commands (``dlq``, ``status``)."""

from __future__ import annotations

from services.redis_settings import RedisSettings


class CliSettings(RedisSettings):
    """``REDIS_URL`` and the Redis retry settings (``RedisSettings``)."""
