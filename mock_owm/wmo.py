"""WMO weather interpretation codes (Open-Meteo's ``weather_code``) for OWM condition ids.

Open-Meteo answers only the codes of ``OPEN_METEO_CODES`` (its documentation's table), so every
OpenWeatherMap id maps into that set, intensity kept where both scales have it:

* 0 clear, 1 mainly clear, 2 partly cloudy, 3 overcast;
* 45 fog (Open-Meteo has no code for mist or haze: fog is the nearest);
* 51/53/55 drizzle, 61/63/65 rain, 66/67 freezing rain, 80/81/82 rain showers;
* 71/73/75 snow, 85/86 snow showers; sleet (rain and snow together) is given the snow code of its
  intensity, as the frozen part is what a trail cares about and WMO's mixed codes (68, 69) are not
  among Open-Meteo's;
* 95 thunderstorm (96/99 need hail, which the mock never makes).
"""

from __future__ import annotations

OPEN_METEO_CODES = frozenset({0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73,
                              75, 77, 80, 81, 82, 85, 86, 95, 96, 99})

WMO_BY_OWM_ID: dict[int, int] = {
    200: 95, 201: 95, 202: 95, 210: 95, 211: 95, 212: 95, 221: 95, 230: 95, 231: 95, 232: 95,
    300: 51, 301: 53, 302: 55, 310: 51, 311: 53, 312: 55, 313: 81, 314: 82, 321: 80,
    500: 61, 501: 63, 502: 65, 503: 65, 504: 65,
    511: 66,
    520: 80, 521: 81, 522: 82, 531: 81,
    600: 71, 601: 73, 602: 75,
    611: 73, 612: 71, 613: 75, 615: 71, 616: 73,
    620: 85, 621: 85, 622: 86,
    701: 45, 711: 45, 721: 45, 731: 45, 741: 45, 751: 45, 761: 45, 762: 45,
    771: 3, 781: 95,
    800: 0, 801: 1, 802: 2, 803: 2, 804: 3,
}


def wmo_code(owm_id: int) -> int:
    return WMO_BY_OWM_ID[owm_id]
