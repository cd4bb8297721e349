"""What a handler may know about the delivery it is handling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from etl_core.outcomes import Outcome


class TaskContext:
    __slots__ = ("_log", "_parent_log", "attempts", "consumer", "entry_id", "stream", "task_id")

    def __init__(
        self,
        *,
        entry_id: str,
        stream: str,
        consumer: str,
        attempts: int,
        task_id: str,
        parent_log: Any,
    ) -> None:
        self.entry_id = entry_id
        self.stream = stream
        self.consumer = consumer
        self.attempts = attempts  # attempts spent before this delivery (retries and crashes)
        self.task_id = task_id
        self._parent_log = parent_log
        self._log: Any = None

    @property
    def log(self) -> Any:
        """A logger bound to this task id and entry id (bound on first use: hot path)."""
        if self._log is None:
            self._log = self._parent_log.bind(task_id=self.task_id, message_id=self.entry_id)
        return self._log


Handler = Callable[[Any, TaskContext], Awaitable[Outcome]]
