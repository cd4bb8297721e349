"""Security headers on every answer, for the case where a browser reaches the service.

The service answers JSON to programs, but a browser can be pointed at it (the API docs are meant
for one; a link or a page elsewhere can make one request anything). So every answer says:

* ``X-Content-Type-Options: nosniff``: the declared type is the type; JSON is never run as script.
* ``Cache-Control: no-store``: answers can be keyed (reads under ``WEATHER_SERVICE_READ_AUTH``,
  every write) and the data changes by the hour; no browser or proxy keeps a copy. (The docs'
  vendored scripts and styles set a ``private`` max-age of their own: they are not data.)
* ``Content-Security-Policy`` (``default-src 'none'; frame-ancestors 'none'``) and
  ``X-Frame-Options: DENY``: a JSON answer opened in a browser loads and runs nothing, and no page
  is framed by another site (clickjacking). The docs pages set a policy of their own (see
  ``weather_service.api.docs``), which is kept.
* ``Referrer-Policy: no-referrer``: links followed from the docs do not carry the service's URL.
* ``Cross-Origin-Resource-Policy: same-origin``: another site's page cannot embed an answer.

A header the route set itself wins. ``Strict-Transport-Security`` is not sent: the service speaks
plain HTTP, where browsers ignore it; whatever terminates TLS in front of it should send it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", JSON_CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Adds ``SECURITY_HEADERS`` to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _value in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
