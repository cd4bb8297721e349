"""HEAD on every path that answers GET, and a 405 whose ``Allow`` names every method of the path."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.weather_service.conftest import WRITE_HEADERS, Api, add_locations
from weather_service.api.docs import DOCS_PATHS

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def schema_paths(api: Api) -> dict[str, set[str]]:
    """Path (filled in) -> the methods the OpenAPI schema documents for it, plus the docs and
    probe paths, which the schema leaves out or documents as GET."""
    paths = api.client.get("/openapi.json", headers=WRITE_HEADERS).json()["paths"]
    documented = {
        template.format(location_id="trail-0001", run_id="r-1"): {m.upper() for m in operations}
        for template, operations in paths.items()
    }
    return {**documented, **{path: {"GET"} for path in DOCS_PATHS}}


@pytest.mark.parametrize("read_auth", [False, True])
def test_head_answers_every_get_route_with_its_headers_and_no_body(
    make_api: Callable[..., Api], read_auth: bool
) -> None:
    api = make_api(weather_service_read_auth=read_auth)
    add_locations(api, "trail-0001")
    api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "fetch-weather"})
    gets = [path for path, methods in schema_paths(api).items() if "GET" in methods]
    assert len(gets) >= 12
    for path in gets:
        got = api.client.get(path, headers=WRITE_HEADERS)
        head = api.client.head(path, headers=WRITE_HEADERS)
        assert got.status_code == 200, (path, got.text)
        assert head.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        if path != "/metrics":  # the request counters move between the two requests
            assert head.headers["content-length"] == got.headers["content-length"], path


def test_head_is_refused_like_get_without_a_key_and_counted_as_head(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(weather_service_read_auth=True)
    for path in ("/v1/locations", "/docs", "/openapi.json"):
        response = api.client.head(path)
        assert response.status_code == 401, path
        assert response.content == b""
        assert response.headers["www-authenticate"] == "ApiKey"
    assert api.client.head("/v1/locations/no-such-trail", headers=WRITE_HEADERS).status_code == 404
    metrics = api.client.get("/metrics").text
    assert 'method="HEAD",route="/v1/locations",status="401"' in metrics
    assert 'method="GET",route="/v1/locations"' not in metrics


def test_a_405_lists_every_method_the_path_answers(api: Api) -> None:
    for path, documented in schema_paths(api).items():
        expected = set(documented) | ({"HEAD"} if "GET" in documented else set())
        for method in METHODS:
            if method in expected:
                continue
            response = api.client.request(method, path, headers=WRITE_HEADERS)
            assert response.status_code == 405, (method, path, response.status_code)
            allow = [m.strip() for m in response.headers["allow"].split(",")]
            assert set(allow) == expected, (method, path, allow)
            assert len(allow) == len(expected)
            if method != "HEAD":
                assert response.json() == {"detail": "Method Not Allowed"}


def test_allow_names_get_and_post_where_both_share_a_path(api: Api) -> None:
    response = api.client.delete("/v1/locations", headers=WRITE_HEADERS)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    runs = api.client.put("/v1/runs/r-1", headers=WRITE_HEADERS)
    assert runs.headers["allow"] == "GET, HEAD, PATCH"
