"""What the batch write routes (weather, conditions) share: the unknown-location check and the
written-result bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from etl_core.logging import get_logger
from weather_service.api.deps import field_error
from weather_service.models.common import UpsertResult
from weather_service.store.locations import existing_ids

log = get_logger(__name__)


def require_known_locations(
    connection: Any, rows: Sequence[dict[str, Any]], collection: str
) -> None:
    """422 naming the first row whose ``location_id`` is unknown (the caller's transaction then
    rolls back: nothing is written)."""
    known = existing_ids(connection, (row["location_id"] for row in rows))
    unknown = next((i for i, r in enumerate(rows) if r["location_id"] not in known), None)
    if unknown is not None:
        field_error(
            ["body", collection, unknown, "location_id"],
            "no location has this id",
            "unknown_location",
        )


def written(
    request: Request, what: str, location_id: str | None, received: int, count: int
) -> UpsertResult:
    """Record the write in metrics and the log; the route's answer."""
    request.app.state.metrics.observe_write(what, received=received, written=count)
    log.info(f"{what}_upserted", location_id=location_id, received=received, written=count)
    return UpsertResult(received=received, written=count)
