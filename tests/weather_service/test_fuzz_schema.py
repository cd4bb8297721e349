"""Property-based API tests: schemathesis generates requests (valid and invalid) from the service's
OpenAPI schema and sends them to the app in-process. No input may produce a 5xx; every response
must be documented and match its schema; schema-violating input must be refused. Each operation
runs on both backends (the ``database_url`` fixture), with a bounded, deterministic set of examples.

Each generated case is also sent twice more with every string in its path, query and body
replaced by a marker (one shaped like an id, so it passes the id rule and reaches the lookups
behind it, and one that no rule accepts): no 4xx answer may contain the marker.

(``schemathesis.pytest.from_fixture`` would be the natural way to bind the schema to a fixture, but
schemathesis 4.32 breaks under pytest 9 there; binding the app per call with ``app=`` avoids it.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.weather_service.conftest import WRITE_HEADERS, location
from weather_service.app import create_app
from weather_service.settings import WeatherServiceSettings

MAX_EXAMPLES = 20
# Not "positive_data_acceptance": some schema-valid inputs are refused on purpose (a timestamp that
# is not on the hour, a fetched_at in the future, a malformed bbox), and say so with a 422.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
SEEDED_LOCATION = "trail-0042"  # the path examples in the schema name it
MARKER = "zq7marker"
MARKED_VALUES = (MARKER, f"{MARKER}'\"<b>; DROP TABLE locations")


def _settings(database_url: str) -> WeatherServiceSettings:
    return WeatherServiceSettings(
        database_url=database_url,
        weather_service_api_keys=WRITE_HEADERS["X-API-Key"],
        weather_service_migrate_on_start=False,
        weather_service_max_batch=50,
    )


# The schema does not depend on the database: build it once from an app that never connects.
schema = schemathesis.openapi.from_dict(create_app(_settings("sqlite:///unused.db")).openapi())
schema.config.update(headers=WRITE_HEADERS)
schema.config.generation.update(
    max_examples=MAX_EXAMPLES,
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    deterministic=True,
    database="none",
)


@pytest.fixture
def fuzz_app(database_url: str) -> Iterator[FastAPI]:
    from fastapi.testclient import TestClient

    app = create_app(_settings(database_url))
    with TestClient(app) as client:  # something for generated ids to hit, besides 404s
        seeded = client.post(
            "/v1/locations", json={"locations": [location(SEEDED_LOCATION)]},
            headers=WRITE_HEADERS,
        )
        assert seeded.status_code == 200
        yield app


@schema.parametrize()
@settings(
    deadline=None,  # no timed assertions; the suite's budget is kept by MAX_EXAMPLES instead
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the app and its database are shared on purpose
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_input_causes_a_server_error(case: Any, fuzz_app: FastAPI) -> None:
    case.call_and_validate(app=fuzz_app, checks=CHECKS)


def _marked(value: Any, marker: str) -> Any:
    """``value`` with every string in it (not the keys of objects: those are names) replaced."""
    if isinstance(value, str):
        return marker
    if isinstance(value, dict):
        return {key: _marked(item, marker) for key, item in value.items()}
    if isinstance(value, list):
        return [_marked(item, marker) for item in value]
    return value


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_4xx_answer_echoes_a_marker_sent_anywhere(case: Any, fuzz_app: FastAPI) -> None:
    for marker in MARKED_VALUES:
        marked = case.operation.Case(
            method=case.method,
            path_parameters=_marked(case.path_parameters, marker),
            query=_marked(case.query, marker),
            body=case.body if isinstance(case.body, NotSet) else _marked(case.body, marker),
            media_type=case.media_type,
        )
        response = marked.call(app=fuzz_app, headers=WRITE_HEADERS)
        assert response.status_code < 500, (marked, response.text)
        if 400 <= response.status_code < 500:
            assert MARKER not in response.text, (marked, response.text)
