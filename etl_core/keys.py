"""Every Redis key name used by trail-etl, in one place.

Streams are named by the services; everything derived from a stream (its dead-letter stream, its
delayed-retry set, its publish markers) and every other key (dedup marks, rate limiters, breakers)
is built here and nowhere else. All derived keys share the ``etl:`` prefix except streams and their
dead-letter streams, which operators address by name.
"""

from __future__ import annotations

PREFIX = "etl"

# The pipeline's streams and consumer groups.
INGESTION_STREAM = "owm-ingestion-stream"
CATEGORIZATION_STREAM = "owm-categorization-stream"
FETCH_GROUP = "fetch-weather"
CATEGORIZE_GROUP = "categorize-trail-conditions"

DLQ_SUFFIX = ":dlq"


def dead_letter_stream(stream: str) -> str:
    """The dead-letter stream that belongs to ``stream``."""
    return f"{stream}{DLQ_SUFFIX}"


def source_of_dead_letter_stream(dlq: str) -> str:
    """The source stream of a dead-letter stream name (the inverse of ``dead_letter_stream``)."""
    if not dlq.endswith(DLQ_SUFFIX):
        raise ValueError(f"{dlq!r} is not a dead-letter stream name (it must end in {DLQ_SUFFIX})")
    return dlq[: -len(DLQ_SUFFIX)]


def delayed_set(stream: str) -> str:
    """Sorted set of entries waiting to be re-added to ``stream`` (score: due time, ms)."""
    return f"{PREFIX}:delayed:{stream}"


def published_markers(stream: str) -> str:
    """Prefix of the hashes that record which task ids were already added to ``stream``.

    ``publish_once.lua`` appends a time bucket (``<prefix>:<n>``, n = server time // TTL): one hash
    per bucket, fields are task ids. A marker therefore lives between one and two TTLs.
    """
    return f"{PREFIX}:published:{stream}"


def published_marker_prefix(stream: str) -> str:
    """Pattern prefix matching every marker hash of ``stream`` (for SCAN)."""
    return f"{published_markers(stream)}:"


def dedup_mark(stage: str, task_id: str) -> str:
    """Marks that ``stage`` finished ``task_id``; written with the ack, never before the work."""
    return f"{PREFIX}:done:{stage}:{task_id}"


def dedup_mark_prefix(stage: str) -> str:
    return f"{PREFIX}:done:{stage}:"


def rate_limit_window(name: str, window_ms: int) -> str:
    """Sorted set of admissions of limiter ``name`` in its sliding window of ``window_ms``."""
    return f"{PREFIX}:ratelimit:{name}:window:{window_ms}"


def rate_limit_admission(name: str) -> str:
    """Hash {factor_ppm, cut_us, full_us, since_us}: the admission factor of limiter ``name`` after
    its last decrease, while it climbs back to 1 (absent at 1)."""
    return f"{PREFIX}:ratelimit:{name}:admission"


def rate_limit_refusals(name: str) -> str:
    """Sorted set of the permits of limiter ``name`` the service refused (score: their admission
    time, us), over the limiter's evidence window."""
    return f"{PREFIX}:ratelimit:{name}:refusals"


def rate_limit_day(name: str) -> str:
    """Hash {day, count}: admissions of limiter ``name`` on the current UTC calendar day."""
    return f"{PREFIX}:ratelimit:{name}:day"


def breaker(name: str) -> str:
    """Hash holding the shared state of circuit breaker ``name``."""
    return f"{PREFIX}:breaker:{name}"


def breaker_calls(name: str) -> str:
    """List of the recent call outcomes of circuit breaker ``name`` (its sliding window)."""
    return f"{PREFIX}:breaker:{name}:calls"


def stage_pause(stage: str) -> str:
    """Hash: the pause of ``stage`` (a consumer group), shared by every replica; absent: running."""
    return f"{PREFIX}:pause:{stage}"


def stage_pause_trial(stage: str) -> str:
    """Set while one replica runs the trial task that decides whether an automatic pause is over."""
    return f"{PREFIX}:pause:{stage}:trial"


def heartbeat(group: str, consumer: str) -> str:
    """Written by a live worker loop; read by ``trail-etl status`` and liveness checks."""
    return f"{PREFIX}:heartbeat:{group}:{consumer}"


def heartbeat_prefix(group: str) -> str:
    return f"{PREFIX}:heartbeat:{group}:"


def owm_answer_cache(endpoint: str, identity: str) -> str:
    """A raw OpenWeatherMap answer kept for a few windows, so a redelivery pays no second call.

    ``identity`` names the request, e.g. ``trail-0042@2026-11-22T10:00Z`` for a onecall or
    ``trail-0042:2026-11-21`` for a day summary.
    """
    return f"{PREFIX}:owm:{endpoint}:{identity}"


def history_covered(location_id: str) -> str:
    """Set while the weather service is known to hold enough observed history of a location (its
    TTL is how long that stays true without new observations), so fetch-weather skips the check."""
    return f"{PREFIX}:history:{location_id}"


# Names of the shared limiter and breaker that guard OpenWeatherMap (see rate_limit_*, breaker),
# and of the breaker in front of the weather service.
OWM_RATE_LIMITER = "owm"
OWM_BREAKER = "owm"
WEATHER_SERVICE_BREAKER = "weather-service"
