"""A stage's pause, shared by every replica of the stage through Redis.

A paused stage reads no task and starts no handler. Two sources:

* ``manual``: an operator (``pause``/``resume`` commands), when the bill or the provider is at
  risk; only an operator lifts it.
* ``auto``: the runtime, when a handler meets a ``StageBlocked`` failure (our key refused, a
  service behind an open breaker): no task of the stage could succeed now. From ``until_ms`` on,
  one replica at a time takes the trial token and runs one task; if that task does not meet a
  stage-wide failure again the pause is lifted for all, else it is renewed.

Every change is one script (``scripts/pause_*.lua``) on the Redis server clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from etl_core import keys
from etl_core.scripts import register

MAX_REASON_CHARS = 500


class PauseSource(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


@dataclass(frozen=True)
class PauseState:
    source: PauseSource
    reason: str
    since_ms: int  # server clock, Unix ms
    until_ms: int | None  # auto only: when a trial task may go
    server_time_ms: int

    def describe(self) -> str:
        """One line for probes and logs: ``paused (auto) for 12 s: <reason>``."""
        seconds = max(0, self.server_time_ms - self.since_ms) // 1000
        return f"paused ({self.source}) for {seconds} s: {self.reason}"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _state(source: Any, reason: Any, since_ms: Any, until_ms: Any, now_ms: Any) -> PauseState:
    kind = PauseSource(_text(source))
    return PauseState(
        source=kind,
        reason=_text(reason),
        since_ms=int(since_ms),
        until_ms=int(until_ms) if kind is PauseSource.AUTO else None,
        server_time_ms=int(now_ms),
    )


class StagePause:
    """The pause of ``stage`` (a consumer group name)."""

    def __init__(self, client: Any, stage: str, *, trial_ttl_ms: int = 60_000) -> None:
        if not stage:
            raise ValueError("a stage pause needs a stage name")
        if trial_ttl_ms < 1:
            raise ValueError(f"trial_ttl_ms must be at least 1, got {trial_ttl_ms}")
        self.client = client
        self.stage = stage
        self.trial_ttl_ms = trial_ttl_ms
        self._keys = [keys.stage_pause(stage), keys.stage_pause_trial(stage)]
        self._check = register(client, "pause_check")
        self._set = register(client, "pause_set")
        self._clear = register(client, "pause_clear")

    async def check(self, caller: str) -> tuple[PauseState | None, bool]:
        """The pause now (None: running), and whether ``caller`` now holds the trial token and
        should run exactly one task as the trial (then report it with ``trial_ended``)."""
        paused, source, reason, since_ms, until_ms, trial, now_ms = await self._check(
            keys=self._keys, args=[self.trial_ttl_ms, caller]
        )
        if not int(paused):
            return None, False
        return _state(source, reason, since_ms, until_ms, now_ms), bool(int(trial))

    async def pause(
        self, reason: str, *, source: PauseSource = PauseSource.MANUAL, retry_after_s: float = 0.0
    ) -> PauseState:
        """Pause the stage; ``retry_after_s`` (auto): until a trial task may go. An automatic
        pause never replaces a manual one; the state returned is what is stored."""
        reply = await self._set(
            keys=self._keys,
            args=[str(source), reason[:MAX_REASON_CHARS], max(0, round(retry_after_s * 1000))],
        )
        return _state(*reply)

    async def resume(self, *, only: PauseSource | None = None) -> bool:
        """Lift the pause (``only``: only if it is of that source); True if one was lifted."""
        return bool(int(await self._clear(keys=self._keys, args=[str(only or "")])))

    async def trial_ended_without_task(self) -> None:
        """The trial token's holder found no task to try: let the next caller have it."""
        await self.client.delete(keys.stage_pause_trial(self.stage))

    async def state(self) -> PauseState | None:
        """The pause as stored (one HGETALL: needs no script, for a read-only user too)."""
        fields = {_text(k): v for k, v in (await self.client.hgetall(self._keys[0])).items()}
        if "source" not in fields:
            return None
        now_s, now_us = await self.client.time()
        return _state(
            fields["source"],
            fields.get("reason", b""),
            fields.get("since_ms", 0),
            fields.get("until_ms", 0),
            int(now_s) * 1000 + int(now_us) // 1000,
        )
