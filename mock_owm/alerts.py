"""Weather alerts over the forecast hours: sent only when something alert-worthy happens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mock_owm.model import SECONDS_PER_HOUR, Hour

SENDER_NAME = "Mock National Weather Service (mock_owm)"
_MERGE_GAP_HOURS = 3


@dataclass(frozen=True, slots=True)
class AlertRule:
    event: str
    tag: str
    description: str
    fires: Callable[[Hour], bool]


RULES: tuple[AlertRule, ...] = (
    AlertRule("Thunderstorm Warning", "Thunderstorm",
              "Thunderstorms with heavy rain, lightning and strong gusts are expected.",
              lambda h: 200 <= h.weather_id < 300),
    AlertRule("Heavy Rain Warning", "Rain",
              "Heavy rain of 7.6 mm/h or more is expected; trails and roads may flood.",
              lambda h: h.rain_mm >= 7.6),
    AlertRule("Freezing Rain Warning", "Snow/Ice",
              "Freezing rain is expected; surfaces will be icy.",
              lambda h: h.weather_id == 511),
    AlertRule("Heavy Snow Warning", "Snow/Ice",
              "Heavy snowfall of 2 mm/h water equivalent or more is expected.",
              lambda h: h.snow_mm >= 2.0),
    AlertRule("Wind Warning", "Wind",
              "Gusts of 20 m/s or more are expected.",
              lambda h: h.gust_ms >= 20.0),
    AlertRule("Extreme Cold Warning", "Extreme low temperature",
              "Temperatures of -25 degC or lower are expected.",
              lambda h: h.temp_c <= -25.0),
    AlertRule("Extreme Heat Warning", "Extreme high temperature",
              "Temperatures of 38 degC or higher are expected.",
              lambda h: h.temp_c >= 38.0),
)


def _calm(h: Hour) -> bool:
    """True when no rule can fire (most hours): a cheap test before the rules."""
    return (h.rain_mm < 7.6 and h.snow_mm < 2.0 and h.gust_ms < 20.0 and -25.0 < h.temp_c < 38.0
            and h.weather_id != 511 and not 200 <= h.weather_id < 300)


def alerts_for(hours: Sequence[Hour]) -> list[dict[str, Any]]:
    """One alert per rule and spell of hours that fire it (spells less than 3 h apart merge)."""
    alerts: list[dict[str, Any]] = []
    stormy = [h for h in hours if not _calm(h)]
    for rule in RULES if stormy else ():
        start: int | None = None
        end = 0
        for h in stormy:
            if not rule.fires(h):
                continue
            if start is not None and h.dt - end > _MERGE_GAP_HOURS * SECONDS_PER_HOUR:
                alerts.append(_alert(rule, start, end))
                start = None
            if start is None:
                start = h.dt
            end = h.dt + SECONDS_PER_HOUR
        if start is not None:
            alerts.append(_alert(rule, start, end))
    alerts.sort(key=lambda a: (a["start"], a["event"]))
    return alerts


def _alert(rule: AlertRule, start: int, end: int) -> dict[str, Any]:
    return {
        "sender_name": SENDER_NAME,
        "event": rule.event,
        "start": start,
        "end": end,
        "description": rule.description,
        "tags": [rule.tag],
    }
