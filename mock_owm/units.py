"""The ``units`` parameter: standard (K, m/s), metric (degC, m/s), imperial (degF, mph).

Precipitation is always mm whatever the units. An unknown value falls back to standard, as
OpenWeatherMap does. Values are rounded to 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass

KELVIN_OFFSET = 273.15
MPH_PER_MS = 2.236_936_292


@dataclass(frozen=True, slots=True)
class Units:
    name: str
    temp_scale: float  # from degC: value * scale + offset
    temp_offset: float
    speed_scale: float  # from m/s
    temp_symbol: str
    speed_symbol: str

    def temp(self, celsius: float) -> float:
        return round(celsius * self.temp_scale + self.temp_offset, 2)

    def speed(self, speed_ms: float) -> float:
        return round(speed_ms * self.speed_scale, 2)


STANDARD = Units("standard", 1.0, KELVIN_OFFSET, 1.0, "K", "m/s")
METRIC = Units("metric", 1.0, 0.0, 1.0, "°C", "m/s")
IMPERIAL = Units("imperial", 1.8, 32.0, MPH_PER_MS, "°F", "mph")
_BY_NAME = {u.name: u for u in (STANDARD, METRIC, IMPERIAL)}


def units_for(name: str | None) -> Units:
    return _BY_NAME.get((name or "").strip().lower(), STANDARD)
