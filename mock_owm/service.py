"""Everything one mock instance holds: its configuration, quotas, statistics and generator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from etl_core.logging import get_logger
from mock_owm.auth import generate_admin_token
from mock_owm.faults import FaultInjector
from mock_owm.forecast import Forecaster
from mock_owm.open_meteo_quota import OpenMeteoQuota
from mock_owm.open_meteo_render import OpenMeteoResponder
from mock_owm.ratelimit import QuotaLimiter
from mock_owm.responder import Responder
from mock_owm.runtime import RuntimeConfig
from mock_owm.settings import MockOwmSettings
from mock_owm.stats import Stats

log = get_logger(__name__, component="mock_owm")


class MockOwm:
    def __init__(self, settings: MockOwmSettings) -> None:
        self.settings = settings
        token = settings.admin_token
        self.admin_token = token.get_secret_value() if token is not None else generate_admin_token()
        self.admin_token_generated = token is None
        self.initial_config = settings.runtime_config()
        self.config = self.initial_config
        self.limiter = QuotaLimiter()
        self.stats = Stats()
        self.faults = FaultInjector(self.config.seed)
        self.forecaster = Forecaster(day_cache=settings.day_cache)
        self.responder = Responder(self.forecaster, fragment_cache=settings.fragment_cache)
        # Open-Meteo's /v1/forecast reads the same hours as the OWM endpoints.
        self.open_meteo = OpenMeteoResponder(self.forecaster)
        self.open_meteo_quota = OpenMeteoQuota()
        # Quotas and statistics run on real elapsed time, even when the weather clock is fixed;
        # tests may replace these clocks.
        self.monotonic: Callable[[], float] = time.monotonic
        self.wall_clock: Callable[[], float] = time.time

    def update_config(self, changes: dict[str, Any]) -> RuntimeConfig:
        """Apply a ``POST /__faults`` body; raises ``pydantic.ValidationError``."""
        new = self.config.updated(changes)
        self.config = new
        if "seed" in changes:
            self.faults.reseed(new.seed)
        log.info("mock_owm.faults_updated", changes=sorted(changes))
        return new

    def reset_config(self) -> RuntimeConfig:
        """Back to the start-up configuration (the fault randomness is reseeded too)."""
        self.config = self.initial_config
        self.faults.reseed(self.config.seed)
        log.info("mock_owm.faults_reset")
        return self.config
