"""No answer is built from the ``Host`` header: a path with a trailing slash is 404, never a
redirect to whatever host the request named."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.weather_service.conftest import WRITE_HEADERS, Api
from weather_service.api.docs import DOCS_PATHS

EVIL_HOST = "evil.example"


def every_path(api: Api) -> list[str]:
    paths = api.client.get("/openapi.json", headers=WRITE_HEADERS).json()["paths"]
    filled = [p.format(location_id="trail-0001", run_id="r-1") for p in paths]
    return sorted({*filled, *DOCS_PATHS})


@pytest.mark.parametrize("read_auth", [False, True])
def test_no_trailing_slash_redirect_goes_to_the_host_the_client_named(
    make_api: Callable[..., Api], read_auth: bool
) -> None:
    api = make_api(weather_service_read_auth=read_auth)
    paths = every_path(api)
    assert "/v1/locations" in paths and "/docs" in paths
    for path in paths:
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH"):
            for headers in ({}, WRITE_HEADERS):
                response = api.client.request(
                    method,
                    path + "/",
                    headers={**headers, "Host": EVIL_HOST},
                    json={} if method in ("POST", "PUT", "PATCH") else None,
                    follow_redirects=False,
                )
                assert response.status_code == 404, (method, path, response.status_code)
                assert "location" not in response.headers, (method, path)
                assert EVIL_HOST not in str(response.headers), (method, path)


@pytest.mark.parametrize(
    "path", ["//evil.example/", "//evil.example/v1/locations/", "/\\evil.example/"]
)
def test_paths_that_look_like_another_host_are_not_redirected_either(api: Api, path: str) -> None:
    response = api.client.get(path, headers={"Host": EVIL_HOST}, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers
