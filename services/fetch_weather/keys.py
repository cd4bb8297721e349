"""The Redis keys of fetch-weather itself (the library's keys are in ``etl_core.keys``)."""

from __future__ import annotations

from etl_core.keys import PREFIX


def answer_cache(source: str, endpoint: str, identity: str) -> str:
    """The part of a weather source's answer its transform reads, kept about one schedule window,
    so a redelivered task pays no second call.

    ``identity`` names the request, e.g. ``trail-0042@2026-11-22T10:00Z`` for OWM's onecall or
    ``trail-0042:2026-11-21`` for its day summary.
    """
    return f"{PREFIX}:{source}:{endpoint}:{identity}"


def history_covered(location_id: str) -> str:
    """Set while the weather service is known to hold enough observed history of a location (its
    TTL is how long that stays true without new observations), so fetch-weather skips the check."""
    return f"{PREFIX}:history:{location_id}"
