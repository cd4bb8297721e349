"""What a rule hands back when it fires: the label, its rule id, and the evidence behind it.

Each piece of evidence is a contract :class:`Reason` plus two facts the confidence needs:
whether forecast records went into the value, and whether the value is *graded* (a measured
amount whose closeness to the threshold makes the call shaky) rather than a count of events.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.categorize.contract import Label, Reason

UNIT_MM = "mm"
UNIT_C = "°C"
UNIT_H = "h"
UNIT_RATIO = "ratio"
UNIT_COUNT = "count"
UNIT_DAYS = "days"
UNIT_M3_M3 = "m³/m³"


@dataclass(frozen=True, slots=True)
class Evidence:
    reason: Reason
    forecast: bool
    graded: bool = True


def evidence(
    metric: str,
    value: float,
    comparison: str,
    threshold: float,
    unit: str,
    *,
    forecast: bool,
    graded: bool = True,
) -> Evidence:
    """``metric`` (``value``) ``comparison`` ``threshold`` held, e.g. ``p24_mm 14.2 >= 12.7``."""
    reason = Reason(
        metric=metric,
        value=float(value),
        threshold=float(threshold),
        unit=unit,
        comparison=comparison,
    )
    return Evidence(reason=reason, forecast=forecast, graded=graded)


@dataclass(frozen=True, slots=True)
class Decision:
    """The rule that fired. ``snowfall_only``: the label rests on snowfall alone (no depth)."""

    label: Label
    rule_id: str
    evidence: tuple[Evidence, ...]
    snowfall_only: bool = False

    @property
    def forecast(self) -> bool:
        return any(item.forecast for item in self.evidence)
