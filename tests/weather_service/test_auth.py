from __future__ import annotations

from typing import Any

import pytest

from etl_core.errors import ConfigurationError
from tests.weather_service.conftest import (
    API_KEY,
    OTHER_KEY,
    Api,
    add_locations,
    condition,
    location,
    weather,
)
from weather_service.api.auth import ApiKeys
from weather_service.settings import WeatherServiceSettings, trim_api_key

VALID_WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/locations"): {"locations": [location("trail-0002")]},
    ("PUT", "/v1/locations/{location_id}/weather"): {"records": [weather(0)]},
    ("PUT", "/v1/weather"): {"records": [weather(0, location_id="trail-0001")]},
    ("PUT", "/v1/locations/{location_id}/conditions"): {"conditions": [condition(0)]},
    ("PUT", "/v1/conditions"): {"conditions": [condition(0, location_id="trail-0001")]},
    ("POST", "/v1/runs"): {"run_id": "r-2", "stage": "fetch-weather"},
    ("PATCH", "/v1/runs/{run_id}"): {"status": "failed"},
}


# Reads sent as POST because their list of ids can be long: they change nothing.
READ_POSTS = {("POST", "/v1/weather/query")}
QUERY = {"location_ids": ["trail-0001"], "start": "2026-11-01T00:00Z", "end": "2026-11-02T00:00Z"}


def write_routes(api: Api) -> list[tuple[str, str]]:
    """Every (method, path template) in the OpenAPI schema that is not a read."""
    paths = api.client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}
        and (method.upper(), path) not in READ_POSTS
    ]


def snapshot(api: Api) -> Any:
    get = api.client.get
    return (
        get("/v1/stats").json(),
        get("/v1/locations").json(),
        get("/v1/locations/trail-0001/weather").json(),
        get("/v1/locations/trail-0001/conditions").json(),
        get("/v1/runs/r-1").json(),
    )


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong-key-0123456789"},
                                     {"X-API-Key": API_KEY[:-1]}, {"X-API-Key": ""},
                                     {"Authorization": f"Bearer {API_KEY}"}])
def test_every_write_without_a_valid_key_is_401_and_changes_nothing(
    api: Api, headers: dict[str, str]
) -> None:
    add_locations(api, "trail-0001")
    api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "fetch-weather"})
    before = snapshot(api)
    routes = write_routes(api)
    assert sorted(routes) == sorted(VALID_WRITES), "a write route has no auth test body"

    for method, template in routes:
        path = template.format(location_id="trail-0001", run_id="r-1")
        response = api.client.request(
            method, path, json=VALID_WRITES[(method, template)], headers=headers
        )
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "ApiKey"

    assert snapshot(api) == before


def test_every_configured_key_is_accepted(api: Api) -> None:
    for key in (API_KEY, OTHER_KEY):
        response = api.client.post(
            "/v1/locations", json={"locations": [location()]}, headers={"X-API-Key": key}
        )
        assert response.status_code == 200


def test_reads_are_open_by_default_and_keyed_when_read_auth_is_on(make_api: Any) -> None:
    open_api = make_api()
    assert open_api.client.get("/v1/locations").status_code == 200
    assert open_api.client.post("/v1/weather/query", json=QUERY).status_code == 200

    closed = make_api(weather_service_read_auth=True)
    for path in ("/v1/locations", "/v1/locations/x", "/v1/conditions/latest", "/v1/stats",
                 "/v1/runs/x", "/v1/locations/x/weather", "/v1/locations/x/conditions"):
        assert closed.client.get(path).status_code == 401, path
    assert closed.client.post("/v1/weather/query", json=QUERY).status_code == 401
    assert closed.client.get("/v1/locations", headers={"X-API-Key": OTHER_KEY}).status_code == 200
    keyed = closed.client.post("/v1/weather/query", json=QUERY, headers={"X-API-Key": OTHER_KEY})
    assert keyed.status_code == 200
    for path in ("/health", "/ready", "/metrics"):
        assert closed.client.get(path).status_code == 200, path


def test_anonymous_writes_only_with_the_explicit_development_setting(make_api: Any) -> None:
    api = make_api(weather_service_api_keys="", weather_service_allow_anonymous_writes=True)
    response = api.client.post("/v1/locations", json={"locations": [location()]})
    assert response.status_code == 200


