"""The one exception hierarchy of etl_core and the applications built on it.

How the worker runtime treats each family:

* ``TransientError``: retried later with exponential backoff and full jitter; each retry spends an
  attempt, and past ``max_deliveries`` the task goes to the dead-letter stream.
* ``PermanentError``: straight to the dead-letter stream (bad input, 4xx, a poison entry).
* ``RateLimited``, ``BreakerOpen`` and ``RedisUnavailable``: the task waits and is tried later,
  spending no attempt.
* ``StageBlocked`` (``BreakerOpen`` is one): no task of the stage can succeed now (our key was
  refused, the service is behind an open breaker): the task waits as above, and the whole stage
  pauses until a trial task passes (``etl_core.pause``).

``ReplicationUnconfirmed`` (a ``RedisUnavailable``) is Redis not confirming that its replicas hold
a write: what depends on the write is kept and the write is sent again later.

``RedisRefused`` (a ``ConfigurationError``) is Redis refusing our credentials or a command our ACL
user lacks: the process stops with a one-line error instead of waiting for the world to change.

Errors from third-party libraries are translated into these where they enter our code
(``raise TransientError(...) from exc``), so handlers and the runtime only ever see this module.
"""

from __future__ import annotations


class EtlError(Exception):
    """Base class of every error raised by etl_core and by the handlers built on it."""


class ConfigurationError(EtlError):
    """A setting is missing or wrong; raised at start-up, naming the setting."""


class RedisRefused(ConfigurationError):
    """Redis answered and refused us: no retry can help until an operator fixes the credentials
    or the ACL. Unlike ``RedisUnavailable`` (the world), this is our configuration."""


class RedisAuthError(RedisRefused):
    """Redis refused our credentials (WRONGPASS, NOAUTH: a wrong or missing password or user)."""


class RedisPermissionError(RedisRefused):
    """Our ACL user may not run a command (``command``, e.g. ``xgroup|create``, or None when Redis
    did not name it: a key outside the user's patterns, a command inside a Lua script)."""

    def __init__(self, message: str, *, command: str | None = None) -> None:
        super().__init__(message)
        self.command = command


class TaskError(EtlError):
    """Base class of errors that decide what happens to one task."""

    retry_after_s: float | None = None

    def __init__(self, message: str = "", *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s

    @property
    def error_type(self) -> str:
        """The name recorded in dead-letter entries and metrics."""
        return type(self).__name__


class TransientError(TaskError):
    """Worth retrying: a timeout, a 5xx, a dropped connection."""


class PermanentError(TaskError):
    """Retrying cannot help: invalid input, a 4xx other than 429, an unknown location."""


class PoisonMessage(PermanentError):
    """A stream entry that cannot be decoded into a task."""


class WaitAndRetry(TaskError):
    """Base of the families that delay a task without spending one of its attempts."""


class RateLimited(WaitAndRetry):
    """A rate limit (ours or the provider's) says: not now. ``retry_after_s`` says when."""


class StageBlocked(WaitAndRetry):
    """A failure of the world, not of the task, that every task of the stage would meet (our
    credentials refused, a dependency down): pause the stage. ``retry_after_s``, when known, is
    when a trial task may find it gone."""


class BreakerOpen(StageBlocked):
    """The shared circuit breaker is open; ``retry_after_s`` is when it may half-open."""


class RedisUnavailable(WaitAndRetry):
    """Redis did not answer (connection refused or dropped, a timeout, still loading its data)
    even after the client's own retries. It is no task's fault, so a task waits without spending
    an attempt; a producer raises it once its ``redis_unavailable_timeout_s`` has passed."""


class ReplicationUnconfirmed(RedisUnavailable):
    """Redis stored writes but did not confirm that enough replicas hold them (WAIT timed out,
    the master changed, or Redis did not answer), so what relies on them (an outbox's rows) is
    kept; a failover could still undo them. ``reason``: ``too_few_replicas``, ``master_changed``
    or ``no_answer``."""

    def __init__(
        self,
        message: str = "",
        *,
        reason: str = "no_answer",
        wanted: int | None = None,
        acknowledged: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.wanted = wanted
        self.acknowledged = acknowledged


class BackpressureError(EtlError):
    """A producer waited its whole bound for a stream's backlog to drain, and it did not."""


class OutboxError(EtlError):
    """The durable outbox could not store or read tasks."""


class DeadLetterNotFound(EtlError):
    """An operator named a dead-letter entry that does not exist."""
