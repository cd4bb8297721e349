"""How a shared rate limiter lowers its admission rate when the service keeps refusing its permits,
and climbs back: multiplicative decrease on evidence, additive (linear) increase with time.

Our limits are our view of the service's quota. A refusal by the service (an HTTP 429) for a call
our limiter admitted says that view may be wrong: another client may share the quota, or the plan
may be smaller than configured. One refusal says little (services refuse the odd call whatever the
rate), so the rate is lowered only on evidence that refusals keep coming; and every replica sees
the same factor, so they all slow down together. The rule and its state live in
``scripts/rate_limit.lua``; this module holds its options.
"""

from __future__ import annotations

from dataclasses import dataclass

PPM = 1_000_000  # the script keeps factors in whole parts per million: 1_000_000 = full rate

DEFAULT_EVIDENCE_WINDOW_MS = 60_000
# A 5% background of stray refusals at 60 permits a minute is 3 a minute: needing 5 refusals and
# 20% of the admitted permits (four times that background) makes a decrease from noise alone
# very unlikely (for 60 a minute, 12 or more of 60 at 5%: p < 1e-4).
DEFAULT_MIN_REFUSALS = 5
DEFAULT_MIN_REFUSAL_SHARE = 0.2
DEFAULT_DECREASE = 0.5
DEFAULT_MIN_FACTOR = 0.1
DEFAULT_RECOVERY_S = 300.0


@dataclass(frozen=True)
class AdaptiveAdmission:
    """When and how far a limiter lowers every window limit by a shared admission factor.

    ``evidence_window_ms``: refusals of permits admitted this long ago or less are the evidence
    (the limiter needs a sliding window at least this long, whose admissions are counted against
    them). The factor is lowered, by ``decrease`` (times), when a refusal's permit was admitted
    after the last decrease and, among the permits admitted since the later of the last decrease
    and the start of the evidence window, at least ``min_refusals`` and ``min_refusal_share`` of
    them were refused. It never goes below ``min_factor`` (every window keeps at least 1 permit),
    and climbs back linearly: from ``min_factor`` to 1 in ``recovery_s``, from a higher factor
    sooner. ``min_factor=1`` never lowers (refusals are still counted).
    """

    evidence_window_ms: int = DEFAULT_EVIDENCE_WINDOW_MS
    min_refusals: int = DEFAULT_MIN_REFUSALS
    min_refusal_share: float = DEFAULT_MIN_REFUSAL_SHARE
    decrease: float = DEFAULT_DECREASE
    min_factor: float = DEFAULT_MIN_FACTOR
    recovery_s: float = DEFAULT_RECOVERY_S

    def __post_init__(self) -> None:
        window_ms = self.evidence_window_ms
        checks = [
            ("evidence_window_ms", _is_int(window_ms) and window_ms > 0),
            ("min_refusals", _is_int(self.min_refusals) and self.min_refusals >= 1),
            ("min_refusal_share", 0.0 <= self.min_refusal_share <= 1.0),
            ("decrease", 0.0 < self.decrease < 1.0),
            ("min_factor", 0.0 < self.min_factor <= 1.0),
            ("recovery_s", self.recovery_s > 0.0),
        ]
        for name, ok in checks:
            if not ok:
                value = getattr(self, name)
                raise ValueError(f"adaptive admission {name} is out of range: {value!r}")
        if _ppm(self.min_factor) < 1:
            raise ValueError(f"adaptive admission min_factor is too small: {self.min_factor!r}")

    def script_args(self, evidence_window_index: int) -> list[str]:
        """ARGV[6..12] of ``rate_limit.lua``; ``evidence_window_index`` is 1-based."""
        return [
            str(self.evidence_window_ms),
            str(evidence_window_index),
            str(self.min_refusals),
            repr(float(self.min_refusal_share)),
            str(_ppm(self.decrease)),
            str(_ppm(self.min_factor)),
            str(round(self.recovery_s * 1000)),
        ]


# ARGV[6..12] of a limiter that does not adapt: no evidence window, never lowered.
NOT_ADAPTIVE_ARGS = ["0", "1", "1", "1.0", "0", str(PPM), "1"]


def effective_limit(limit: int, factor_ppm: int) -> int:
    """A window's limit under the factor, exactly as the script computes it."""
    return max(1, limit * factor_ppm // PPM)


def _ppm(fraction: float) -> int:
    return round(fraction * PPM)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
