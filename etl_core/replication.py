"""Waiting until Redis's replicas hold what the master confirmed, before an external copy goes.

A master confirms a write as soon as it has applied it; its replicas get it a moment later. If the
master dies in between and a replica is promoted (Sentinel), the write is gone, although the
client was told it was stored. Where something outside Redis is deleted on Redis's word (the
outbox deletes its rows once the stream confirmed them), the delete must wait until enough
replicas acknowledged the write: ``WAIT numreplicas timeout``.

Two things make a bare WAIT unsafe, and this module handles both:

* WAIT counts replicas that acknowledged *this connection's* last write. A pooled connection that
  wrote nothing (a fresh one after a reconnect, or one whose publishes were all skipped because
  their markers existed) would be "acknowledged" at once. So WAIT is sent in one pipeline right
  after a write of its own (the fence: a short-lived key), which puts the connection's offset past
  everything the server held at that moment, the earlier writes of every connection included.
* After a failover WAIT talks to the new master, which may never have had the writes. So the
  master's replication history id (``master_replid``, new whenever a server becomes master or
  restarts) is read before the writes are sent and again with the WAIT; a different id means the
  writes may be gone and nothing is confirmed.

``ReplicationWait(replicas=None)`` ("auto") waits for every replica the master counts as connected
(INFO replication ``connected_slaves``) when the flush starts: whichever of them Sentinel promotes
(it picks by ``replica-priority``, then by offset, among those it can reach) then holds the writes,
as Kafka's ``acks=all`` waits for every in-sync replica. A replica the master has dropped (after
``repl-timeout``) no longer counts; ``min-replicas-to-write`` on the server is the guard for that
(docs/operations.md). With no replica connected (a single Redis, fakeredis) nothing is waited for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import redis

from etl_core.errors import (
    ConfigurationError,
    RedisUnavailable,
    ReplicationUnconfirmed,
    TransientError,
)
from etl_core.redis_client import REDIS_OUTAGE_ERRORS, refusal

DEFAULT_WAIT_TIMEOUT_MS = 5_000
DEFAULT_GIVE_UP_AFTER_S = 60.0
# The fence key only has to exist for the instant WAIT is sent behind it.
FENCE_TTL_MS = 60_000


@dataclass(frozen=True, slots=True)
class ReplicationWait:
    """How many replicas must hold a flush's writes before the outbox deletes its rows.

    ``replicas``: None waits for every connected replica (see the module documentation), 0 never
    waits, N waits for N (and times out on a server with fewer). ``timeout_ms`` bounds one WAIT
    (keep it under the client's socket timeout); a flush not confirmed within it keeps its rows and
    is tried again for up to ``give_up_after_s``, then ``ReplicationUnconfirmed`` is raised.
    """

    replicas: int | None = None
    timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS
    give_up_after_s: float = DEFAULT_GIVE_UP_AFTER_S

    def __post_init__(self) -> None:
        if self.replicas is not None and self.replicas < 0:
            raise ValueError(f"replicas must be >= 0 (or None: auto), got {self.replicas}")
        if self.timeout_ms < 1:
            raise ValueError(f"timeout_ms must be at least 1, got {self.timeout_ms}")
        if self.give_up_after_s < 0:
            raise ValueError(f"give_up_after_s must be >= 0, got {self.give_up_after_s}")


NO_WAIT = ReplicationWait(replicas=0)


@dataclass(frozen=True, slots=True)
class ReplicationState:
    """What the master said about its replication: its history id (None from a server that does
    not report replication, e.g. fakeredis) and how many replicas are connected."""

    history: str | None
    replicas: int


@dataclass(frozen=True, slots=True)
class ReplicaAck:
    """One WAIT: how many replicas were wanted and acknowledged, and the history it ran on."""

    wanted: int
    acknowledged: int
    history: str | None


def replicas_to_wait_for(policy: ReplicationWait, state: ReplicationState) -> int:
    """The ``numreplicas`` of WAIT for this policy and this master (0: no WAIT at all)."""
    if policy.replicas is None:
        return state.replicas
    return policy.replicas


def unconfirmed_reason(ack: ReplicaAck, since: ReplicationState) -> str | None:
    """Why ``ack`` does not confirm the writes sent after ``since`` was read; None if it does."""
    if ack.history != since.history:
        return "master_changed"
    if ack.acknowledged < ack.wanted:
        return "too_few_replicas"
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _state(info: dict[str, Any]) -> ReplicationState:
    history = info.get("master_replid")
    return ReplicationState(
        history=None if history is None else _text(history),
        replicas=int(info.get("connected_slaves") or 0),
    )


def _unsupported(exc: redis.ResponseError) -> bool:
    return "unknown command" in str(exc).lower()


def _raise_for(
    what: str, exc: redis.RedisError, *, no_answer: type[RedisUnavailable] = RedisUnavailable
) -> NoReturn:
    refused = refusal(exc)
    if refused is not None:
        raise refused from exc
    if isinstance(exc, REDIS_OUTAGE_ERRORS):
        raise no_answer(f"{what}: Redis did not answer: {exc}") from exc
    raise TransientError(f"{what} failed: {exc}") from exc


def read_state(client: redis.Redis) -> ReplicationState:
    """INFO replication of the master ``client`` talks to.

    A server without the command (fakeredis) has no replicas. Redis refusing the command (ACL) is
    ``RedisRefused``; no answer is ``RedisUnavailable`` (the producer retries it for its budget).
    """
    try:
        info = client.info("replication")
    except redis.ResponseError as exc:
        if _unsupported(exc):
            return ReplicationState(history=None, replicas=0)
        _raise_for("INFO replication", exc)
    except redis.RedisError as exc:
        _raise_for("INFO replication", exc)
    return _state(info)


def wait_for_replicas(
    client: redis.Redis, *, fence_key: str, replicas: int, timeout_ms: int
) -> ReplicaAck:
    """Fence write, ``WAIT replicas timeout_ms`` and INFO replication, in one pipeline (so on one
    connection: redis-py retries a pipeline whole, on one fresh connection). No answer, after the
    client's retries, is ``ReplicationUnconfirmed``: the caller starts its writes over."""
    pipe = client.pipeline(transaction=False)
    pipe.set(fence_key, "1", px=FENCE_TTL_MS)
    pipe.wait(replicas, timeout_ms)
    pipe.info("replication")
    try:
        _, acknowledged, info = pipe.execute()
    except redis.ReadOnlyError as exc:  # the master we wrote to has been demoted meanwhile
        raise ReplicationUnconfirmed(
            f"the fence write was refused: {exc}", reason="master_changed"
        ) from exc
    except redis.ResponseError as exc:
        if _unsupported(exc):
            raise ConfigurationError(
                f"this Redis does not support WAIT ({exc}): wait for 0 replicas with it"
            ) from exc
        _raise_for(f"WAIT {replicas} {timeout_ms}", exc, no_answer=ReplicationUnconfirmed)
    except redis.RedisError as exc:
        _raise_for(f"WAIT {replicas} {timeout_ms}", exc, no_answer=ReplicationUnconfirmed)
    return ReplicaAck(wanted=replicas, acknowledged=int(acknowledged), history=_state(info).history)


class ReplicationSource(Protocol):
    """What the outbox needs from a producer to wait for replication (``StreamProducer``)."""

    def replication_state(self) -> ReplicationState: ...

    def wait_replicated(self, *, replicas: int, timeout_ms: int) -> ReplicaAck: ...


class FlushReplication:
    """One flush attempt's replication check: ``start()`` reads the master's state before the
    attempt sends anything; ``confirm()`` before each delete raises ``ReplicationUnconfirmed``
    unless the wanted replicas acknowledged everything on the same history."""

    def __init__(self, source: ReplicationSource, policy: ReplicationWait) -> None:
        self._source = source
        self._policy = policy
        self._since: ReplicationState | None = None
        self.wanted = 0
        self.waits = 0

    def start(self) -> None:
        if self._policy.replicas == 0:  # never waiting: not even INFO is sent
            return
        self._since = self._source.replication_state()
        self.wanted = replicas_to_wait_for(self._policy, self._since)

    @property
    def required(self) -> bool:
        """Whether rows may be deleted only after a WAIT (else: as soon as confirmed)."""
        return self.wanted > 0

    def confirm(self) -> None:
        if not self.required or self._since is None:
            return
        ack = self._source.wait_replicated(replicas=self.wanted, timeout_ms=self._policy.timeout_ms)
        self.waits += 1
        reason = unconfirmed_reason(ack, self._since)
        if reason is not None:
            raise ReplicationUnconfirmed(
                f"{ack.acknowledged} of {ack.wanted} replica(s) acknowledged within "
                f"{self._policy.timeout_ms} ms"
                + (
                    ", and the master changed (a failover or a restart)"
                    if reason == "master_changed"
                    else ""
                ),
                reason=reason,
                wanted=ack.wanted,
                acknowledged=ack.acknowledged,
            )
