"""The API docs (``/openapi.json``, ``/docs``, ``/redoc`` and their assets) are behind the read key
when reads need one, their pages load everything from the service itself (no CDN: they work
offline), and allow only the scripts they load."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from tests.weather_service.conftest import API_KEY, OTHER_KEY, Api
from weather_service.api.docs import (
    ASSET_CACHE_CONTROL,
    ASSETS,
    DOCS_PATHS,
    REDOC_VERSION,
    STATIC_DIR,
    SWAGGER_UI_VERSION,
)

HTML_PAGES = ("/docs", "/redoc")
URL_ATTRIBUTES = ("src", "href", "spec-url")
CONTENT_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "png": "image/png",
}


class References(HTMLParser):
    """Every URL a page names in an attribute (script and style sources, icons, ReDoc's spec)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [(tag, n, v) for n, v in attrs if n in URL_ATTRIBUTES and v is not None]


def references(html: str) -> list[tuple[str, str, str]]:
    parser = References()
    parser.feed(html)
    parser.close()
    return parser.urls


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
    assert sources[0] == "'self'"
    assert len(sources) == 1 + len(inline)  # the service, and one hash per inline script
    # No other origin anywhere in the policy: the pages load nothing from elsewhere.
    assert not re.search(r"https?:|//", page.headers["content-security-policy"])
    assert policy["img-src"] == "'self' data:" and policy["connect-src"] == "'self'"


@pytest.mark.parametrize("path", HTML_PAGES)
def test_a_docs_page_names_no_other_host_and_every_asset_it_names_is_served(
    api: Api, path: str
) -> None:
    page = api.client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    # No absolute URL at all, in an attribute or in the inline script (Google Fonts included).
    assert not re.search(r"(?:https?:)?//[a-z0-9]", page.text, re.IGNORECASE), page.text
    urls = references(page.text)
    tags = {tag for tag, _name, _url in urls}
    assert "script" in tags and "link" in tags  # the script, and the favicon (and Swagger's CSS)
    for tag, name, url in urls:
        assert url.startswith("/") and not url.startswith("//"), (tag, name, url)
        answer = api.client.get(url)
        assert answer.status_code == 200, url
        if name == "spec-url":
            assert answer.json() == api.app.openapi()
            continue
        extension = url.rsplit(".", 1)[-1]
        assert answer.headers["content-type"] == CONTENT_TYPES[extension], url
        assert answer.headers["x-content-type-options"] == "nosniff"
    if path == "/docs":
        assert "url: '/openapi.json'" in page.text


def test_every_asset_is_the_vendored_file_and_may_be_cached_by_the_browser(api: Api) -> None:
    for asset in ASSETS:
        answer = api.client.get(asset.url)
        assert answer.status_code == 200, asset.url
        assert answer.headers["content-type"] == asset.media_type
        assert answer.content == (STATIC_DIR / asset.file).read_bytes()
        assert answer.headers["cache-control"] == ASSET_CACHE_CONTROL
        assert answer.headers["cross-origin-resource-policy"] == "same-origin"
    for missing in ("/docs/assets", "/docs/assets/", "/docs/assets/swagger-ui/LICENSE"):
        assert api.client.get(missing).status_code == 404, missing


def test_the_vendored_files_are_the_ones_the_readme_records() -> None:
    """The versions in the asset URLs are those of static/docs/README.md, and every file there
    still has the SHA-256 recorded (an edited or half-updated asset fails here)."""
    readme = (STATIC_DIR / "README.md").read_text()
    assert f"| {SWAGGER_UI_VERSION} | Apache-2.0 |" in readme
    assert f"| {REDOC_VERSION} | MIT |" in readme
    assert f"-{SWAGGER_UI_VERSION}/" in ASSETS[0].url
    recorded = dict(re.findall(r"^\| `([^`]+)` \| `[^`]+` \| `([0-9a-f]{64})` \|$", readme, re.M))
    files = {
        str(path.relative_to(STATIC_DIR))
        for path in STATIC_DIR.rglob("*")
        if path.is_file() and path.name != "README.md"
    }
    assert set(recorded) == files
    for name, digest in recorded.items():
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    assert {asset.file for asset in ASSETS} <= files
