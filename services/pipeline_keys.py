"""The pipeline's streams, consumer groups and shared limiter and breaker names, in one place.

``etl_core`` names no stream, group or provider: it builds every key derived from these names
(dead-letter streams, delayed sets, markers, done marks, the limiter's and breakers' keys) with
the functions of ``etl_core.keys``. These names are operators' data: a stream, group, limiter or
breaker renamed here is a new, empty one in Redis (``services.key_migration`` moves the layout
before hash tags; ``UNTAGGED_STREAMS`` is its map).
"""

from __future__ import annotations

from etl_core.keys import partition_stream

# The pipeline's streams (named as operators know them, then in partition 0) and consumer groups.
INGESTION_STREAM_BASE = "owm-ingestion-stream"
CATEGORIZATION_STREAM_BASE = "owm-categorization-stream"
INGESTION_STREAM = partition_stream(INGESTION_STREAM_BASE)
CATEGORIZATION_STREAM = partition_stream(CATEGORIZATION_STREAM_BASE)
PIPELINE_STREAMS: tuple[str, ...] = (INGESTION_STREAM, CATEGORIZATION_STREAM)
# Stream names of the layout before hash tags, for the upgrade (docs/operations.md, "Upgrading").
UNTAGGED_STREAMS: dict[str, str] = {
    INGESTION_STREAM_BASE: INGESTION_STREAM,
    CATEGORIZATION_STREAM_BASE: CATEGORIZATION_STREAM,
}
FETCH_GROUP = "fetch-weather"
CATEGORIZE_GROUP = "categorize-trail-conditions"

# Names of the shared limiter and breaker that guard OpenWeatherMap (``etl_core.keys.rate_limit_*``,
# ``etl_core.keys.breaker``), and of the breaker in front of the weather service.
OWM_RATE_LIMITER = "owm"
OWM_BREAKER = "owm"
WEATHER_SERVICE_BREAKER = "weather-service"
