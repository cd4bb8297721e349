"""The OWM limiter counts the per-minute permits over 60 s + OWM_RATE_LIMIT_MARGIN_MS as well, so a
call delayed on its way cannot land more than the limit into any 60 s the provider counts."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.errors import ConfigurationError
from etl_core.ratelimit import MINUTE_MS
from services.fetch_weather.wiring import rate_limiter
from tests.services.pipeline.helpers import fetch_settings

PER_MINUTE = 5


async def test_the_minute_is_counted_with_its_margin(aredis: Any) -> None:
    limiter = rate_limiter(
        aredis, fetch_settings(owm_rate_limit_per_minute=PER_MINUTE, owm_rate_limit_margin_ms=2000)
    )
    assert limiter.windows == ((MINUTE_MS, PER_MINUTE), (MINUTE_MS + 2000, PER_MINUTE))
    for _ in range(PER_MINUTE):
        assert (await limiter.try_acquire()).admitted
    refused = await limiter.try_acquire()
    assert not refused.admitted
    # the next permit frees when the first leaves the longer window, not the 60 s one
    assert 61.5 < refused.wait_s <= 62.0
    usage = await limiter.usage()
    assert usage.per_minute == PER_MINUTE and usage.used_this_minute == PER_MINUTE


async def test_no_margin_means_the_plain_minute(aredis: Any) -> None:
    limiter = rate_limiter(aredis, fetch_settings(owm_rate_limit_margin_ms=0))
    assert limiter.windows == ((MINUTE_MS, 1000),)


def test_a_margin_past_a_minute_is_refused_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="OWM_RATE_LIMIT_MARGIN_MS"):
        fetch_settings(owm_rate_limit_margin_ms=90_000)
