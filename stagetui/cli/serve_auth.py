"""`stagetui serve` beyond loopback: every request must carry the token, or it gets 401 and no app starts."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from textual_serve.server import Server

TOKEN_ENV = "STAGETUI_SERVE_TOKEN"
TOKEN_COOKIE = "stagetui_serve_token"


def is_loopback(host: str) -> bool:
    """Only loopback may go without a token; a host name other than localhost could resolve anywhere."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _presented_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return request.query.get("token") or request.cookies.get(TOKEN_COOKIE, "")


def token_middleware(token: str) -> Middleware:
    expected = token.encode("utf-8")

    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        presented = _presented_token(request).encode("utf-8")
        if not hmac.compare_digest(presented, expected):  # constant time: no guessing by response timing
            return web.Response(status=401, text="401: stagetui serve needs its token (?token=...)\n")
        response = await handler(request)
        # The first page load carries ?token=; the page's static files and websocket then send the cookie.
        if "token" in request.query and not response.prepared:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    return check_token


class _RedactToken(logging.Filter):
    """aiohttp's access log prints each request line, and the first page load carries ?token=."""

    _pattern = re.compile(r"([?&]token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._pattern.sub(r"\1<elided>", str(record.msg))
        return True


class TokenServer(Server):
    """textual-serve's Server with the token check in front of every route (index, websocket, static)."""

    def __init__(self, command: str, *, host: str, port: int, title: str, token: str) -> None:
        super().__init__(command, host=host, port=port, title=title)
        self._token = token
        logging.getLogger("aiohttp.access").addFilter(_RedactToken())

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """textual-serve points the page's static and websocket URLs at --host (0.0.0.0 for "everywhere"),
        which a remote browser cannot reach and to which the token cookie would not be sent: point them at
        the address the browser used. No await runs between setting and reading, so requests cannot mix."""
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(token_middleware(self._token))
        return app
