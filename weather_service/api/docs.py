"""The API docs: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``, behind the same key as
the reads (``WEATHER_SERVICE_READ_AUTH``): the schema describes every route and field, which is
no more public than the data. FastAPI's own docs routes take no dependencies, so the app turns them
off and includes this router instead.

The two HTML pages load their scripts, styles and favicon from the service itself: the files of
Swagger UI and ReDoc are vendored in ``weather_service/static/docs`` (versions, checksums and
licences in its README.md) and served by routes of this router, one per file, under
``/docs/assets/<package>-<version>/``. So the docs work with no internet access, and the assets
sit behind the read key like the pages (a browser sends the pages' own credentials for them).
The routes are ordinary routes rather than a ``StaticFiles`` mount so that they keep everything
the other paths have: HEAD, the ``Allow`` of a 405, no trailing-slash redirect, the read key.

Each page answers with a Content-Security-Policy of its own: the service-wide one
(``default-src 'none'``, see ``weather_service.security_headers``) would block the page's scripts,
so this one allows scripts and styles from the service (``'self'``), the page's inline script by
its hash (no ``'unsafe-inline'`` for scripts), images only from the service and ``data:``,
fonts only from ``data:``, and requests only back to the service. That also keeps the pages
from reaching the internet on their own: ReDoc's side menu shows Redocly's logo from
``cdn.redoc.ly``, which the policy blocks. ``frame-ancestors 'none'`` keeps them out of other
sites' frames.

No ``/docs/oauth2-redirect``: the API has no OAuth2 flow, only the ``X-API-Key`` header.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

OPENAPI_PATH = "/openapi.json"
SWAGGER_PATH = "/docs"
REDOC_PATH = "/redoc"

# The vendored packages' versions: part of the asset URLs, so that a browser may keep an asset
# (ASSET_CACHE_CONTROL) and a new version is a new URL. Kept equal to static/docs/README.md.
SWAGGER_UI_VERSION = "5.35.0"
REDOC_VERSION = "2.5.4"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "docs"
ASSET_PREFIX = "/docs/assets"
# ``private``: only the browser keeps a copy (the assets are behind the read key when reads are),
# for a day; every other answer of the service is ``no-store``.
ASSET_CACHE_CONTROL = "private, max-age=86400"
JS = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class Asset:
    file: str  # under STATIC_DIR
    url: str
    media_type: str


SWAGGER_JS = Asset(
    "swagger-ui/swagger-ui-bundle.js",
    f"{ASSET_PREFIX}/swagger-ui-{SWAGGER_UI_VERSION}/swagger-ui-bundle.js",
    JS,
)
SWAGGER_CSS = Asset(
    "swagger-ui/swagger-ui.css",
    f"{ASSET_PREFIX}/swagger-ui-{SWAGGER_UI_VERSION}/swagger-ui.css",
    "text/css; charset=utf-8",
)
FAVICON = Asset(
    "swagger-ui/favicon-32x32.png",
    f"{ASSET_PREFIX}/swagger-ui-{SWAGGER_UI_VERSION}/favicon-32x32.png",
    "image/png",
)
REDOC_JS = Asset(
    "redoc/redoc.standalone.js", f"{ASSET_PREFIX}/redoc-{REDOC_VERSION}/redoc.standalone.js", JS
)
ASSETS = (SWAGGER_JS, SWAGGER_CSS, FAVICON, REDOC_JS)
DOCS_PATHS = (OPENAPI_PATH, SWAGGER_PATH, REDOC_PATH, *(asset.url for asset in ASSETS))

INLINE_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def content_security_policy(html: str) -> str:
    """The policy of one docs page: its assets, its inline scripts by hash, nothing else.
    Swagger UI and ReDoc set inline styles, and ReDoc runs its search in a worker from a
    ``blob:`` URL."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT_RE.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {hashes}".rstrip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src data:",
            "connect-src 'self'",
            "worker-src blob:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": content_security_policy(html)})


@cache
def _swagger_html(title: str) -> str:
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_PATH,
        title=f"{title} - Swagger UI",
        swagger_js_url=SWAGGER_JS.url,
        swagger_css_url=SWAGGER_CSS.url,
        swagger_favicon_url=FAVICON.url,
        # FastAPI's defaults, plus no online validator (swagger.io; its badge is not part of
        # the BaseLayout the page uses, this only makes sure).
        swagger_ui_parameters={"validatorUrl": None},
    )
    return bytes(page.body).decode()


@cache
def _redoc_html(title: str) -> str:
    page = get_redoc_html(
        openapi_url=OPENAPI_PATH,
        title=f"{title} - ReDoc",
        redoc_js_url=REDOC_JS.url,
        redoc_favicon_url=FAVICON.url,
        with_google_fonts=False,  # the fonts would come from fonts.googleapis.com
    )
    return bytes(page.body).decode()


@router.get(OPENAPI_PATH)
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get(SWAGGER_PATH)
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(_swagger_html(request.app.title))


@router.get(REDOC_PATH)
def redoc(request: Request) -> HTMLResponse:
    return _page(_redoc_html(request.app.title))


def _asset_route(asset: Asset) -> None:
    path = STATIC_DIR / asset.file

    def serve() -> FileResponse:
        return FileResponse(
            path, media_type=asset.media_type, headers={"Cache-Control": ASSET_CACHE_CONTROL}
        )

    router.add_api_route(asset.url, serve, methods=["GET"], name=f"docs_asset:{asset.file}")


for _asset in ASSETS:
    _asset_route(_asset)
