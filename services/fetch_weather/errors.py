"""The errors every weather source raises, in the common taxonomy (``etl_core.errors``).

A source translates its provider's answers into these where they enter our code, so the gate
(retry, 429 evidence), the runtime (retry, wait, dead-letter, pause) and the tests treat every
provider alike:

* ``SourceAuthError`` (``StageBlocked``): our credentials are refused; no task can succeed, so
  the stage pauses until a trial call passes and no task is dead-lettered.
* ``SourceRequestRejected`` (``PermanentError``): the same request will fail again (a parameter
  out of range, no data for it).
* ``SourceRateLimited`` (``RateLimited``): the provider says its quota is used; wait, spend no
  attempt. ``from_header``: ``retry_after_s`` is the provider's own ``Retry-After``, else a default
  the gate may shorten to the shared limiter's next free permit.
* ``SourceUnavailable`` (``TransientError``): a 5xx, a timeout, a dropped connection, an answer
  that is not what the provider documents.
"""

from __future__ import annotations

from etl_core.errors import PermanentError, RateLimited, StageBlocked, TransientError

# A 429 without Retry-After waits no longer than this: every provider we know frees a permit
# within a minute (the gate asks the shared limiter when; this is the wait when nobody can tell).
DEFAULT_429_RETRY_AFTER_S = 60.0
# A provider's Retry-After is honoured up to an hour: longer is more likely a broken header than
# a plan (day caps end at midnight), and a task asking again hourly costs one refused call.
MAX_RETRY_AFTER_S = 3600.0


class SourceAuthError(StageBlocked):
    """Our key is missing, wrong, not yet active or without the subscription the call needs."""


class SourceRequestRejected(PermanentError):
    """The provider refuses this request itself (4xx other than 401/403/429)."""


class SourceRateLimited(RateLimited):
    """429: the provider's quota is exceeded."""

    def __init__(
        self,
        message: str = "",
        *,
        retry_after_s: float = DEFAULT_429_RETRY_AFTER_S,
        from_header: bool = False,
    ) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.from_header = from_header


class SourceUnavailable(TransientError):
    """5xx, a timeout, a dropped connection or a malformed answer."""


def retry_after_s(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (at most ``MAX_RETRY_AFTER_S``); None when absent or
    an HTTP date (rare for APIs; treated as absent)."""
    if value is None:
        return None
    try:
        return min(max(0.0, float(value)), MAX_RETRY_AFTER_S)
    except ValueError:
        return None
