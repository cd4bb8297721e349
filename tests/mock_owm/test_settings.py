"""MOCK_OWM_* environment settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from etl_core.errors import ConfigurationError
from mock_owm.app import create_app
from mock_owm.settings import MockOwmSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = MockOwmSettings.load()
    assert settings.api_keys == ("mock-owm-key",)
    assert settings.now is None and settings.seed is None
    assert settings.rate_limit_per_minute is None and settings.rate_limit_per_day is None
    assert settings.timeout_s == 30.0
    assert settings.error_rate == settings.timeout_rate == settings.malformed_rate == 0.0
    assert settings.rate_429 == 0.0 and settings.latency_ms == 0.0
    assert settings.admin_token is None  # the mock makes one


def test_everything_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "MOCK_OWM_API_KEYS": "alpha, beta,,alpha",
        "MOCK_OWM_NOW": "2024-05-01T06:30:00",
        "MOCK_OWM_SEED": "9",
        "MOCK_OWM_ERROR_RATE": "0.1",
        "MOCK_OWM_LATENCY_MS": "15",
        "MOCK_OWM_TIMEOUT_RATE": "0.05",
        "MOCK_OWM_TIMEOUT_S": "2.5",
        "MOCK_OWM_MALFORMED_RATE": "0.02",
        "MOCK_OWM_429_RATE": "0.25",
        "MOCK_OWM_RETRY_AFTER_S": "600",
        "MOCK_OWM_RATE_LIMIT_PER_MINUTE": "60",
        "MOCK_OWM_RATE_LIMIT_PER_DAY": "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = MockOwmSettings.load()
    assert s.api_keys == ("alpha", "beta")
    assert s.now == datetime(2024, 5, 1, 6, 30, tzinfo=UTC)  # naive means UTC
    assert (s.seed, s.error_rate, s.latency_ms, s.timeout_rate, s.timeout_s) == (
        9, 0.1, 15.0, 0.05, 2.5)
    assert (s.malformed_rate, s.rate_429, s.retry_after_s) == (0.02, 0.25, 600)
    assert (s.rate_limit_per_minute, s.rate_limit_per_day) == (60, None)
    public = s.runtime_config().public()
    assert public["429_rate"] == 0.25 and public["api_keys"] == ["alpha", "beta"]
    assert public["now"] == "2024-05-01T06:30:00Z"
    assert create_app().state.mock.config == s.runtime_config()  # create_app reads the env


@pytest.mark.parametrize(("name", "value"), [
    ("MOCK_OWM_ERROR_RATE", "2"),
    ("MOCK_OWM_429_RATE", "abc"),
    ("MOCK_OWM_TIMEOUT_S", "0"),
    ("MOCK_OWM_RATE_LIMIT_PER_MINUTE", "0"),
    ("MOCK_OWM_API_KEYS", " , "),
    ("MOCK_OWM_NOW", "yesterday"),
    ("MOCK_OWM_LATENCY_MS", "-5"),
    # Every knob is bounded above too.
    ("MOCK_OWM_LATENCY_MS", "1e12"),
    ("MOCK_OWM_LATENCY_MS", "nan"),
    ("MOCK_OWM_TIMEOUT_S", "1e9"),
    ("MOCK_OWM_RETRY_AFTER_S", "10000000000"),
    ("MOCK_OWM_RATE_LIMIT_PER_MINUTE", "100000000000"),
    ("MOCK_OWM_RATE_LIMIT_PER_DAY", "100000000000"),
    ("MOCK_OWM_RATE_LIMIT_WINDOW_S", "1e6"),
    ("MOCK_OWM_SEED", "-1"),
    ("MOCK_OWM_SEED", str(2**64)),
    ("MOCK_OWM_NOW", "2200-01-01T00:00:00Z"),
    ("MOCK_OWM_DAY_CACHE", "1000000000"),
    ("MOCK_OWM_FRAGMENT_CACHE", "1000000000"),
    ("MOCK_OWM_API_KEYS", "a key with spaces"),
    ("MOCK_OWM_LOG_LEVEL", "LOUD"),
])
def test_a_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as excinfo:
        MockOwmSettings.load()
    assert name in str(excinfo.value)
    assert "MOCK_OWM_MOCK_OWM" not in str(excinfo.value)


def test_fault_shares_cannot_pass_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_OWM_ERROR_RATE", "0.7")
    monkeypatch.setenv("MOCK_OWM_TIMEOUT_RATE", "0.4")
    with pytest.raises(ConfigurationError, match="must not exceed 1"):
        MockOwmSettings.load()
