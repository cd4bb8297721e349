"""Showing untrusted text: a stream entry's fields can be any size, and a message, log line or
listing that repeats one must stay short. Each helper keeps a prefix and says how much it left out.
"""

from __future__ import annotations

PREVIEW_CHARS = 40  # enough to recognise a value, short enough for one log line
ELLIPSIS = "…"


def clip(value: str, max_chars: int) -> str:
    """``value``, or its first ``max_chars`` characters followed by ``…[+N chars]``."""
    if len(value) <= max_chars:
        return value
    return f"{value[:max_chars]}{ELLIPSIS}[+{len(value) - max_chars} chars]"


def preview(value: str, max_chars: int = PREVIEW_CHARS) -> str:
    """``repr`` of ``value`` for a message, or of its first ``max_chars`` characters followed by
    ``…`` and the full length: ``'aaaa'… (1048576 chars)``."""
    if len(value) <= max_chars:
        return repr(value)
    return f"{value[:max_chars]!r}{ELLIPSIS} ({len(value)} chars)"
