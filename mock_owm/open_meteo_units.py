"""Open-Meteo's unit parameters: names, the unit strings of ``hourly_units``, conversions, and the
decimals Open-Meteo rounds each unit to (1 for °C, °F, km/h, mp/h and kn; 2 for m/s, mm, cm
and m; 3 for inch and m³/m³; whole numbers for % and codes).

``precipitation_unit=inch`` turns every length into imperial units: precipitation and snowfall in
inches, snow depth and visibility in feet, as Open-Meteo does.
"""

from __future__ import annotations

from dataclasses import dataclass

MM_PER_INCH = 25.4
M_PER_FT = 0.3048
CM_PER_INCH = 2.54

TEMPERATURE_UNITS = ("celsius", "fahrenheit")
WIND_SPEED_UNITS = ("kmh", "ms", "mph", "kn")
PRECIPITATION_UNITS = ("mm", "inch")

# name: (unit string, factor from m/s, decimals)
_WIND = {
    "kmh": ("km/h", 3.6, 1),
    "ms": ("m/s", 1.0, 2),
    "mph": ("mp/h", 2.236_936_292, 1),
    "kn": ("kn", 1.943_844_492, 1),
}


@dataclass(frozen=True, slots=True)
class OpenMeteoUnits:
    temperature: str = "celsius"
    wind_speed: str = "kmh"
    precipitation: str = "mm"

    @property
    def temperature_unit(self) -> str:
        return "°F" if self.temperature == "fahrenheit" else "°C"

    def temp(self, celsius: float) -> float:
        if self.temperature == "fahrenheit":
            return round(celsius * 1.8 + 32.0, 1)
        return round(celsius, 1)

    @property
    def wind_unit(self) -> str:
        return _WIND[self.wind_speed][0]

    def wind(self, speed_ms: float) -> float:
        _, factor, decimals = _WIND[self.wind_speed]
        return round(speed_ms * factor, decimals)

    @property
    def imperial_lengths(self) -> bool:
        return self.precipitation == "inch"

    @property
    def water_unit(self) -> str:
        return "inch" if self.imperial_lengths else "mm"

    def water(self, mm: float) -> float:
        return round(mm / MM_PER_INCH, 3) if self.imperial_lengths else round(mm, 2)

    @property
    def snowfall_unit(self) -> str:
        return "inch" if self.imperial_lengths else "cm"

    def snowfall(self, cm: float) -> float:
        return round(cm / CM_PER_INCH, 3) if self.imperial_lengths else round(cm, 2)

    @property
    def length_unit(self) -> str:
        return "ft" if self.imperial_lengths else "m"

    def length(self, metres: float) -> float:
        return round(metres / M_PER_FT, 2) if self.imperial_lengths else round(metres, 2)
