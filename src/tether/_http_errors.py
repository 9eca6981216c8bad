"""The JSON error body of tether's HTTP endpoints (the server's API and the dashboard)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.responses import JSONResponse

__all__ = ["error_response"]


def error_response(
    status: int, type: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """``{"error": {"type", "message"}}`` with ``status`` (secrets in the message scrubbed: it
    may quote an exception, such as a store's)."""
    from starlette.responses import JSONResponse

    from .tracing.redact import scrub_secrets

    body = {"error": {"type": type, "message": scrub_secrets(message)}}
    return JSONResponse(body, status_code=status, headers=headers)
