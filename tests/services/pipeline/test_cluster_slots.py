"""The key layout is ready for Redis Cluster: the in-process pipeline tests below run again
against a one-node cluster (which refuses CROSSSLOT scripts, commands and transactions), while
MONITOR checks that no script touches a key it was not given in KEYS (tests/support/
cluster_slots.py). Together they cover every script of etl_core: publish, settle, promote,
trim, prune, rate limit, breaker, pause, redrive.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis

from tests.conftest import RedisBackend
from tests.services.pipeline.test_dead_letters import (  # noqa: F401
    owm_down,
    test_exhausted_retries_are_dead_lettered_then_redriven,
)
from tests.services.pipeline.test_end_to_end import (  # noqa: F401
    test_twenty_locations_flow_through_once,
)
from tests.services.pipeline.test_stage_pause import (  # noqa: F401
    owm_other_key,
    test_a_refused_owm_key_pauses_fetching_and_dead_letters_nothing,
)
from tests.support.cluster_slots import ScriptKeyRecorder, one_node_cluster
from tests.support.redis_server import redis_server_binary, require_or_skip


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    with one_node_cluster() as server:
        yield server.url


@pytest.fixture
def backend(cluster_url: str) -> Iterator[RedisBackend]:
    """Overrides tests/conftest.py's backend for the tests imported above: the one-node cluster,
    watched by MONITOR; the test fails if any script stepped outside its KEYS."""
    flush = redis.Redis.from_url(cluster_url)
    flush.flushall()
    recorder = ScriptKeyRecorder(cluster_url)
    recorder.start()
    yield RedisBackend(
        kind="real",
        make_sync=lambda: redis.Redis.from_url(cluster_url),
        make_async=lambda: aioredis.Redis.from_url(cluster_url),
        url=cluster_url,
    )
    recorder.stop()
    flush.flushall()
    flush.close()
    assert recorder.scripts_seen() > 0, "MONITOR saw no script: the check would prove nothing"
    assert recorder.violations() == []
