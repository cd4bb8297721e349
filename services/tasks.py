"""The pipeline's task types and the codec every stage shares.

* ``IngestTask`` (``owm.ingest``): fetch the weather of one location for one schedule window. It
  carries the coordinates so the fetch worker need not look the location up.
* ``CategorizeTask`` (``owm.categorize``): label the trail condition of one location once its
  weather for the window is stored.

Both are ``ScheduledTask``s: their id is ``<type>:<location_id>@<window>``, so a re-run of the
schedule in the same window, or a redelivered hand-off, adds nothing.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from etl_core.task import ScheduledTask, TaskCodec


class IngestTask(ScheduledTask):
    task_type: ClassVar[str] = "owm.ingest"

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


class CategorizeTask(ScheduledTask):
    task_type: ClassVar[str] = "owm.categorize"


PIPELINE_CODEC = TaskCodec([IngestTask, CategorizeTask])  # producers and tools: every type
# Each worker decodes only its own stream's type: anything else there is a poison message.
INGEST_CODEC = TaskCodec([IngestTask])
CATEGORIZE_CODEC = TaskCodec([CategorizeTask])
