"""Task models and their strict encoding to and from stream entries.

A stream entry has these fields (all strings):

``type``      the task type, e.g. ``report.build``
``v``         the schema version of that type
``task_id``   deterministic identity (see ``BaseTask.task_id``)
``payload``   the task as JSON
``attempts``  how many attempts earlier deliveries already spent (retries, not crashes), an
              integer from 0 to ``MAX_ATTEMPTS``

Decoding is strict: a missing field, an unknown type, another schema version, invalid JSON, a value
of the wrong type, an ``attempts`` out of its bounds, a window label the codec's ``WindowRule``
refuses or a ``task_id`` that does not match the payload makes a ``PoisonMessage`` that names the
field and the rule. The worker runtime sends such entries to the dead-letter stream. A message
repeats at most a short prefix of a value (``etl_core.text.preview``): the entry may be huge, and
the message goes into a log line and the dead-letter entry (which keeps the whole entry anyway).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from etl_core.errors import PoisonMessage
from etl_core.text import PREVIEW_CHARS, clip, preview
from etl_core.windows import WindowRule

FIELD_TYPE = "type"
FIELD_VERSION = "v"
FIELD_TASK_ID = "task_id"
FIELD_PAYLOAD = "payload"
FIELD_ATTEMPTS = "attempts"
REQUIRED_FIELDS = (FIELD_TYPE, FIELD_VERSION, FIELD_TASK_ID, FIELD_PAYLOAD)
# The runtime never writes more attempts than a worker's max_deliveries (which may not exceed
# this): a larger count is not one of ours.
MAX_ATTEMPTS = 10_000
_ATTEMPTS_RE = re.compile(r"[0-9]{1,5}")
TASK_ID_PREVIEW_CHARS = 200  # a whole task id of any sensible application fits
_WINDOW_RULE = "window_rule"  # the validation context key a codec passes its WindowRule under


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
    """Work for one location in one schedule window (the label ``window_label`` writes, e.g.
    ``2026-11-22T10:00Z`` for the UTC hour).

    Re-running a schedule in the same window produces the same ``task_id`` and so adds nothing.
    Decoded by a codec with a ``WindowRule``, ``window`` must be a label that rule accepts; an
    application narrows ``location_id`` to its own id rule in its subclasses.
    """

    location_id: str
    window: str

    @field_validator("window")
    @classmethod
    def _window_rule(cls, value: str, info: ValidationInfo) -> str:
        rule = (info.context or {}).get(_WINDOW_RULE)
        if rule is not None:
            rule.check(value)
        return value

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


def _problem(err: Any) -> str:
    where = ".".join(clip(str(part), PREVIEW_CHARS) for part in err["loc"])
    return f"{where or 'payload'}: {err['msg'][:200]}"


class TaskCodec:
    """Encodes tasks of the registered types to entry fields and decodes them back, strictly.

    ``window_rule``: the window labels a ``ScheduledTask`` decoded here must carry (the
    application's schedule window); without one, any string is taken.
    """

    def __init__(
        self, task_types: Iterable[type[BaseTask]], *, window_rule: WindowRule | None = None
    ) -> None:
        self._context = None if window_rule is None else {_WINDOW_RULE: window_rule}
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
                f"unknown task type {preview(text[FIELD_TYPE])} (this worker handles {known})"
            )
        if text[FIELD_VERSION] != str(cls.schema_version):
            raise PoisonMessage(
                f"task type {cls.task_type!r} has schema version {preview(text[FIELD_VERSION])}; "
                f"this worker reads version {cls.schema_version}"
            )
        attempts = self._attempts(text.get(FIELD_ATTEMPTS, "0"))
        try:
            task = cls.model_validate_json(text[FIELD_PAYLOAD], strict=True, context=self._context)
        except ValidationError as exc:
            problems = "; ".join(_problem(err) for err in exc.errors()[:5])
            raise PoisonMessage(f"invalid payload for {cls.task_type!r}: {problems}") from None
        task_id = task.task_id
        if task_id != text[FIELD_TASK_ID]:
            raise PoisonMessage(
                f"task_id {preview(text[FIELD_TASK_ID], TASK_ID_PREVIEW_CHARS)} does not match "
                f"its payload ({preview(task_id, TASK_ID_PREVIEW_CHARS)})"
            )
        return Envelope(task=task, attempts=attempts, task_id=task_id)

    @staticmethod
    def _attempts(text: str) -> int:
        # ASCII digits only: str.isdigit() also takes digits int() refuses ("²").
        attempts = int(text) if _ATTEMPTS_RE.fullmatch(text) else -1
        if not 0 <= attempts <= MAX_ATTEMPTS:
            raise PoisonMessage(
                f"field attempts must be an integer from 0 to {MAX_ATTEMPTS}, got {preview(text)}"
            )
        return attempts
