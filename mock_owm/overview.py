"""The human-readable ``weather_overview`` text of ``/data/3.0/onecall/overview``."""

from __future__ import annotations

from mock_owm.conditions import CONDITIONS
from mock_owm.daily import DayAggregate
from mock_owm.derived import humidity_pct
from mock_owm.model import Hour
from mock_owm.units import Units


def overview_text(day: DayAggregate, u: Units, *, current: Hour | None) -> str:
    """Today (``current`` given) opens with the weather now; tomorrow with the outlook only."""
    sentences: list[str] = []
    if current is not None:
        sentences.append(
            f"The current weather is {CONDITIONS[current.weather_id].description} with a "
            f"temperature of {u.temp(current.temp_c):.0f}{u.temp_symbol}, humidity of "
            f"{humidity_pct(current.temp_c, current.dew_point_c)}% and wind of "
            f"{u.speed(current.wind_ms):.1f} {u.speed_symbol}."
        )
    when = "Today" if current is not None else "Tomorrow"
    sentences.append(
        f"{when}, expect {CONDITIONS[day.weather_id].description} with temperatures between "
        f"{u.temp(day.temp_min_c):.0f}{u.temp_symbol} and {u.temp(day.temp_max_c):.0f}"
        f"{u.temp_symbol}."
    )
    if day.precip_mm > 0.0:
        sentences.append(f"Total precipitation will be about {day.precip_mm:.1f} mm.")
    else:
        sentences.append("No precipitation is expected.")
    if day.gust_max_ms >= 15.0:
        sentences.append(f"Gusts may reach {u.speed(day.gust_max_ms):.0f} {u.speed_symbol}.")
    return " ".join(sentences)
