"""Lua scripts, one file each, with the keys and arguments documented at the top of the file."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any


@cache
def source(name: str) -> str:
    """The text of ``<name>.lua`` shipped in this package."""
    return resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


def register(client: Any, name: str) -> Any:
    """Register ``name`` with a redis client (sync or asyncio): EVALSHA, falling back to EVAL."""
    return client.register_script(source(name))
