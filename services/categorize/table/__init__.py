"""The default rule table, in order; the first rule that fires decides the label.

Each rule returns a :class:`Decision` with the evidence that decided it, or ``None``. Rules of an
"or" list their alternatives that held, so the reasons show every cause present.
"""

from __future__ import annotations

from collections.abc import Callable

from services.categorize.evidence import UNIT_COUNT, Decision, evidence
from services.categorize.features import Features
from services.categorize.table.cold import (
    icy_freezing_rain,
    icy_frozen_wet_ground,
    icy_snow_freeze_thaw,
    snow_fresh,
    snow_swe,
)
from services.categorize.table.muddy import (
    muddy_deluge,
    muddy_drying,
    muddy_p24,
    muddy_p48,
    muddy_saturated,
    muddy_thaw,
)
from services.categorize.table.wet import (
    dry_default,
    wet_drying,
    wet_p72,
    wet_raining,
    wet_recent_rain,
)
from services.categorize.thresholds import RuleThresholds

Rule = Callable[[Features, RuleThresholds], Decision | None]


def insufficient_data(records_72h: int, t: RuleThresholds) -> Decision:
    """``unknown.insufficient_data``: fewer than ``min_records_72h`` records in the last 72 h."""
    found = evidence(
        "records_72h",
        records_72h,
        "<",
        t.min_records_72h,
        UNIT_COUNT,
        forecast=False,
        graded=False,
    )
    return Decision("unknown", "unknown.insufficient_data", (found,))


RULES: tuple[Rule, ...] = (
    icy_freezing_rain,
    icy_frozen_wet_ground,
    icy_snow_freeze_thaw,
    snow_swe,
    snow_fresh,
    muddy_p24,
    muddy_p48,
    muddy_drying,
    muddy_thaw,
    muddy_deluge,
    muddy_saturated,
    wet_raining,
    wet_p72,
    wet_drying,
    wet_recent_rain,
)


def decide(f: Features, t: RuleThresholds) -> Decision:
    """The first rule of :data:`RULES` that fires, else ``dry.default``."""
    for rule in RULES:
        decision = rule(f, t)
        if decision is not None:
            return decision
    return dry_default(f, t)
