"""Rain history over hourly slots (offset 0 = the evaluation hour): rolling sums, the last
significant rain, the storm it belongs to, and dry spells.

Amounts are rounded to ``MM_DECIMALS`` so that float sums compare exactly at a threshold
(twelve hours of 1.05 mm are 12.6 mm, not 12.600000000000001 mm).
"""

from __future__ import annotations

MM_DECIMALS = 6
DAY_H = 24


def window_sum_mm(values_mm: list[float], window_h: int) -> float:
    """The sum of the newest ``window_h`` slots."""
    return round(sum(values_mm[:window_h]), MM_DECIMALS)


def rolling_day_mm(liquid_mm: list[float]) -> list[float]:
    """For each offset, the sum of that slot and the 23 older ones (a trailing 24 h total)."""
    span = len(liquid_mm)
    totals = [0.0] * span
    running = 0.0
    for offset in range(span - 1, -1, -1):
        running += liquid_mm[offset]
        if offset + DAY_H < span:
            running -= liquid_mm[offset + DAY_H]
        totals[offset] = round(running, MM_DECIMALS)
    return totals


def latest_rain_reaching(
    liquid_mm: list[float], day_mm: list[float], *, measurable_mm: float, day_total_mm: float
) -> int | None:
    """Offset of the newest hour with measurable rain whose trailing 24 h total reached
    ``day_total_mm``, or ``None``."""
    for offset, amount in enumerate(liquid_mm):
        if amount >= measurable_mm and day_mm[offset] >= day_total_mm:
            return offset
    return None


def storm_start(liquid_mm: list[float], last_rain: int, *, measurable_mm: float, gap_h: int) -> int:
    """Offset of the first hour of the storm that ends at ``last_rain``: older rain belongs to it
    while the dry (or missing) gaps between rainy hours are shorter than ``gap_h``."""
    start = last_rain
    dry_h = 0
    for offset in range(last_rain + 1, len(liquid_mm)):
        if liquid_mm[offset] >= measurable_mm:
            start = offset
            dry_h = 0
        else:
            dry_h += 1
            if dry_h >= gap_h:
                break
    return start


def longest_dry_run_h(
    liquid_mm: list[float], present: list[bool], *, after: int, measurable_mm: float
) -> int:
    """The longest run of consecutive hours without measurable rain after offset ``after``.

    Missing hours neither extend nor break a run (they are not evidence of rain).
    """
    longest = run = 0
    for offset in range(after - 1, -1, -1):
        if not present[offset]:
            continue
        if liquid_mm[offset] >= measurable_mm:
            run = 0
        else:
            run += 1
            longest = max(longest, run)
    return longest
