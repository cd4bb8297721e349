"""Nothing the pipeline writes to Redis grows without bound: after a whole pipeline run every key
but the streams (trimmed by the workers) has a TTL, or is in ``BOUNDED_WITHOUT_TTL`` with the
reason it stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from etl_core import keys
from services import pipeline_keys
from tests.conftest import RedisBackend
from tests.services.conftest import SourceUnderTest, WeatherService, trail
from tests.services.pipeline.test_end_to_end import _drain, _schedule

# Keys that may live without a TTL, each bounded otherwise (prefix -> why).
BOUNDED_WITHOUT_TTL = {
    # Entries leave it when they are due (promote_delayed.lua); empty, Redis deletes it.
    keys.delayed_set(pipeline_keys.INGESTION_STREAM): "emptied as retries fall due",
    keys.delayed_set(pipeline_keys.CATEGORIZATION_STREAM): "emptied as retries fall due",
}


async def test_every_key_but_the_streams_expires(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
    source: SourceUnderTest,
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(5)])
    await _schedule(weather, backend, tmp_path, datetime.now(UTC))
    await _drain(weather, owm_http, aredis, source)

    unbounded = []
    families = set()
    async for raw in aredis.scan_iter(count=1000):
        key = raw.decode()
        families.add(key.rsplit(":", 1)[0])
        if await aredis.type(key) == b"stream" or key in BOUNDED_WITHOUT_TTL:
            continue
        if await aredis.pttl(key) < 0:
            unbounded.append(key)
    assert unbounded == []
    # The run wrote what it should have (a check that would see no keys would prove nothing).
    assert any(f.startswith("etl:done:") for f in families)
    assert any(f.startswith(f"etl:{source.name}:{source.endpoints[0]}") for f in families)
    assert any(f.startswith("etl:published:") for f in families)
