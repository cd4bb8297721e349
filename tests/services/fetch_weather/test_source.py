"""Choosing a weather source: WEATHER_SOURCE names a built-in one or an import path; each
mistake is one clear line."""

from __future__ import annotations

from typing import Any

import pytest

from etl_core.errors import ConfigurationError
from services.fetch_weather.open_meteo.source import OpenMeteoSource
from services.fetch_weather.owm.source import OwmSource
from services.fetch_weather.settings import FetchWeatherSettings
from services.fetch_weather.source import (
    RateLimits,
    SourceAnswer,
    SourceProfile,
    SourceRequest,
    WeatherSource,
    source_class,
)
from tests.services.pipeline.helpers import fetch_settings


class ConstantSource:
    """A source of one's own, as a team adding a provider would write it."""

    def __init__(self, profile: SourceProfile) -> None:
        self.profile = profile

    @classmethod
    def describe(cls, settings: FetchWeatherSettings) -> SourceProfile:
        return SourceProfile(
            name="constant",
            limiter="constant",
            breaker="constant",
            limits=RateLimits(per_minute=10),
            breaker_options=settings.owm_breaker_options(),
        )

    @classmethod
    def open(cls, settings: FetchWeatherSettings, **_: Any) -> ConstantSource:
        return cls(cls.describe(settings))

    async def fetch(self, request: SourceRequest) -> SourceAnswer:
        raise NotImplementedError


class NotASource:
    pass


def test_the_built_in_sources_are_named_by_their_short_names() -> None:
    assert source_class("owm") is OwmSource
    assert source_class("open-meteo") is OpenMeteoSource


def test_an_import_path_names_a_source_of_ones_own() -> None:
    path = f"{__name__}:ConstantSource"
    cls = source_class(path)
    assert cls is ConstantSource
    source = cls.open(fetch_settings(weather_source=path), http=None, gate=None, profile=None)
    assert isinstance(source, WeatherSource)
    assert source.profile.limits.per_minute == 10


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("darksky", "is neither open-meteo nor owm nor an import path"),
        ("no_such_module_here:Source", "cannot import 'no_such_module_here'"),
        (f"{__name__}:Missing", "has no 'Missing'"),
        (f"{__name__}:NotASource", "lacks describe, open"),
    ],
)
def test_a_wrong_name_is_one_clear_error(name: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        source_class(name)


def test_owm_needs_its_key_and_open_meteo_needs_none() -> None:
    with pytest.raises(ConfigurationError, match=r"OWM_API_KEY: .*required when WEATHER_SOURCE"):
        fetch_settings(owm_api_key=None)
    settings = fetch_settings(owm_api_key=None, weather_source="open-meteo")
    assert settings.open_meteo_api_key is None


def test_the_sources_profiles_carry_their_providers_limits() -> None:
    settings = fetch_settings(weather_source="open-meteo")
    owm = OwmSource.describe(settings)
    meteo = OpenMeteoSource.describe(settings)
    assert (owm.limits.per_minute, owm.limits.per_day) == (1000, 10_000)
    assert meteo.limits == RateLimits(per_minute=600, per_hour=5000, per_day=10_000)
    assert {owm.limiter, owm.breaker} == {"owm"}  # the Redis keys operators already have
    assert {meteo.limiter, meteo.breaker} == {"open-meteo"}


def test_history_settings_are_checked_together() -> None:
    with pytest.raises(ConfigurationError, match=r"FETCH_MIN_OBSERVED_H .* cannot exceed"):
        fetch_settings(fetch_history_h=24, fetch_min_observed_h=48)
