"""``trail-etl pause STAGE`` and ``trail-etl resume STAGE``: an operator stops a stage on every
replica at once (the bill or the provider at risk) and lets it go again (``etl_core.pause``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.markup import escape

from etl_core.pause import PauseSource, PauseState, StagePause
from services.cli.common import console, fail, load_settings, redis_errors
from services.status import PIPELINE_STAGES

T = TypeVar("T")
STAGE_HELP = f"The stage (consumer group): {', '.join(PIPELINE_STAGES)}."
DEFAULT_REASON = "paused by an operator"


def _stage(stage: str) -> str:
    if stage not in PIPELINE_STAGES:
        raise fail(f"unknown stage {stage!r}; it must be one of {', '.join(PIPELINE_STAGES)}")
    return stage


def _run(stage: str, action: Callable[[StagePause], Awaitable[T]]) -> T:
    settings = load_settings()

    async def run() -> T:
        client: Any = settings.async_redis_cli()
        try:
            return await action(StagePause(client, stage))
        finally:
            await client.aclose()

    with redis_errors(settings.redis_url):
        return asyncio.run(run())


def pause(
    stage: str = typer.Argument(..., help=STAGE_HELP),
    reason: str = typer.Option(DEFAULT_REASON, "--reason", help="Shown by status and /readyz."),
) -> None:
    """Stop STAGE on every replica: none reads a task or starts a handler until `resume`.

    Tasks already running finish; tasks read and not started wait without
    spending an attempt. Each replica sees the pause within a second or two.
    """
    state: PauseState = _run(_stage(stage), lambda p: p.pause(reason, source=PauseSource.MANUAL))
    console.print(
        f"paused {escape(stage)} ({state.source}): {escape(state.reason)}. Every replica stops "
        "taking tasks within about 2 s; `trail-etl resume` lets them go on."
    )


def resume(stage: str = typer.Argument(..., help=STAGE_HELP)) -> None:
    """Let STAGE run again on every replica (lifts a manual or an automatic pause).

    An automatic pause lifted while its cause remains comes back with the
    next task that meets it.
    """
    lifted = _run(_stage(stage), lambda p: p.resume())
    console.print(f"resumed {escape(stage)}" if lifted else f"{escape(stage)} was not paused")
