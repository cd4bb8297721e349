"""The API docs: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``, behind the same key as
the reads (``WEATHER_SERVICE_READ_AUTH``): the schema describes every route and field, which is
no more public than the data. FastAPI's own docs routes take no dependencies, so the app turns them
off and includes this router instead.

The two HTML pages load their scripts and styles from the CDN FastAPI uses, and each answers with
a Content-Security-Policy that allows only those, the inline script of the page (by its hash) and
requests back to this service; ``frame-ancestors 'none'`` keeps them out of other sites' frames.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

OPENAPI_PATH = "/openapi.json"
SWAGGER_PATH = "/docs"
REDOC_PATH = "/redoc"
DOCS_PATHS = (OPENAPI_PATH, SWAGGER_PATH, REDOC_PATH)

ASSET_ORIGIN = "https://cdn.jsdelivr.net"
SWAGGER_JS_URL = f"{ASSET_ORIGIN}/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
SWAGGER_CSS_URL = f"{ASSET_ORIGIN}/npm/swagger-ui-dist@5/swagger-ui.css"
REDOC_JS_URL = f"{ASSET_ORIGIN}/npm/redoc@2/bundles/redoc.standalone.js"
FAVICON_URL = "https://fastapi.tiangolo.com/img/favicon.png"
INLINE_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def content_security_policy(html: str) -> str:
    """The policy of one docs page: its assets, its inline scripts by hash, nothing else.
    Swagger UI and ReDoc set inline styles, and ReDoc runs a worker from a ``blob:`` URL."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT_RE.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {ASSET_ORIGIN} {hashes}".rstrip(),
            f"style-src {ASSET_ORIGIN} 'unsafe-inline'",
            f"img-src 'self' data: {FAVICON_URL}",
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
        swagger_js_url=SWAGGER_JS_URL,
        swagger_css_url=SWAGGER_CSS_URL,
        swagger_favicon_url=FAVICON_URL,
    )
    return bytes(page.body).decode()


@cache
def _redoc_html(title: str) -> str:
    page = get_redoc_html(
        openapi_url=OPENAPI_PATH,
        title=f"{title} - ReDoc",
        redoc_js_url=REDOC_JS_URL,
        redoc_favicon_url=FAVICON_URL,
        with_google_fonts=False,
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
