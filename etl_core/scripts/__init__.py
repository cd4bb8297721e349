"""Lua scripts, one file each, with the keys and arguments documented at the top of the file.

A script may share helpers with others through a line ``-- #include <name>``, replaced by the text
of ``<name>.lua`` when the script is loaded: Redis has no module system, and the helpers must not
drift apart between the scripts that use them.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

_INCLUDE = re.compile(r"^-- #include ([a-z_]+)$", re.MULTILINE)


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


@cache
def source(name: str) -> str:
    """The text of ``<name>.lua`` shipped in this package, with its includes inlined."""
    return _INCLUDE.sub(lambda m: _read(m.group(1)).rstrip("\n"), _read(name))


def register(client: Any, name: str) -> Any:
    """Register ``name`` with a redis client (sync or asyncio): EVALSHA, falling back to EVAL."""
    return client.register_script(source(name))
