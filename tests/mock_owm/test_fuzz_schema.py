"""Property-based tests of the mock against its own OpenAPI schema: schemathesis generates
requests (valid and invalid) for every operation and sends them to the app in-process. No answer
may carry a status code the schema does not document, every answer must match its schema (every
error is OpenWeatherMap's ``{"cod", "message"}`` body, or under ``/v1/`` Open-Meteo's
``{"error": true, "reason"}``), schema-violating input must be refused,
and control endpoints must refuse a request without the admin token.
(schemathesis's own ``ignored_auth`` check sends its probe outside the ASGI app, so the refusal is
checked here.)

API requests carry a valid ``appid`` when they carry one at all, so that the parameter checks are
reached (the 401 of a wrong key has its own tests). Each control request is sent again without
the token, which must be a 401 that changes nothing. The configuration is reset before each case:
a generated ``POST /__faults`` must not slow down or break the cases after it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from mock_owm.app import create_app
from mock_owm.errors import error_body
from mock_owm.settings import MockOwmSettings
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN, FIXED_NOW, KEY

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _app() -> FastAPI:
    return create_app(MockOwmSettings.load(now=FIXED_NOW, admin_token=ADMIN_TOKEN))


schema = schemathesis.openapi.from_dict(_app().openapi())
schema.config.generation.update(
    max_examples=MAX_EXAMPLES,
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    deterministic=True,
    database="none",
)


@pytest.fixture(scope="module")
def fuzz_app() -> FastAPI:
    return _app()


@schema.parametrize()
@settings(
    deadline=None,  # no timed assertions; the suite's budget is kept by MAX_EXAMPLES instead
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_answer_is_documented(case: Any, fuzz_app: FastAPI) -> None:
    fuzz_app.state.mock.reset_config()
    if isinstance(case.query, dict) and "appid" in case.query:
        case.query["appid"] = KEY
    response = case.call_and_validate(app=fuzz_app, checks=CHECKS, headers=ADMIN_HEADERS)
    _assert_error_body(response, case.path)
    documented_method = case.method.upper() == case.operation.method.upper()
    if documented_method and case.operation.definition.raw.get("security"):
        fuzz_app.state.mock.reset_config()
        refused = case.call(app=fuzz_app)  # the same request without the token
        assert refused.status_code == 401, (case.path, refused.status_code)
        _assert_error_body(refused, case.path)
        assert fuzz_app.state.mock.config == fuzz_app.state.mock.initial_config


def _assert_error_body(response: Any, path: str) -> None:
    if response.status_code >= 400:
        body = response.json()
        if path.startswith("/v1/"):
            assert set(body) == {"error", "reason"} and body["error"] is True, body
            assert isinstance(body["reason"], str) and body["reason"]
            return
        assert set(body) <= {"cod", "message", "parameters"}, body
        assert body["cod"] == response.status_code and isinstance(body["message"], str)


def test_the_error_schema_is_the_error_body() -> None:
    """The schema the checks above hold answers to describes what ``error_body`` sends."""
    documented = _app().openapi()["paths"]["/data/3.0/onecall"]["get"]["responses"]
    assert {"200", "400", "401", "429", "500", "502", "503", "504"} <= set(documented)
    error = documented["400"]["content"]["application/json"]["schema"]
    assert set(error["properties"]) == set(json.loads(error_body(400, "m", ["lat"])))
