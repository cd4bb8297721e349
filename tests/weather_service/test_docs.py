"""The API docs (``/openapi.json``, ``/docs``, ``/redoc``) are behind the read key when reads need
one, and their pages allow only the scripts they load."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import pytest

from tests.weather_service.conftest import API_KEY, OTHER_KEY, Api
from weather_service.api.docs import DOCS_PATHS

HTML_PAGES = ("/docs", "/redoc")


def test_docs_are_open_when_reads_are(api: Api) -> None:
    for path in DOCS_PATHS:
        assert api.client.get(path).status_code == 200, path
    schema = api.client.get("/openapi.json").json()
    assert schema == api.app.openapi()
    assert not set(DOCS_PATHS) & set(schema["paths"])
    assert "/openapi.json" in api.client.get("/docs").text
    assert api.client.get("/docs/oauth2-redirect").status_code == 404


@pytest.mark.parametrize("path", DOCS_PATHS)
def test_docs_need_the_read_key_when_reads_do(make_api: Callable[..., Api], path: str) -> None:
    api = make_api(weather_service_read_auth=True)
    for headers in ({}, {"X-API-Key": "wrong-key-0123456789"}, {"Authorization": API_KEY}):
        refused = api.client.get(path, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"] == "ApiKey"
        assert "openapi" not in refused.text.lower() and "paths" not in refused.text
    for key in (API_KEY, OTHER_KEY):
        assert api.client.get(path, headers={"X-API-Key": key}).status_code == 200


@pytest.mark.parametrize("path", HTML_PAGES)
def test_a_docs_page_allows_its_own_scripts_and_nothing_frames_it(api: Api, path: str) -> None:
    page = api.client.get(path)
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    sources = policy["script-src"].split()
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in sources
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    assert len(sources) == 1 + len(inline)  # the asset origin, and one hash per inline script
    for url in re.findall(r'(?:src|href)="(https://[^"]+)"', page.text):
        origin = "/".join(url.split("/")[:3])
        assert any(origin in value for value in policy.values()), url
