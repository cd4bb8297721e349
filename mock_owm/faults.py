"""Fault injection: which requests hang, get a 429, a 5xx, or a truncated 200 body.

Each fault kind takes an exclusive share of requests (``timeout_rate``, ``429_rate``,
``error_rate``, ``malformed_rate``; together at most 1), so each configured fraction is exact in
expectation.
Randomness comes from ``random.Random(seed)``: seeded runs repeat.
"""

from __future__ import annotations

import random
from enum import StrEnum

from mock_owm.runtime import RuntimeConfig

SERVER_ERROR_CODES = (500, 502, 503)


class Fault(StrEnum):
    TIMEOUT = "timeout"
    TOO_MANY_REQUESTS = "too_many_requests"
    SERVER_ERROR = "server_error"
    MALFORMED = "malformed"


class FaultInjector:
    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        self._rng.seed(seed)

    def draw(self, cfg: RuntimeConfig) -> Fault | None:
        """The fault for one request, or None; draws nothing when no fault is configured."""
        if not (cfg.timeout_rate or cfg.rate_429 or cfg.error_rate or cfg.malformed_rate):
            return None
        u = self._rng.random()
        edge = cfg.timeout_rate
        if u < edge:
            return Fault.TIMEOUT
        edge += cfg.rate_429
        if u < edge:
            return Fault.TOO_MANY_REQUESTS
        edge += cfg.error_rate
        if u < edge:
            return Fault.SERVER_ERROR
        edge += cfg.malformed_rate
        if u < edge:
            return Fault.MALFORMED
        return None

    def server_error_code(self) -> int:
        return self._rng.choice(SERVER_ERROR_CODES)

    def truncate(self, body: bytes) -> bytes:
        """A proper prefix of a JSON object, which is never valid JSON."""
        if len(body) < 2:
            return b"{"
        return body[: self._rng.randint(1, len(body) - 1)]
