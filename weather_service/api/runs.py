"""ETL run records: a stage opens a run when it starts and closes it when it ends.

``POST`` is idempotent by ``run_id``: repeating it returns the stored run unchanged (200). A
finished run keeps its status: ``PATCH`` may add counts or a message, but a different status is
409. ``counts`` in a ``PATCH`` are merged key by key into the stored ones.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import Row

from etl_core.logging import get_logger
from weather_service.api.deps import EngineDep, RunIdPath, field_error, not_found
from weather_service.api.json_route import OrjsonRoute
from weather_service.db.engine import read_transaction, write_transaction
from weather_service.models.common import ErrorOut
from weather_service.models.runs import FINISHED_STATUSES, RunCreate, RunOut, RunPatch
from weather_service.store import runs as store

read_router = APIRouter(tags=["runs"], route_class=OrjsonRoute)
write_router = APIRouter(tags=["runs"], route_class=OrjsonRoute)
log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


def run_out(row: Row[Any]) -> RunOut:
    duration_s = (
        (row.finished_at - row.started_at).total_seconds() if row.finished_at is not None else None
    )
    return RunOut(
        run_id=row.run_id,
        stage=row.stage,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_s=duration_s,
        counts=dict(row.counts),
        message=row.message,
    )


def _check_times(status_: str, started_at: datetime, finished_at: datetime | None) -> None:
    if finished_at is None:
        return
    if status_ not in FINISHED_STATUSES:
        field_error(["body", "finished_at"], "only a finished run (not 'running') has finished_at")
    if finished_at < started_at:
        field_error(["body", "finished_at"], "must not be before started_at")


@write_router.post(
    "/v1/runs",
    response_model=RunOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": RunOut, "description": "The run already existed; returned unchanged."},
        401: {"model": ErrorOut},
        409: {"model": ErrorOut},
    },
)
def create_run(body: RunCreate, response: Response, engine: EngineDep) -> RunOut:
    """Record the start (or the whole) of a run of a pipeline stage."""
    now = datetime.now(UTC)
    started_at = body.started_at or now
    finished_at = body.finished_at
    if finished_at is None and body.status in FINISHED_STATUSES:
        finished_at = max(now, started_at)
    _check_times(body.status, started_at, finished_at)
    run_id = body.run_id or f"run-{uuid.uuid4().hex}"
    with write_transaction(engine) as connection:
        inserted = store.insert_run(
            connection,
            {
                "run_id": run_id,
                "stage": body.stage,
                "status": body.status,
                "started_at": started_at,
                "finished_at": finished_at,
                "counts": dict(body.counts),
                "message": body.message,
            },
        )
        row = store.get_run(connection, run_id)
    assert row is not None
    if not inserted:
        if row.stage != body.stage:
            raise HTTPException(
                status_code=status.HTTP_409_CONFLICT,
                detail="a run with this run_id exists for another stage",
            )
        response.status_code = status.HTTP_200_OK
        return run_out(row)
    log.info("run_started", run_id=run_id, stage=body.stage, status=body.status)
    return run_out(row)


@write_router.patch(
    "/v1/runs/{run_id}",
    response_model=RunOut,
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def update_run(run_id: RunIdPath, body: RunPatch, engine: EngineDep) -> RunOut:
    """Finish a run, or add counts or a message to it."""
    with write_transaction(engine) as connection:
        existing = store.get_run(connection, run_id, for_update=True)
        if existing is None:
            not_found("run")
        values = _patch_values(existing, body)
        store.update_run(connection, run_id, values)
        row = store.get_run(connection, run_id)
    assert row is not None
    if "status" in values:
        log.info(
            "run_status_changed",
            run_id=run_id,
            stage=row.stage,
            status=row.status,
            counts=row.counts,
        )
    return run_out(row)


def _patch_values(existing: Row[Any], body: RunPatch) -> dict[str, Any]:
    values: dict[str, Any] = {}
    new_status = body.status or existing.status
    if existing.status in FINISHED_STATUSES and new_status != existing.status:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail=f"the run already finished as {existing.status!r}; its status cannot change",
        )
    if new_status != existing.status:
        values["status"] = new_status
    finished_at = body.finished_at or existing.finished_at
    if finished_at is None and new_status in FINISHED_STATUSES:
        finished_at = max(datetime.now(UTC), existing.started_at)
    _check_times(new_status, existing.started_at, finished_at)
    if finished_at != existing.finished_at:
        values["finished_at"] = finished_at
    if body.counts:
        values["counts"] = {**existing.counts, **body.counts}
    if body.message is not None:
        values["message"] = body.message
    return values


@read_router.get("/v1/runs/{run_id}", response_model=RunOut, responses={404: {"model": ErrorOut}})
def get_run(run_id: RunIdPath, engine: EngineDep) -> RunOut:
    with read_transaction(engine) as connection:
        row = store.get_run(connection, run_id)
    if row is None:
        not_found("run")
    return run_out(row)
