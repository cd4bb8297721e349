"""The pipeline's task types and the codecs the stages use.

* ``IngestTask`` (``owm.ingest``): fetch the weather of one location for one schedule window. It
  carries the coordinates so the fetch worker need not look the location up.
* ``CategorizeTask`` (``owm.categorize``): label the trail condition of one location once its
  weather for the window is stored.

Both are ``ScheduledTask``s: their id is ``<type>:<location_id>@<window>``, so a re-run of the
schedule in the same window, or a redelivered hand-off, adds nothing. ``location_id`` follows the
weather service's id rule (``ResourceId``: letters, digits and ``. _ : -``, at most 100), so an
entry with any other id is a poison message before it reaches a URL, a paid call or a log line.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from etl_core.task import ScheduledTask, TaskCodec
from etl_core.windows import WindowRule
from weather_service.models.common import ResourceId


class LocationTask(ScheduledTask):
    """A scheduled task for one location the weather service knows."""

    location_id: ResourceId


class IngestTask(LocationTask):
    task_type: ClassVar[str] = "owm.ingest"

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


class CategorizeTask(LocationTask):
    task_type: ClassVar[str] = "owm.categorize"


PIPELINE_CODEC = TaskCodec([IngestTask, CategorizeTask])  # producers and tools: every type


# Each worker decodes only its own stream's type (anything else there is a poison message), with
# window labels checked against SCHEDULE_WINDOW on the worker's clock.
def ingest_codec(window_rule: WindowRule) -> TaskCodec:
    return TaskCodec([IngestTask], window_rule=window_rule)


def categorize_codec(window_rule: WindowRule) -> TaskCodec:
    return TaskCodec([CategorizeTask], window_rule=window_rule)
