"""Quantities derived from an hour's temperature, dew point, wind, cloud and sun."""

from __future__ import annotations

import math

_MAGNUS_A = 17.625
_MAGNUS_B_C = 243.04


_MAGNUS_E0_HPA = 6.1094


def humidity_pct(temp_c: float, dew_point_c: float) -> int:
    """Relative humidity from temperature and dew point (Magnus formula), 1..100 %."""
    ratio = math.exp(_MAGNUS_A * dew_point_c / (_MAGNUS_B_C + dew_point_c)
                     - _MAGNUS_A * temp_c / (_MAGNUS_B_C + temp_c))
    return max(1, min(100, int(ratio * 100.0 + 0.5)))


def feels_like_c(temp_c: float, dew_point_c: float, wind_ms: float) -> float:
    """Steadman's apparent temperature (the Australian Bureau of Meteorology formula); the vapour
    pressure is the saturation pressure at the dew point."""
    vapour_hpa = _MAGNUS_E0_HPA * math.exp(_MAGNUS_A * dew_point_c / (_MAGNUS_B_C + dew_point_c))
    return temp_c + 0.33 * vapour_hpa - 0.70 * wind_ms - 4.00


def uv_index(sun_sine: float, clouds_pct: int, elevation_m: float) -> float:
    """UV index: about 12 with the sun overhead and a clear sky; less under cloud, more up high."""
    if sun_sine <= 0.0:
        return 0.0
    cloud = clouds_pct / 100.0
    value = 12.0 * sun_sine**1.4 * (1.0 - 0.7 * cloud * cloud) * (1.0 + elevation_m / 8000.0)
    return round(value, 2)
