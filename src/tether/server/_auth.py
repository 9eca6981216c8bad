"""Bearer-key authentication, as ASGI middleware (every path but ``/healthz``)."""

from __future__ import annotations

import hmac
import json
from typing import Any

__all__ = ["BearerAuth"]

_OPEN_PATHS = frozenset({"/healthz"})


class BearerAuth:
    """Answers 401 unless ``Authorization: Bearer <key>`` carries one of ``keys``.

    Keys are compared in constant time, and every key is compared (no early exit), so the
    answer's timing tells nothing about which key came close.
    """

    def __init__(self, app: Any, keys: tuple[str, ...]) -> None:
        self.app = app
        self._keys = tuple(k.encode() for k in keys)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self._keys or _route_path(scope) in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        scheme, _, token = given.partition(b" ")
        ok = False
        if scheme.lower() == b"bearer" and token:
            for key in self._keys:
                ok |= hmac.compare_digest(token.strip(), key)
        if ok:
            await self.app(scope, receive, send)
            return
        message = "a valid API key is required: send 'Authorization: Bearer <key>'"
        if given:
            message = "the API key is not valid"
        body = json.dumps({"error": {"type": "unauthorized", "message": message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="tether"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _route_path(scope: Any) -> str:
    """The request's path inside this app: mounted under a prefix (``Mount("/agents", app)``),
    ``path`` still holds the prefix, which ``root_path`` names."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path
