"""Settings errors name every bad variable, and never echo a secret's value."""

from __future__ import annotations

import pytest
from pydantic import Field

from etl_core.errors import ConfigurationError
from etl_core.settings import ServiceSettings


class ExampleSettings(ServiceSettings):
    redis_url: str = Field(pattern=r"^redis://")
    worker_concurrency: int = Field(default=8, ge=1)
    owm_api_key: str = Field(min_length=16)


def test_every_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "http://nope")
    monkeypatch.setenv("WORKER_CONCURRENCY", "0")
    monkeypatch.setenv("OWM_API_KEY", "short-secret")
    with pytest.raises(ConfigurationError) as info:
        ExampleSettings.load()
    message = str(info.value)
    assert "REDIS_URL" in message and "'http://nope'" in message
    assert "WORKER_CONCURRENCY" in message and "greater than or equal to 1" in message
    assert "OWM_API_KEY" in message and "short-secret" not in message


def test_a_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://x")
    monkeypatch.delenv("OWM_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OWM_API_KEY: Field required"):
        ExampleSettings.load()


def test_overrides_win_and_an_unknown_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://from-env")
    monkeypatch.setenv("OWM_API_KEY", "k" * 16)
    monkeypatch.setenv("SOME_OTHER_PROGRAMS_SETTING", "x")  # the environment's extras are fine
    loaded = ExampleSettings.load(worker_concurrency=3)
    assert (loaded.redis_url, loaded.worker_concurrency) == ("redis://from-env", 3)
    unknown = r"ExampleSettings\.load: unknown settings worker_concurency"
    with pytest.raises(TypeError, match=unknown):
        ExampleSettings.load(worker_concurency=3)
