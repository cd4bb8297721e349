"""Task models and their strict encoding to and from stream entries.

A stream entry of trail-etl has these fields (all strings):

``type``      the task type, e.g. ``owm.ingest``
``v``         the schema version of that type
``task_id``   deterministic identity (see ``BaseTask.task_id``)
``payload``   the task as JSON
``attempts``  how many attempts earlier deliveries already spent (retries, not crashes)

Decoding is strict: a missing field, an unknown type, another schema version, invalid JSON, a value
of the wrong type or a ``task_id`` that does not match the payload makes a ``PoisonMessage`` that
names the problem. The worker runtime sends such entries to the dead-letter stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from etl_core.errors import PoisonMessage

FIELD_TYPE = "type"
FIELD_VERSION = "v"
FIELD_TASK_ID = "task_id"
FIELD_PAYLOAD = "payload"
FIELD_ATTEMPTS = "attempts"
REQUIRED_FIELDS = (FIELD_TYPE, FIELD_VERSION, FIELD_TASK_ID, FIELD_PAYLOAD)


class BaseTask(BaseModel):
    """A unit of work. Subclasses set ``task_type`` and define their identity in ``identity()``.

    ``task_id`` is ``<task_type>:<identity>``; two tasks for the same work have the same id,
    which is what makes publishing, dedup and re-runs idempotent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    task_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    def identity(self) -> str:
        """What makes this task unique within its type. Subclasses override it."""
        raise TypeError(f"{type(self).__name__} must define identity()")

    @property
    def task_id(self) -> str:
        return f"{self.task_type}:{self.identity()}"


class ScheduledTask(BaseTask):
    """Work for one location in one schedule window (e.g. the UTC hour ``2026-11-22T10``).

    Re-running a schedule in the same window produces the same ``task_id`` and so adds nothing.
    """

    location_id: str
    window: str

    def identity(self) -> str:
        return f"{self.location_id}@{self.window}"


T = TypeVar("T", bound=BaseTask)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[T]):
    """A decoded task together with what the runtime needs to know about its entry."""

    task: T
    attempts: int
    task_id: str


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class TaskCodec:
    """Encodes tasks of the registered types to entry fields and decodes them back, strictly."""

    def __init__(self, task_types: Iterable[type[BaseTask]]) -> None:
        self._types: dict[str, type[BaseTask]] = {}
        for cls in task_types:
            if not cls.task_type:
                raise TypeError(f"{cls.__name__} has no task_type")
            if cls.task_type in self._types:
                raise TypeError(f"task_type {cls.task_type!r} registered twice")
            self._types[cls.task_type] = cls

    @property
    def task_types(self) -> tuple[str, ...]:
        return tuple(self._types)

    def encode(self, task: BaseTask, *, attempts: int = 0) -> dict[str, str]:
        if task.task_type not in self._types:
            raise TypeError(f"task type {task.task_type!r} is not registered with this codec")
        return {
            FIELD_TYPE: task.task_type,
            FIELD_VERSION: str(task.schema_version),
            FIELD_TASK_ID: task.task_id,
            FIELD_PAYLOAD: task.model_dump_json(),
            FIELD_ATTEMPTS: str(attempts),
        }

    def decode(self, fields: Mapping[bytes | str, bytes | str] | None) -> Envelope[BaseTask]:
        """Decode an entry's raw fields (bytes or text)."""
        if not fields:
            raise PoisonMessage("entry has no fields")
        try:
            text = {_text(k): _text(v) for k, v in fields.items()}
        except UnicodeDecodeError as exc:
            raise PoisonMessage(f"entry is not valid UTF-8: {exc}") from None
        return self.decode_text(text)

    def decode_text(self, text: Mapping[str, str]) -> Envelope[BaseTask]:
        """Decode fields already turned into text (the worker runtime does that once per entry)."""
        if not text:
            raise PoisonMessage("entry has no fields")
        missing = [f for f in REQUIRED_FIELDS if f not in text]
        if missing:
            raise PoisonMessage(f"entry lacks field(s) {', '.join(missing)}")
        cls = self._types.get(text[FIELD_TYPE])
        if cls is None:
            known = ", ".join(sorted(self._types))
            raise PoisonMessage(
                f"unknown task type {text[FIELD_TYPE]!r} (this worker handles {known})"
            )
        if text[FIELD_VERSION] != str(cls.schema_version):
            raise PoisonMessage(
                f"task type {cls.task_type!r} has schema version {text[FIELD_VERSION]!r}; "
                f"this worker reads version {cls.schema_version}"
            )
        attempts_text = text.get(FIELD_ATTEMPTS, "0")
        if not attempts_text.isdigit():
            raise PoisonMessage(
                f"field attempts must be a non-negative integer, got {attempts_text!r}"
            )
        try:
            task = cls.model_validate_json(text[FIELD_PAYLOAD], strict=True)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}"
                for err in exc.errors()[:5]
            )
            raise PoisonMessage(f"invalid payload for {cls.task_type!r}: {problems}") from None
        task_id = task.task_id
        if task_id != text[FIELD_TASK_ID]:
            raise PoisonMessage(
                f"task_id {text[FIELD_TASK_ID]!r} does not match its payload ({task_id!r})"
            )
        return Envelope(task=task, attempts=int(attempts_text), task_id=task_id)
