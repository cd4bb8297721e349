"""URL passwords are redacted wherever they appear; everything else is kept."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from etl_core.logging import configure_logging
from etl_core.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:S3cret-pass!@127.0.0.1:19382/0", "redis://:***@127.0.0.1:19382/0"),
        ("redis://app:pw@redis:6379/0", "redis://app:***@redis:6379/0"),
        ("rediss://app:p@ss:w/rd@redis.example:6380", "rediss://app:***@redis.example:6380"),
        ("redis://only-a-name@host/0", "redis://***@host/0"),
        ("redis://host:6379/0?password=pw&db=1", "redis://host:6379/0?password=***&db=1"),
        ("unix:///run/redis.sock?db=0&password=pw", "unix:///run/redis.sock?db=0&password=***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_every_url_in_a_text_is_redacted_and_the_rest_kept() -> None:
    text = "REDIS_URL: bad (got 'rediz://:pw1@a:1/0'); also http://u:pw2@b/x?token=pw3 here"
    shown = redact_text(text)
    assert not any(secret in shown for secret in ("pw1", "pw2", "pw3"))
    assert shown == (
        "REDIS_URL: bad (got 'rediz://:***@a:1/0'); also http://u:***@b/x?token=*** here"
    )


def test_log_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    structlog.get_logger("test").warning("redis_error", error="at redis://:hunter2@h:1/0")
    err = capsys.readouterr().err
    assert "hunter2" not in err
    (line,) = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert line["error"] == "at redis://:***@h:1/0"


def test_standard_library_records_are_redacted_by_every_root_handler() -> None:
    configure_logging(json=True)
    configure_logging(json=True)  # again: still one filter per handler
    handlers = logging.getLogger().handlers
    assert handlers
    for handler in handlers:
        record = logging.LogRecord(
            "redis", logging.WARNING, __file__, 1, "url %s", ("redis://:hunter3@h:1/0",), None
        )
        assert handler.filter(record)
        assert record.getMessage() == "url redis://:***@h:1/0"
        assert len(handler.filters) == 1
