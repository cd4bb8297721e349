"""schedule-jobs settings: the outbox's replication wait (OUTBOX_WAIT_REPLICAS, ..._TIMEOUT_MS)."""

from __future__ import annotations

import pytest

from etl_core.errors import ConfigurationError
from etl_core.replication import ReplicationWait
from services.schedule_jobs.settings import ScheduleSettings
from services.schedule_jobs.wiring import schedule_options
from tests.services.conftest import WS_API_KEY


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHER_SERVICE_API_KEY", WS_API_KEY)
    for name in ("OUTBOX_WAIT_REPLICAS", "OUTBOX_WAIT_TIMEOUT_MS", "REDIS_UNAVAILABLE_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)


def test_by_default_the_outbox_waits_for_every_connected_replica() -> None:
    settings = ScheduleSettings.load()
    assert settings.replication_wait() == ReplicationWait(
        replicas=None, timeout_ms=5000, give_up_after_s=60.0
    )
    assert schedule_options(settings).replication == settings.replication_wait()


@pytest.mark.parametrize(("value", "replicas"), [("auto", None), ("0", 0), ("2", 2)])
def test_auto_none_or_a_number(monkeypatch: pytest.MonkeyPatch, value: str, replicas: int) -> None:
    monkeypatch.setenv("OUTBOX_WAIT_REPLICAS", value)
    monkeypatch.setenv("OUTBOX_WAIT_TIMEOUT_MS", "250")
    monkeypatch.setenv("REDIS_UNAVAILABLE_TIMEOUT_S", "12")
    wait = ScheduleSettings.load().replication_wait()
    assert wait == ReplicationWait(replicas=replicas, timeout_ms=250, give_up_after_s=12.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTBOX_WAIT_REPLICAS", "-1"),
        ("OUTBOX_WAIT_REPLICAS", "all"),
        ("OUTBOX_WAIT_TIMEOUT_MS", "0"),
        # A WAIT must end before the scheduler's 30 s socket timeout gives up on its reply.
        ("OUTBOX_WAIT_TIMEOUT_MS", "25000"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        ScheduleSettings.load()
