"""structlog, configured once per process: JSON lines in production, readable in a terminal.

Bind context per task with ``log.bind(task_id=..., stream=..., message_id=...)``; every line is one
event name plus key/value pairs.

Every line, structlog's and the standard library's, has the password of any URL in it redacted
(``etl_core.redact``) before it is written: an error message may quote a connection URL.
"""

from __future__ import annotations

import logging
import sys

import structlog

from etl_core.redact import redact_text

_configured = False


def _redact_event(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """A structlog processor: URL passwords out of every string value (the traceback too)."""
    for key, value in event_dict.items():
        if isinstance(value, str) and "://" in value:
            event_dict[key] = redact_text(value)
    return event_dict


class _RedactFilter(logging.Filter):
    """The same for the standard library's records (redis-py, uvicorn)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg, record.args = redact_text(message), None
        return True


def configure_logging(*, json: bool | None = None, level: str = "INFO") -> None:
    """Configure structlog and the standard library's root logger. Safe to call more than once.

    ``json=None`` picks JSON when stderr is not a terminal (containers, CI) and console output
    otherwise.
    """
    global _configured
    if json is None:
        json = not sys.stderr.isatty()
    level_no = logging.getLevelNamesMapping().get(level.upper())
    if level_no is None:
        raise ValueError(f"log level {level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(
        level=level_no, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _RedactFilter) for f in handler.filters):
            handler.addFilter(_RedactFilter())
    # httpx/httpcore log every request at INFO: noise at production volume, kept for DEBUG.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(level_no, logging.WARNING))
    _configured = True


def get_logger(name: str | None = None, **context: object) -> structlog.stdlib.BoundLogger:
    """A structlog logger with ``context`` bound (e.g. ``component="outbox"``)."""
    # A lazy proxy: binding happens on first use, so module-level loggers made at import time
    # still follow a configure_logging() that runs later.
    return structlog.get_logger(name, **context)
