"""``SCHEDULE_WINDOW``: the scheduler labels tasks with it, and the workers refuse labels it
could not have written. Every deployable of one pipeline must be given the same value."""

from __future__ import annotations

from pydantic import field_validator

from etl_core.settings import ServiceSettings
from etl_core.windows import WindowRule, parse_window


class ScheduleWindowSettings(ServiceSettings):
    schedule_window: str = "1h"

    @field_validator("schedule_window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value

    def window_rule(self) -> WindowRule:
        """The window labels a worker takes from its stream (``etl_core.windows.WindowRule``)."""
        return WindowRule(self.schedule_window)
