"""Every Redis key name the library uses, in one place.

Streams and consumer groups are named by the application that uses the library; everything
derived from a stream (its dead-letter stream, its delayed-retry set, its publish markers, its
done marks) and every other key of the library (rate limiters, breakers, pauses, heartbeats) is
built here and nowhere else; keys of the application itself live with the application. All
derived keys share one prefix (``PREFIX``, ``etl`` unless the application sets another with
``set_prefix``) except streams and their dead-letter streams, which operators address by name.

Hash tags (the part of a key between ``{`` and ``}``, which alone picks a Redis Cluster slot) are
laid out so every script and transaction touches keys of one slot:

* a pipeline partition: every stage's stream carries the partition's tag (``partition_tag``), and
  every key derived from a stream embeds the stream's name, so its dead-letter stream, delayed
  set, publish markers, done marks and fence share that slot with it; settle.lua (ack here, add
  there, mark done) and the idle check's MULTI stay in one slot;
* each rate limiter, each breaker and each stage's pause has a tag of its own
  (``{ratelimit:<name>}``, ``{breaker:<name>}``, ``{pause:<stage>}``): their scripts touch only
  their own keys, and different limiters may land on different nodes.

Every key a script touches is passed to it in KEYS, never built inside it.
"""

from __future__ import annotations

import re

# The first part of every derived key's name (``<PREFIX>:delayed:<stream>``, ...). Every function
# below reads it when called: an application that wants another one calls ``set_prefix`` once at
# start, before it builds anything that names keys (workers, producers, limiters, breakers), and
# every process that shares the data (workers, scheduler, CLI) must use the same one.
PREFIX = "etl"
# No hash-tag braces (a brace would move the slot-picking tag into the prefix) and no SCAN
# pattern characters (``published_marker_prefix`` and the like are matched with SCAN MATCH).
_PREFIX_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def set_prefix(prefix: str) -> None:
    """Make ``prefix`` the first part of every derived key's name from now on (see ``PREFIX``)."""
    global PREFIX
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(
            f"key prefix {prefix!r}: letters, digits and _ . : - only, starting with a letter or"
            " digit (no hash-tag braces, no SCAN pattern characters)"
        )
    PREFIX = prefix


def partition_tag(partition: int) -> str:
    """The hash tag of pipeline partition ``partition`` (the default one: 0)."""
    return f"{{p{partition}}}"


def partition_stream(base: str, partition: int = 0) -> str:
    """The name of stream ``base`` in pipeline partition ``partition``."""
    return f"{base}:{partition_tag(partition)}"


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


def published_markers(stream: str, bucket: int) -> str:
    """Hash of the task ids added to ``stream`` in time bucket ``bucket`` (``etl_core.buckets``):
    fields are task ids. The producer names the buckets and passes them to ``publish_once.lua``
    in KEYS; a marker lives between one and two bucket lengths."""
    return f"{published_marker_prefix(stream)}{bucket}"


def published_marker_prefix(stream: str) -> str:
    """Pattern prefix matching every marker hash of ``stream`` (for SCAN)."""
    return f"{PREFIX}:published:{stream}:"


def replication_fence(stream: str) -> str:
    """A short-lived string a producer of ``stream`` writes just before WAIT, so WAIT waits for
    everything the master held at that moment (``etl_core.replication``); its value means nothing.
    """
    return f"{PREFIX}:fence:{stream}"


def done_marks(stream: str, stage: str, bucket: int) -> str:
    """Hash of the task ids of ``stream`` that ``stage`` (its consumer group) finished in time
    bucket ``bucket`` (``etl_core.buckets``): fields are task ids. Written by ``settle.lua`` with
    the ack, never before the work; the worker names the buckets and passes them in KEYS. The name
    embeds the stream's, so it shares the stream's hash tag (and slot)."""
    return f"{done_marks_prefix(stream, stage)}{bucket}"


