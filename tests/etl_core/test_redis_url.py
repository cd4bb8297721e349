"""The Sentinel form of ``REDIS_URL``: what it parses into, what is refused and how, and that
neither a refusal nor a redacted URL shows the password."""

from __future__ import annotations

import pytest

from etl_core.errors import ConfigurationError
from etl_core.redact import redact_url
from etl_core.redis_url import (
    DEFAULT_SENTINEL_PORT,
    RedisUrlError,
    SentinelUrl,
    is_sentinel_url,
    parse_sentinel_url,
)
from services.cli.settings import CliSettings

SECRET = "s3cr3t-P@ss"
PLAIN_SECRET = "hunter2-plain"  # no "@": the URL around it keeps its shape


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        (
            "redis+sentinel://s1:26379,s2:26380,s3:26381/trail-etl/2",
            SentinelUrl(
                sentinels=(("s1", 26379), ("s2", 26380), ("s3", 26381)),
                master_name="trail-etl",
                db=2,
            ),
        ),
        (
            "redis+sentinel://sentinel.redis.svc/mymaster",
            SentinelUrl(
                sentinels=(("sentinel.redis.svc", DEFAULT_SENTINEL_PORT),), master_name="mymaster"
            ),
        ),
        (
            "rediss+sentinel://app:pw@10.0.0.1:5000,[::1]:5001/m.a_s-t/",
            SentinelUrl(
                sentinels=(("10.0.0.1", 5000), ("::1", 5001)),
                master_name="m.a_s-t",
                username="app",
                password="pw",
                tls=True,
            ),
        ),
        (
            # The userinfo ends at the last '@': a password may hold '@', '/', ',' and ':'.
            "redis+sentinel://:p@ss/w,o:rd@h:1/m/0",
            SentinelUrl(sentinels=(("h", 1),), master_name="m", password="p@ss/w,o:rd"),
        ),
        (
            "REDIS+SENTINEL://:%40%25@h:1/m",
            SentinelUrl(sentinels=(("h", 1),), master_name="m", password="@%"),
        ),
    ],
)
def test_good_forms_parse(url: str, parsed: SentinelUrl) -> None:
    assert is_sentinel_url(url)
    assert parse_sentinel_url(url) == parsed


def test_the_password_is_not_in_the_repr() -> None:
    parsed = parse_sentinel_url(f"redis+sentinel://app:{SECRET}@h:1/m")
    assert parsed.password == SECRET and SECRET not in repr(parsed)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"redis+sentinel://:{SECRET}@/m", "no sentinel host:port"),
        (f"redis+sentinel://:{SECRET}@h:1", "no master name"),
        (f"redis+sentinel://:{SECRET}@h:1/", "no master name"),
        (f"redis+sentinel://:{SECRET}@h:port/m", "sentinel address 1 has a bad port"),
        (f"redis+sentinel://:{SECRET}@h:1,h:70000/m", "sentinel address 2 has a bad port"),
        (f"redis+sentinel://:{SECRET}@h:1,,h:2/m", "sentinel address 2 is not host:port"),
        (f"redis+sentinel://:{SECRET}@h:1/m/one", "db after the master name is not a number"),
        (f"redis+sentinel://:{SECRET}@h:1/m/0/extra", "db after the master name is not a number"),
        (f"redis+sentinel://:{SECRET}@h:1/m?db=1", "no query"),
        (f"redis+sentinel://:{SECRET}@h:1/m a/0", "master name may hold only"),
        # A mistyped URL whose password lands where the port belongs is still not echoed.
        (f"redis+sentinel://user:{PLAIN_SECRET}/m", "bad port"),
    ],
)
def test_bad_forms_say_what_is_wrong_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(RedisUrlError, match=problem) as info:
        parse_sentinel_url(url)
    assert SECRET not in str(info.value) and PLAIN_SECRET not in str(info.value)


@pytest.mark.parametrize(
    "url", ["redis://h:6379/0", "rediss://h", "unix:///r.sock", "sentinel://h"]
)
def test_other_urls_are_not_the_sentinel_form(url: str) -> None:
    assert not is_sentinel_url(url)


def test_a_bad_sentinel_url_is_one_settings_line_naming_redis_url() -> None:
    with pytest.raises(ConfigurationError) as info:
        CliSettings.load(redis_url=f"redis+sentinel://app:{SECRET}@s1:26379/")
    message = str(info.value)
    assert "\n" not in message and SECRET not in message
    assert "REDIS_URL" in message and "no master name" in message
    assert "redis+sentinel://app:***@s1:26379/" in message


def test_settings_take_a_good_sentinel_url_and_the_sentinels_password() -> None:
    settings = CliSettings.load(
        redis_url="redis+sentinel://s1:26379,s2:26379/trail-etl/0",
        redis_sentinel_password=SECRET,
    )
    assert SECRET not in repr(settings) and SECRET not in str(settings)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"redis+sentinel://:{SECRET}@s1:26379,s2:26379/trail-etl/0",
            "redis+sentinel://:***@s1:26379,s2:26379/trail-etl/0",
        ),
        (
            f"rediss+sentinel://app:{SECRET}@s1:1,s2:2/m",
            "rediss+sentinel://app:***@s1:1,s2:2/m",
        ),
        # Credentials before a later host: hidden from the first host on, never shown.
        (f"redis+sentinel://s1:1,:{SECRET}@s2:2,s3:3/m", "redis+sentinel://s1:***@s2:2,s3:3/m"),
        (
            f"redis+sentinel://s1:1/m?sentinel_password={PLAIN_SECRET}",
            "redis+sentinel://s1:1/m?sentinel_password=***",
        ),
        (f"redis://:{SECRET} with space@h:1/0", "redis://:***@h:1/0"),
        ("redis+sentinel://s1:26379/m/0", "redis+sentinel://s1:26379/m/0"),
    ],
)
def test_sentinel_urls_are_redacted_wherever_the_password_is(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://127.0.0.1:notaport/0", "the port is not a number"),
        ("redis://:pw@127.0.0.1:99999/0", "the port is not a number"),
        ("redis://127.0.0.1:6379/abc", "the database after the host's / is not a number"),
        ("redis:///0", "it names no host"),
    ],
)
def test_a_plain_url_redis_py_could_not_use_is_refused(url: str, problem: str) -> None:
    from etl_core.redis_url import check_plain_url

    with pytest.raises(RedisUrlError, match=problem):
        check_plain_url(url)


def test_good_plain_urls_pass() -> None:
    from etl_core.redis_url import check_plain_url

    for url in ("redis://127.0.0.1:6379/0", "rediss://u:p@host/3", "redis://host", "unix:///s"):
        check_plain_url(url)
