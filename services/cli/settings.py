"""Settings of the operator commands (``dlq``, ``status``)."""

from __future__ import annotations

from pydantic import Field

from etl_core.settings import ServiceSettings


class CliSettings(ServiceSettings):
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