def done_marks_prefix(stream: str, stage: str) -> str:
    """Pattern prefix matching every done-mark hash of ``stage`` on ``stream`` (for SCAN)."""
    return f"{PREFIX}:done:{stream}:{stage}:"


def window_tally(stream: str, window: str) -> str:
    """Hash of counts for schedule window ``window`` (a label, ``etl_core.windows``) of the tasks
    of ``stream``: ``published`` (task ids ``publish_once.lua`` added), ``done:<group>`` (task ids
    ``settle.lua`` marked done for the first time). The producer and the settler name it from the
    window at the end of a task id (``etl_core.windows.window_of_task_id``) and pass it in KEYS;
    an operator's status view reads it with one HGETALL per window. It expires with the marks
    written alongside it. The name embeds the stream's, so it shares the stream's slot."""
    return f"{PREFIX}:tally:{stream}:{window}"


TALLY_PUBLISHED = "published"


def tally_done_field(group: str) -> str:
    """The field of a ``window_tally`` hash counting the tasks ``group`` finished."""
    return f"done:{group}"


def settled_log(stream: str, group: str) -> str:
    """Stream of ``settle.lua`` calls of ``group`` on ``stream`` that finished tasks: one entry
    per call (its id: the server time), field ``n`` = tasks marked done; trimmed by the script to
    the last ``SETTLED_LOG_KEEP_MS`` (MINID), e.g. for a status view that counts it over the last 1
    and 5 minutes (throughput). Shares the stream's slot."""
    return f"{PREFIX}:settled:{stream}:{group}"


SETTLED_LOG_KEEP_MS = 5 * 60_000


def _rate_limit(name: str) -> str:
    return f"{PREFIX}:{{ratelimit:{name}}}"


def rate_limit_window(name: str, window_ms: int) -> str:
    """Sorted set of admissions of limiter ``name`` in its sliding window of ``window_ms``."""
    return f"{_rate_limit(name)}:window:{window_ms}"


def rate_limit_admission(name: str) -> str:
    """Hash {factor_ppm, cut_us, full_us, since_us}: the admission factor of limiter ``name`` after
    its last decrease, while it climbs back to 1 (absent at 1)."""
    return f"{_rate_limit(name)}:admission"


def rate_limit_refusals(name: str) -> str:
    """Sorted set of the permits of limiter ``name`` the service refused (score: their admission
    time, us), over the limiter's evidence window."""
    return f"{_rate_limit(name)}:refusals"


def rate_limit_day(name: str) -> str:
    """Hash {day, count}: admissions of limiter ``name`` on the current UTC calendar day."""
    return f"{_rate_limit(name)}:day"


def breaker(name: str) -> str:
    """Hash holding the shared state of circuit breaker ``name``."""
    return f"{PREFIX}:{{breaker:{name}}}"


def breaker_calls(name: str) -> str:
    """List of the recent call outcomes of circuit breaker ``name`` (its sliding window)."""
    return f"{breaker(name)}:calls"


def stage_pause(stage: str) -> str:
    """Hash: the pause of ``stage`` (a consumer group), shared by every replica; absent: running."""
    return f"{PREFIX}:{{pause:{stage}}}"


def stage_pause_trial(stage: str) -> str:
    """Set while one replica runs the trial task that decides whether an automatic pause is over."""
    return f"{stage_pause(stage)}:trial"


def heartbeat(group: str, consumer: str) -> str:
    """String set by a worker's housekeeping chore (``worker.maintenance.write_heartbeat``) with
    a TTL of three housekeeping intervals, deleted on a clean stop. It says the consumer's process
    runs and reaches Redis, not that its read loop goes round (``/livez`` tells that). For status
    views (is a pending list's consumer alive?) and checks that wait until every worker stopped."""
    return f"{PREFIX}:heartbeat:{group}:{consumer}"


def heartbeat_prefix(group: str) -> str:
    """Pattern prefix matching the heartbeat of every consumer of ``group`` (for SCAN)."""
    return f"{PREFIX}:heartbeat:{group}:"
