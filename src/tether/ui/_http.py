"""HTTP plumbing of the dashboard: routes whose ids may hold ``/``, and its error bodies (the
server's shape, from the same code)."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.responses import JSONResponse
from starlette.routing import Match, Route
from starlette.types import Scope

from .._http_errors import error_response

__all__ = ["IdRoute", "error"]


class IdRoute(Route):
    """A route whose ``{params}`` are each one URL-encoded path segment, matched on the raw
    path: an id holding ``/`` is sent as ``%2F`` (as the page's links encode it) and arrives
    whole, where a plain route would see two segments and answer 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if scope["type"] != "http" or not raw or scope.get("root_path"):
            return super().matches(scope)
        found = self.path_regex.match(raw.decode("latin-1").partition("?")[0])
        if found is None:
            return Match.NONE, {}
        params = dict(scope.get("path_params", {}))
        params.update({k: unquote(v) for k, v in found.groupdict().items()})
        child = {"endpoint": self.endpoint, "path_params": params}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child
        return Match.FULL, child


_TYPES = {400: "invalid_request", 403: "forbidden", 404: "run_not_found", 409: "conflict"}
_TYPES |= {415: "unsupported_media_type", 422: "invalid_request", 500: "internal_error"}


def error(message: str, status: int, type: str | None = None) -> JSONResponse:
    """The error answer ``{"error": {"type", "message"}}``, as the run API gives it."""
    return error_response(status, type or _TYPES.get(status, "error"), message)
