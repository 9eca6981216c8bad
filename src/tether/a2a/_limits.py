"""A request body limit for the A2A routes: a larger body is answered 413 before the SDK reads
it (the a2a-sdk reads any body whole), in the binding's own error form."""

from __future__ import annotations

from typing import Any

__all__ = ["limit_body"]

Scope = dict[str, Any]


def _too_large(limit: int, jsonrpc: bool) -> dict[str, Any]:
    message = f"the request body is larger than {limit} bytes"
    if jsonrpc:
        error: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32600, "message": message},
        }
    else:
        error = {"error": {"code": 413, "status": "INVALID_ARGUMENT", "message": message}}
    return error


def limit_body(app: Any, limit: int, *, jsonrpc: bool) -> Any:
    """``app`` (ASGI) with request bodies over ``limit`` bytes answered 413: a declared
    Content-Length over it at once, a streamed (chunked) body as soon as it passes it."""

    async def limited(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, limit, jsonrpc)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(scope, receive, send, limit, jsonrpc)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return dict(await receive())  # after the body: the client's disconnect
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    return limited


async def _refuse(scope: Scope, receive: Any, send: Any, limit: int, jsonrpc: bool) -> None:
    from starlette.responses import JSONResponse

    response = JSONResponse(_too_large(limit, jsonrpc), status_code=413)
    response.headers["connection"] = "close"  # the rest of the body is not read
    await response(scope, receive, send)
