"""Deterministic noise: the only source of variety in the synthetic weather.

Every value is a pure function of integers (location keys, time indices, a salt), so the same
request gives the same answer in every process. Python's ``hash()`` is salted per process and is
never used here.
"""

from __future__ import annotations

import math

MASK64 = 0xFFFF_FFFF_FFFF_FFFF
_K1 = 0x9E37_79B9_7F4A_7C15
_K2 = 0xC2B2_AE3D_27D4_EB4F
_K3 = 0x1656_67B1_9E37_79F9
_K4 = 0x27D4_EB2F_1656_67C5
_INV_2_32 = 1.0 / 4_294_967_296.0
_INV_2_16 = 1.0 / 65_536.0
# A logistic variable with this scale has unit variance; it is cheap (one log) and close to normal.
LOGISTIC_SCALE = math.sqrt(3.0) / math.pi


def hash64(a: int, b: int, c: int, salt: int) -> int:
    """A well-mixed 64-bit hash of four integers (splitmix64 finaliser)."""
    x = (a * _K1 + b * _K2 + c * _K3 + salt * _K4) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB) & MASK64
    return x ^ (x >> 31)


def unit(a: int, b: int, c: int, salt: int) -> float:
    """One uniform value in (0, 1)."""
    return ((hash64(a, b, c, salt) >> 32) + 0.5) * _INV_2_32


_TABLE_BITS = 12
# Quantiles of the unit-variance logistic distribution at 4096 equally likely levels: one table
# lookup instead of a logarithm (the values span about -5..5 standard deviations).
LOGISTIC_TABLE: tuple[float, ...] = tuple(
    LOGISTIC_SCALE * math.log((i + 0.5) / ((1 << _TABLE_BITS) - i - 0.5))
    for i in range(1 << _TABLE_BITS)
)
_TABLE_MASK = (1 << _TABLE_BITS) - 1


def logistic_five(h: int) -> tuple[float, float, float, float, float]:
    """Five unit-variance logistic values from the top 60 bits of one hash (12 bits each)."""
    return (
        LOGISTIC_TABLE[h >> 52],
        LOGISTIC_TABLE[(h >> 40) & _TABLE_MASK],
        LOGISTIC_TABLE[(h >> 28) & _TABLE_MASK],
        LOGISTIC_TABLE[(h >> 16) & _TABLE_MASK],
        LOGISTIC_TABLE[(h >> 4) & _TABLE_MASK],
    )


def unit_quad(a: int, b: int, c: int, salt: int) -> tuple[float, float, float, float]:
    """Four independent uniform values in (0, 1) with 16-bit resolution, from one hash."""
    h = hash64(a, b, c, salt)
    return (
        ((h >> 48) + 0.5) * _INV_2_16,
        (((h >> 32) & 0xFFFF) + 0.5) * _INV_2_16,
        (((h >> 16) & 0xFFFF) + 0.5) * _INV_2_16,
        ((h & 0xFFFF) + 0.5) * _INV_2_16,
    )


def smoothstep(f: float) -> float:
    return f * f * (3.0 - 2.0 * f)


def value_noise_2d(x: float, y: float, *, salt: int, wrap_x: int) -> float:
    """Smooth noise in [0, 1] on a unit grid; ``x`` wraps every ``wrap_x`` cells (longitude)."""
    ix = math.floor(x)
    iy = math.floor(y)
    sx = smoothstep(x - ix)
    sy = smoothstep(y - iy)
    x0 = ix % wrap_x
    x1 = (ix + 1) % wrap_x
    v00 = unit(x0, iy, 0, salt)
    v10 = unit(x1, iy, 0, salt)
    v01 = unit(x0, iy + 1, 0, salt)
    v11 = unit(x1, iy + 1, 0, salt)
    bottom = v00 + (v10 - v00) * sx
    top = v01 + (v11 - v01) * sx
    return bottom + (top - bottom) * sy


def interpolation_table(steps: int) -> tuple[tuple[float, float, float], ...]:
    """For each of ``steps`` positions between two knots: the weights of both knots, scaled so that
    blending two independent unit-variance knots keeps unit variance (no lull between knots), and
    the plain smoothstep position."""
    table = []
    for i in range(steps):
        s = smoothstep(i / steps)
        norm = 1.0 / math.sqrt((1.0 - s) ** 2 + s * s)
        table.append(((1.0 - s) * norm, s * norm, s))
    return tuple(table)