def test_settings_refuse_to_load_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEATHER_SERVICE_API_KEYS", raising=False)
    monkeypatch.delenv("WEATHER_SERVICE_ALLOW_ANONYMOUS_WRITES", raising=False)
    with pytest.raises(ConfigurationError, match="WEATHER_SERVICE_API_KEYS"):
        WeatherServiceSettings.load()
    monkeypatch.setenv("WEATHER_SERVICE_API_KEYS", "short")
    with pytest.raises(ConfigurationError, match="at least 16"):
        WeatherServiceSettings.load()
    monkeypatch.setenv("WEATHER_SERVICE_API_KEYS", " a-key-long-enough-1 , a-key-long-enough-2 ")
    monkeypatch.setenv("WEATHER_SERVICE_MAX_BATCH", "0")
    with pytest.raises(ConfigurationError, match="WEATHER_SERVICE_MAX_BATCH"):
        WeatherServiceSettings.load()
    monkeypatch.delenv("WEATHER_SERVICE_MAX_BATCH")
    settings = WeatherServiceSettings.load()
    assert settings.api_keys == ("a-key-long-enough-1", "a-key-long-enough-2")
    assert API_KEY not in repr(settings) and "a-key-long-enough-1" not in repr(settings)


def test_settings_refuse_in_memory_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHER_SERVICE_API_KEYS", API_KEY)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///:memory:")
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        WeatherServiceSettings.load()


KEY_WITH_EDGES = ["{key}", " {key}", "{key} ", "\t{key}\t", "  {key}\t "]


@pytest.mark.parametrize("presented", KEY_WITH_EDGES)
@pytest.mark.parametrize("configured", [*KEY_WITH_EDGES, "{key}\n", "\r\n{key}\r\n"])
def test_keys_are_trimmed_by_one_rule_on_both_sides(presented: str, configured: str) -> None:
    """Spaces and tabs at either end of the presented key, and those plus CR/LF at either end of a
    configured one, are not part of the key; leading and trailing alike."""
    keys = ApiKeys.of(
        (configured.format(key=API_KEY),), anonymous_writes=False, read_auth=True
    )
    assert keys.matches(presented.format(key=API_KEY))
    assert trim_api_key(configured.format(key=API_KEY)) == trim_api_key(
        presented.format(key=API_KEY)
    )


@pytest.mark.parametrize(
    "presented",
    [API_KEY[:-1], API_KEY + "x", API_KEY[:8] + " " + API_KEY[8:], API_KEY.upper(),
     "\u00a0" + API_KEY, API_KEY + "\x0b", "", " \t ", None],
)
def test_anything_but_the_trimmed_key_is_refused(presented: str | None) -> None:
    keys = ApiKeys.of((f" {API_KEY} ",), anonymous_writes=False, read_auth=True)
    assert not keys.matches(presented)


def test_a_key_with_edges_is_accepted_over_http_both_ways(make_api: Any) -> None:
    api = make_api(weather_service_api_keys=f"\t{API_KEY} , {OTHER_KEY}\n")
    for presented in (f" {API_KEY}", f"{API_KEY} ", f"\t{OTHER_KEY}\t"):
        response = api.client.post(
            "/v1/locations", json={"locations": [location()]}, headers={"X-API-Key": presented}
        )
        assert response.status_code == 200, repr(presented)
    refused = api.client.post(
        "/v1/locations", json={"locations": [location()]}, headers={"X-API-Key": f"{API_KEY}."}
    )
    assert refused.status_code == 401


def test_a_non_ascii_key_matches_the_bytes_a_client_sends(make_api: Any) -> None:
    """Starlette hands header values over as Latin-1 text; a UTF-8 key still matches itself."""
    key = "clé-de-l-api-0123456789"
    api = make_api(weather_service_api_keys=key)
    sent = key.encode("utf-8")
    ok = api.client.post("/v1/locations", json={"locations": [location()]},
                         headers=[(b"X-API-Key", sent)])
    assert ok.status_code == 200, ok.text
    # Starlette's test client re-encodes header values as UTF-8, so the other byte form is
    # checked on the comparison itself: what a server hands over for Latin-1 bytes.
    keys = ApiKeys.of((key,), anonymous_writes=False, read_auth=True)
    assert keys.matches(sent.decode("latin-1"))
    assert not keys.matches(key.encode("latin-1").decode("latin-1"))
