"""HTTP plumbing shared by the endpoints: typed errors, JSON bodies, SSE framing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .._http_errors import error_response

__all__ = [
    "ApiError",
    "error_response",
    "json_response",
    "read_body",
    "sse_message",
    "sse_response",
]

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An error answered as ``{"error": {"type", "message"}}`` with ``status``."""

    def __init__(
        self, status: int, type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON of anything pydantic can serialize (unknown objects by their repr)."""
    body = json.dumps(to_jsonable_python(data, fallback=repr), separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def read_body(request: Request, model: type[M], max_bytes: int) -> M:
    """The request's JSON body validated by ``model`` (413 when too large, 400 when not JSON,
    422 when it does not fit the model: unknown fields included)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", _describe(exc)) from None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body is larger than {limit} bytes")


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def sse_message(data: Any, *, event: str | None = None, id: int | str | None = None) -> bytes:
    """One Server-Sent Events message (``data`` as one line of JSON)."""
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    lines.append(f"data: {text}")
    return ("\n".join(lines) + "\n\n").encode()


def sse_response(messages: AsyncIterator[bytes], headers: dict[str, str] | None = None) -> Response:
    """A ``text/event-stream`` response of already framed messages (no proxy buffering)."""
    sent = {"cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})}
    return StreamingResponse(messages, media_type="text/event-stream", headers=sent)
