"""Readable errors for MCP connections: one message naming the server, never an ExceptionGroup."""

from __future__ import annotations

from ..errors import UserError

__all__ = ["MCPConnectionError", "describe_failure", "is_connection_failure", "safe_url"]


def safe_url(url: str) -> str:
    """``url`` as errors may show it: no user or password, query values hidden (tokens)."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


class MCPConnectionError(UserError):
    """The MCP server could not be reached, or its connection died (names the URL or command).

    Raised by ``async with server:`` when the connection cannot be opened; inside a run, a tool
    call that meets a dead connection reports it to the model as a tool error, and the next call
    connects again.
    """


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in exc.exceptions:
            found.extend(_leaves(inner))
        return found
    return [exc]


def _root(exc: BaseException) -> BaseException:
    """The most telling exception: the first leaf that is not a cancellation, and its cause."""
    leaves = [e for e in _leaves(exc) if not isinstance(e, BaseExceptionGroup)]
    useful = [e for e in leaves if type(e).__name__ not in ("CancelledError", "Cancelled")]
    found = (useful or leaves or [exc])[0]
    seen = 0
    while found.__cause__ is not None and seen < 5 and _is_wrapper(found):
        found = found.__cause__
        seen += 1
    return found


def _is_wrapper(exc: BaseException) -> bool:
    return type(exc).__name__ in ("MCPError", "McpError") and "Connection closed" in str(exc)


def _code(exc: BaseException) -> int | None:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    return code if isinstance(code, int) else None


def is_connection_failure(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection is gone (not an error answer of a live server)."""
    import mcp_types

    for leaf in _leaves(exc):
        code = _code(leaf)
        if code is not None:
            if code == mcp_types.CONNECTION_CLOSED:
                return True
            if "session" in str(leaf).lower() and ("not found" in str(leaf).lower()):
                return True  # the HTTP session expired on the server
            continue
        if isinstance(leaf, OSError | EOFError | ConnectionError):
            return True
        name = type(leaf).__name__
        if name in ("ClosedResourceError", "BrokenResourceError", "EndOfStream"):
            return True
        if name.endswith(("ConnectError", "ReadError", "WriteError", "RemoteProtocolError")):
            return True
        if name == "HTTPStatusError":
            return True
    return False


def _reason(exc: BaseException, http_status: int | None = None) -> str:
    name = type(exc).__name__
    text = str(exc).strip()
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is None and text == "Server returned an error response":
        status = http_status  # the SDK's stand-in for an HTTP error: the status it answered
    if isinstance(status, int):
        if status == 404:
            return "HTTP 404: nothing is served at that path (is the URL's path right, e.g. /mcp?)"
        if status in (401, 403):
            return f"HTTP {status}: the server refused the credentials (check headers= / auth=)"
        return f"HTTP {status}"
    if name in ("MCPError", "McpError"):
        lowered = text.lower()
        if "session not found" in lowered:
            return "the server no longer knows this session (it restarted, or the session expired)"
        if lowered == "not found" or "404" in lowered:
            return "HTTP 404: nothing is served at that path (is the URL's path right, e.g. /mcp?)"
    if name.endswith("ConnectError") or isinstance(exc, ConnectionRefusedError):
        return "nothing is listening there (connection refused)"
    if isinstance(exc, FileNotFoundError):
        return f"the command was not found ({text})"
    if _is_wrapper(exc) or name in ("ClosedResourceError", "BrokenResourceError", "EndOfStream"):
        return "the server closed the connection (did the process exit?)"
    return f"{name}: {text}" if text else name


def describe_failure(
    server: str,
    exc: BaseException,
    *,
    opening: bool,
    what: str | None = None,
    http_status: int | None = None,
) -> MCPConnectionError:
    """One readable error for ``exc`` (unwrapping exception groups), naming ``server``;
    ``http_status`` is the last HTTP error status the server answered, if any."""
    if isinstance(exc, MCPConnectionError):
        return exc
    reason = _reason(_root(exc), http_status)
    if opening:
        return MCPConnectionError(f"cannot connect to MCP server {server}: {reason}")
    return MCPConnectionError(
        f"the connection to MCP server {server} failed during {what or 'a request'}: {reason}; "
        "the next call connects again"
    )
