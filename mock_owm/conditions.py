"""OpenWeatherMap weather condition codes: English names, groups, icons, and how the mock picks one.

The table is OpenWeatherMap's published list. ``pick_hour_condition`` keeps ids consistent with the
generated precipitation: rain 500-504 by intensity, 511 when it rains below 0 degC, 600-602 snow,
611-613 sleet, 2xx in warm heavy rain, 3xx drizzle, 701/741 mist and fog, 800-804 by cloud cover.
"""

from __future__ import annotations

from typing import NamedTuple


class Condition(NamedTuple):
    main: str
    description: str
    icon: str  # without the d/n suffix


CONDITIONS: dict[int, Condition] = {
    200: Condition("Thunderstorm", "thunderstorm with light rain", "11"),
    201: Condition("Thunderstorm", "thunderstorm with rain", "11"),
    202: Condition("Thunderstorm", "thunderstorm with heavy rain", "11"),
    210: Condition("Thunderstorm", "light thunderstorm", "11"),
    211: Condition("Thunderstorm", "thunderstorm", "11"),
    212: Condition("Thunderstorm", "heavy thunderstorm", "11"),
    221: Condition("Thunderstorm", "ragged thunderstorm", "11"),
    230: Condition("Thunderstorm", "thunderstorm with light drizzle", "11"),
    231: Condition("Thunderstorm", "thunderstorm with drizzle", "11"),
    232: Condition("Thunderstorm", "thunderstorm with heavy drizzle", "11"),
    300: Condition("Drizzle", "light intensity drizzle", "09"),
    301: Condition("Drizzle", "drizzle", "09"),
    302: Condition("Drizzle", "heavy intensity drizzle", "09"),
    310: Condition("Drizzle", "light intensity drizzle rain", "09"),
    311: Condition("Drizzle", "drizzle rain", "09"),
    312: Condition("Drizzle", "heavy intensity drizzle rain", "09"),
    313: Condition("Drizzle", "shower rain and drizzle", "09"),
    314: Condition("Drizzle", "heavy shower rain and drizzle", "09"),
    321: Condition("Drizzle", "shower drizzle", "09"),
    500: Condition("Rain", "light rain", "10"),
    501: Condition("Rain", "moderate rain", "10"),
    502: Condition("Rain", "heavy intensity rain", "10"),
    503: Condition("Rain", "very heavy rain", "10"),
    504: Condition("Rain", "extreme rain", "10"),
    511: Condition("Rain", "freezing rain", "13"),
    520: Condition("Rain", "light intensity shower rain", "09"),
    521: Condition("Rain", "shower rain", "09"),
    522: Condition("Rain", "heavy intensity shower rain", "09"),
    531: Condition("Rain", "ragged shower rain", "09"),
    600: Condition("Snow", "light snow", "13"),
    601: Condition("Snow", "snow", "13"),
    602: Condition("Snow", "heavy snow", "13"),
    611: Condition("Snow", "sleet", "13"),
    612: Condition("Snow", "light shower sleet", "13"),
    613: Condition("Snow", "shower sleet", "13"),
    615: Condition("Snow", "light rain and snow", "13"),
    616: Condition("Snow", "rain and snow", "13"),
    620: Condition("Snow", "light shower snow", "13"),
    621: Condition("Snow", "shower snow", "13"),
    622: Condition("Snow", "heavy shower snow", "13"),
    701: Condition("Mist", "mist", "50"),
    711: Condition("Smoke", "smoke", "50"),
    721: Condition("Haze", "haze", "50"),
    731: Condition("Dust", "sand/dust whirls", "50"),
    741: Condition("Fog", "fog", "50"),
    751: Condition("Sand", "sand", "50"),
    761: Condition("Dust", "dust", "50"),
    762: Condition("Ash", "volcanic ash", "50"),
    771: Condition("Squall", "squalls", "50"),
    781: Condition("Tornado", "tornado", "50"),
    800: Condition("Clear", "clear sky", "01"),
    801: Condition("Clouds", "few clouds", "02"),
    802: Condition("Clouds", "scattered clouds", "03"),
    803: Condition("Clouds", "broken clouds", "04"),
    804: Condition("Clouds", "overcast clouds", "04"),
}

FREEZING_IDS = frozenset({511, 611, 612, 613})

# Precipitation kinds, decided from the temperature of the hour.
KIND_RAIN = 1
KIND_FREEZING_RAIN = 2
KIND_SLEET = 3
KIND_SNOW = 4

# Sleet falls between these temperatures; below, snow (or freezing rain under a warm layer aloft).
SLEET_MAX_C = 1.5
FREEZING_RAIN_MIN_C = -6.0
THUNDER_MIN_C = 16.0
# Mist and fog: air close to saturation (temperature minus dew point) and little wind.
MIST_MAX_DEW_DEPRESSION_C = 1.5
FOG_MAX_DEW_DEPRESSION_C = 0.5
MIST_MAX_WIND_MS = 4.0


def rain_id(rate_mm_h: float) -> int:
    """Rain by intensity: light < 2.5, moderate < 7.6, heavy < 16, very heavy < 50, extreme."""
    if rate_mm_h < 2.5:
        return 500
    if rate_mm_h < 7.6:
        return 501
    if rate_mm_h < 16.0:
        return 502
    if rate_mm_h < 50.0:
        return 503
    return 504


def pick_hour_condition(*, kind: int, rate_mm_h: float, thunder: bool, cloud_fraction: float,
                        dew_depression_c: float, wind_ms: float) -> int:
    """The primary condition id of one hour (``kind`` 0 means no precipitation)."""
    if kind == KIND_RAIN:
        if thunder:
            return 200 if rate_mm_h < 2.5 else 201 if rate_mm_h < 7.6 else 202
        if rate_mm_h < 0.25:
            return 300
        return rain_id(rate_mm_h)
    if kind == KIND_FREEZING_RAIN:
        return 511
    if kind == KIND_SLEET:
        return 612 if rate_mm_h < 0.5 else 611 if rate_mm_h < 2.5 else 613
    if kind == KIND_SNOW:
        return 600 if rate_mm_h < 0.5 else 601 if rate_mm_h < 2.0 else 602
    if dew_depression_c <= MIST_MAX_DEW_DEPRESSION_C and wind_ms < MIST_MAX_WIND_MS:
        return 741 if dew_depression_c <= FOG_MAX_DEW_DEPRESSION_C else 701
    return cloud_id(cloud_fraction)


def cloud_id(cloud_fraction: float) -> int:
    if cloud_fraction <= 0.10:
        return 800
    if cloud_fraction <= 0.25:
        return 801
    if cloud_fraction <= 0.50:
        return 802
    if cloud_fraction <= 0.84:
        return 803
    return 804


def icon(condition_id: int, *, daytime: bool) -> str:
    return CONDITIONS[condition_id].icon + ("d" if daytime else "n")
