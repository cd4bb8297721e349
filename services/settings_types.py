"""Types shared by the services' settings classes."""

from __future__ import annotations

from typing import Literal

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
