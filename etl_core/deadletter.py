"""Dead-letter streams: one per source stream, kept until an operator acts.

Workers write entries through the runtime's settle script; this module is the operator's side:
list, show, count, redrive (atomic move back to the source stream, attempts reset) and purge.
Each dead-letter entry holds the original entry's fields unchanged plus the ``dlq_*`` fields below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl_core import keys, scripts
from etl_core.errors import DeadLetterNotFound

FIELD_PREFIX = "dlq_"
ERROR_TYPE = "dlq_error_type"
ERROR = "dlq_error"
STAGE = "dlq_stage"
CONSUMER = "dlq_consumer"
DELIVERIES = "dlq_deliveries"
SOURCE_STREAM = "dlq_source_stream"
SOURCE_ID = "dlq_source_id"
FAILED_AT_MS = "dlq_failed_at_ms"  # written by settle.lua from the server clock
ENQUEUED_AT_MS = "dlq_enqueued_at_ms"

PAGE_SIZE = 500
MAX_ERROR_CHARS = 2000


def dead_letter_fields(
    original: dict[str, str],
    *,
    error_type: str,
    error: str,
    stage: str,
    consumer: str,
    deliveries: int,
    source_stream: str,
    source_id: str,
) -> dict[str, str]:
    """The fields of a dead-letter entry: the original ones plus why, where and when it failed."""
    out = {k: v for k, v in original.items() if not k.startswith(FIELD_PREFIX)}
    out.update(
        {
            ERROR_TYPE: error_type,
            ERROR: error[:MAX_ERROR_CHARS],
            STAGE: stage,
            CONSUMER: consumer,
            DELIVERIES: str(deliveries),
            SOURCE_STREAM: source_stream,
            SOURCE_ID: source_id,
            ENQUEUED_AT_MS: source_id.split("-", 1)[0],
        }
    )
    return out


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class DeadLetter:
    id: str
    fields: dict[str, str]

    @property
    def error_type(self) -> str:
        return self.fields.get(ERROR_TYPE, "")

    @property
    def error(self) -> str:
        return self.fields.get(ERROR, "")

    @property
    def task_id(self) -> str:
        return self.fields.get("task_id", "")

    @property
    def original_fields(self) -> dict[str, str]:
        return {k: v for k, v in self.fields.items() if not k.startswith(FIELD_PREFIX)}


@dataclass
class RedriveReport:
    moved: list[tuple[str, str]] = field(default_factory=list)  # (dead-letter id, new source id)
    missing: list[str] = field(default_factory=list)
    dry_run: bool = False
    selected: list[str] = field(default_factory=list)


class DeadLetters:
    """The dead-letter stream of ``stream``, through a synchronous redis client."""

    def __init__(self, client: Any, stream: str) -> None:
        self.client = client
        self.stream = stream
        self.dlq = keys.dead_letter_stream(stream)
        self._redrive = scripts.register(client, "redrive")

    def count(self) -> int:
        return int(self.client.xlen(self.dlq))

    def iter(self, *, error_type: str | None = None) -> Iterator[DeadLetter]:
        """Every entry, oldest first, optionally only those of one error type."""
        start = "-"
        while True:
            page = self.client.xrange(self.dlq, min=start, max="+", count=PAGE_SIZE)
            if not page:
                return
            for raw_id, raw_fields in page:
                entry = DeadLetter(
                    id=_text(raw_id), fields={_text(k): _text(v) for k, v in raw_fields.items()}
                )
                if error_type is None or entry.error_type == error_type:
                    yield entry
            if len(page) < PAGE_SIZE:
                return
            start = "(" + _text(page[-1][0])

    def list_entries(self, *, limit: int = 100, error_type: str | None = None) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        for entry in self.iter(error_type=error_type):
            if len(out) >= limit:
                break
            out.append(entry)
        return out

    def counts_by_error_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.iter():
            counts[entry.error_type] = counts.get(entry.error_type, 0) + 1
        return counts

    def show(self, entry_id: str) -> DeadLetter:
        found = self.client.xrange(self.dlq, min=entry_id, max=entry_id)
        if not found:
            raise DeadLetterNotFound(f"no entry {entry_id} in dead-letter stream {self.dlq}")
        raw_id, raw_fields = found[0]
        return DeadLetter(
            id=_text(raw_id), fields={_text(k): _text(v) for k, v in raw_fields.items()}
        )

    def select(
        self,
        ids: Sequence[str] | None = None,
        *,
        error_type: str | None = None,
        where: Callable[[DeadLetter], bool] | None = None,
    ) -> list[str]:
        """The ids an operation on ``ids`` (``None``: every entry) would touch: those of
        ``error_type`` and for which ``where`` holds. A given id that does not exist is kept, so
        the operation reports it missing."""
        if ids is None:
            return [e.id for e in self.iter(error_type=error_type) if where is None or where(e)]
        if error_type is None and where is None:
            return list(ids)
        return [i for i in ids if self._matches(i, error_type, where)]

    def _matches(
        self, entry_id: str, error_type: str | None, where: Callable[[DeadLetter], bool] | None
    ) -> bool:
        try:
            entry = self.show(entry_id)
        except DeadLetterNotFound:
            return True  # reported as missing by the operation itself
        return (error_type is None or entry.error_type == error_type) and (
            where is None or where(entry)
        )

    def redrive(
        self,
        ids: Sequence[str] | None = None,
        *,
        error_type: str | None = None,
        where: Callable[[DeadLetter], bool] | None = None,
        dry_run: bool = False,
    ) -> RedriveReport:
        """Move entries back to the source stream (``ids=None``: all), attempts reset to 0."""
        selected = self.select(ids, error_type=error_type, where=where)
        report = RedriveReport(dry_run=dry_run, selected=selected)
        if dry_run:
            return report
        for chunk in _chunks(selected, PAGE_SIZE):
            moved, missing = self._redrive(keys=[self.dlq, self.stream], args=chunk)
            flat = [_text(x) for x in moved]
            report.moved.extend(zip(flat[0::2], flat[1::2], strict=True))
            report.missing.extend(_text(x) for x in missing)
        return report

    def purge(
        self,
        ids: Sequence[str] | None = None,
        *,
        error_type: str | None = None,
        where: Callable[[DeadLetter], bool] | None = None,
    ) -> int:
        """Delete entries for good (``ids=None``: all, or all of one error type)."""
        selected = self.select(ids, error_type=error_type, where=where)
        removed = 0
        for chunk in _chunks(selected, PAGE_SIZE):
            removed += int(self.client.xdel(self.dlq, *chunk))
        return removed


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
