from datetime import UTC, datetime, timedelta

import pytest

from etl_core.windows import WindowRule, label_start, parse_window, window_label

NOW = datetime(2026, 11, 22, 10, 31, 7, tzinfo=UTC)


def _rule(spec: str, now: datetime = NOW) -> WindowRule:
    return WindowRule(spec, clock=lambda: now)


@pytest.mark.parametrize("spec", ["15m", "1h", "1d"])
def test_the_labels_the_schedule_writes_are_accepted(spec: str) -> None:
    size = parse_window(spec)
    rule = _rule(spec)
    for when in (NOW, NOW + size, NOW - 1000 * size):  # this window, the next, a past one
        rule.check(window_label(when, spec))


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("15m", "2026-11-22T10:45Z"),
        ("15m", "2026-11-22T10:00Z"),
        ("1h", "2026-11-22T10:00Z"),
        ("1h", "2026-11-22T11:00Z"),  # the next window: the scheduler's clock may run ahead
        ("1d", "2026-11-22T00:00Z"),
        ("1d", "2026-11-23T00:00Z"),
        ("1h", "2001-01-01T00:00Z"),  # any past window: a replay
        ("1h", "0001-01-01T00:00Z"),
    ],
)
def test_aligned_labels_up_to_the_next_window_are_accepted(spec: str, label: str) -> None:
    _rule(spec).check(label)


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("15m", "2026-11-22T10:07Z"),
        ("1h", "2026-11-22T10:15Z"),
        ("1d", "2026-11-22T10:00Z"),
        ("1h", "2026-11-21T23:59Z"),
    ],
)
def test_a_misaligned_label_is_refused(spec: str, label: str) -> None:
    with pytest.raises(ValueError, match=f"is not the start of a {spec} window"):
        _rule(spec).check(label)


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("15m", "2026-11-22T11:00Z"),  # 10:30 now: 10:45 is next, 11:00 is one past it
        ("1h", "2026-11-22T12:00Z"),
        ("1d", "2026-11-24T00:00Z"),
        ("1h", "9999-12-31T23:00Z"),
    ],
)
def test_a_label_beyond_the_next_window_is_refused(spec: str, label: str) -> None:
    with pytest.raises(ValueError, match=f"more than one {spec} window after this worker's clock"):
        _rule(spec).check(label)


def test_the_future_is_judged_on_the_rules_clock() -> None:
    later = NOW + timedelta(hours=1)
    with pytest.raises(ValueError, match="after this worker's clock"):
        _rule("1h").check("2026-11-22T12:00Z")
    _rule("1h", later).check("2026-11-22T12:00Z")


@pytest.mark.parametrize(
    "label",
    [
        "not-a-window",
        "",
        "2026-11-22T10",
        "2026-11-22T10:00",
        "2026-11-22T10:00z",
        "2026-11-22 10:00Z",
        "2026-11-22T10:00:00Z",
        "2026-11-22T10:00+00:00",
        " 2026-11-22T10:00Z",
        "2026-11-22T10:00Z\n",
        "2026-1-22T10:00Z",
        "\uff12\uff10\uff12\uff16-11-22T10:00Z",  # digits (fullwidth), but not ASCII ones
        "x" * 1_000_000,
    ],
)
def test_garbage_is_refused_without_echoing_it_whole(label: str) -> None:
    with pytest.raises(ValueError, match="must be a window label like 2026-11-22T10:00Z") as info:
        _rule("1h").check(label)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("label", ["2026-02-30T10:00Z", "2026-13-01T00:00Z", "2026-11-22T24:00Z"])
def test_a_label_of_no_real_time_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match="is not a real UTC date and time"):
        _rule("15m").check(label)


def test_a_rule_needs_a_valid_window() -> None:
    with pytest.raises(ValueError, match="schedule window"):
        WindowRule("7m")


def test_label_start_reads_what_window_label_writes() -> None:
    for spec in ("15m", "1h", "1d"):
        assert label_start(window_label(NOW, spec)).strftime("%Y-%m-%dT%H:%MZ") == window_label(
            NOW, spec
        )
