"""What both HTTP transports share on the wire: the endpoint's URL and headers (taken from the
provider's SDK client once), the request bytes, the JSON answer, provider error bodies,
``Retry-After``, and a server-sent-events parser fed with bytes as they arrive.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

from pydantic_core import PydanticSerializationError, from_json, to_json

from ..errors import ModelProviderError

__all__ = [
    "MAX_ERROR_BODY",
    "MAX_RESPONSE_BYTES",
    "NO_KEY",
    "SseParser",
    "decode_json",
    "encode_body",
    "endpoint_config",
    "loads",
    "oversize_error",
    "parse_retry_after",
    "redirect_error",
    "status_error",
]

#: The key given to an SDK client for a server that needs none; its auth header is not sent
#: (an SDK would otherwise fall back to a key from the environment).
NO_KEY = "tether-no-key"
#: How much of an error body a ModelProviderError keeps.
MAX_ERROR_BODY = 4000
#: The largest answer (a JSON body, or one server-sent event) read from a provider; more is an
#: error, not memory spent without bound.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


def endpoint_config(client: Any, path: str) -> tuple[str, dict[str, str]]:
    """The URL of ``path`` and the request headers (auth included) an SDK ``client`` would
    send: its base URL, default headers (organization, project, user headers, version
    headers) and auth headers, less the placeholder key of a server that needs none."""
    url = str(client.base_url).rstrip("/") + path
    headers: dict[str, str] = {}
    for source in (client.default_headers, client.auth_headers):
        headers.update((k, v) for k, v in source.items() if isinstance(v, str) and NO_KEY not in v)
    return url, headers


def encode_body(body: dict[str, Any]) -> bytes:
    """The JSON request bytes (pydantic-core's encoder; the standard one for what it refuses,
    such as lone surrogates, which it escapes)."""
    try:
        return to_json(body)
    except PydanticSerializationError:
        return json.dumps(body).encode()


def loads(data: str | bytes) -> Any:
    """A JSON value (pydantic-core's parser; the standard one for what it refuses, such as an
    escaped lone surrogate, so both accept the same texts). Invalid JSON raises
    ``json.JSONDecodeError``."""
    try:
        return from_json(data)
    except ValueError:
        try:
            return json.loads(data)
        except RecursionError:  # nested thousands of levels deep
            doc = data if isinstance(data, str) else ""
            raise json.JSONDecodeError("nested too deeply to parse", doc, 0) from None


def decode_json(raw: bytes, status: int, where: str) -> Any:
    """A JSON answer's value; anything else is a retryable ModelProviderError."""
    try:
        return loads(raw)
    except ValueError as exc:
        raise ModelProviderError(
            f"{where}: the provider answered with invalid JSON ({exc})",
            status=status,
            body=raw[:MAX_ERROR_BODY].decode("utf-8", "replace"),
            retryable=True,
        ) from None


def oversize_error(where: str, status: int | None, what: str = "answer") -> ModelProviderError:
    """An answer larger than :data:`MAX_RESPONSE_BYTES` (not retried: it would be again)."""
    return ModelProviderError(
        f"{where}: the provider's {what} is larger than {MAX_RESPONSE_BYTES} bytes",
        status=status,
        retryable=False,
    )


def redirect_error(status: int, headers: Any, where: str) -> ModelProviderError:
    """A redirect answer: not followed (the request's key is for this endpoint only), and not
    retried (it would be again); the message says where it pointed, without its query."""
    location = str(headers.get("location") or "")
    target = location.split("?", 1)[0].split("#", 1)[0][:200]
    return ModelProviderError(
        f"{where}: the provider redirected (HTTP {status}) to {target or 'nowhere'}; redirects "
        "are not followed, so the key goes nowhere else: point base_url where it leads",
        status=status,
        retryable=False,
    )


def status_error(status: int, headers: Any, raw: bytes, where: str) -> ModelProviderError:
    """An HTTP error answer (``status`` >= 400) as a ModelProviderError with its body."""
    body: Any
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = raw.decode("utf-8", "replace")[:MAX_ERROR_BODY]
    message = _error_message(body)
    return ModelProviderError(
        f"{where}: provider error{': ' + message if message else ''}",
        status=status,
        body=body,
        retry_after=parse_retry_after(headers),
    )


def _error_message(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:500]
        if isinstance(body.get("message"), str):
            return str(body["message"])[:500]
    return ""


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            pass
        parsed = email.utils.parsedate_to_datetime(value) if scale == 1.0 else None
        if parsed is not None:
            return max(0.0, parsed.timestamp() - time.time())
    return None


class SseParser:
    """Server-sent events from bytes as they arrive: ``event:`` names and (possibly
    multi-line) ``data:``; comments and other fields are skipped. A line that is not UTF-8, or
    an event larger than :data:`MAX_RESPONSE_BYTES`, is a ModelProviderError."""

    __slots__ = ("_data", "_event", "_partial", "_size", "_where")

    def __init__(self, where: str) -> None:
        self._where = where
        self._partial = b""
        self._event: str | None = None
        self._data: list[str] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        """The events completed by ``chunk`` (often none, one or a few)."""
        self._size += len(chunk)
        if self._partial:
            chunk = self._partial + chunk
        cut = chunk.rfind(b"\n")
        if cut < 0:
            self._partial = chunk
            if self._size > MAX_RESPONSE_BYTES:
                raise oversize_error(self._where, 200, "stream event")
            return []
        self._partial = chunk[cut + 1 :]
        try:
            # The complete lines decoded at once (a line end never falls inside a character).
            text = chunk[:cut].decode()
        except UnicodeDecodeError:
            raise ModelProviderError(
                f"{self._where}: the stream is not UTF-8 text", retryable=True
            ) from None
        out: list[tuple[str | None, str]] = []
        if self._data or self._event is not None or "\r" in text:
            self._lines(text, out)
        elif text[:6] == "data: ":
            self._blocks(text[6:].split("\n\ndata: "), "data: ", out)
        elif text[:7] == "event: ":
            self._blocks(text[7:].split("\n\nevent: "), "event: ", out)
        else:
            self._lines(text, out)
        if self._size > MAX_RESPONSE_BYTES:
            raise oversize_error(self._where, 200, "stream event")
        return out

    def _blocks(self, pieces: list[str], prefix: str, out: list[tuple[str | None, str]]) -> None:
        """The usual stream, nothing carried over: blocks that each start with ``prefix``, cut
        at the blank line before the next (a line never holds a line end, so splitting there
        cuts only between blocks). A block of one ``data: `` line, or of an ``event: `` line
        and a ``data: `` line, is its event as it is; other blocks, and the last one (it may
        not have ended), are read line by line."""
        last = pieces.pop()
        if prefix == "data: ":
            for piece in pieces:
                if "\n" in piece:
                    self._lines(prefix + piece + "\n", out)
                else:
                    out.append((None, piece))
        else:
            for piece in pieces:
                if not _simple_event(piece, prefix, out):
                    self._lines(prefix + piece + "\n", out)
        if not (last[-1:] == "\n" and _simple_event(last[:-1], prefix, out)):
            self._lines(prefix + last, out)
        if out:
            self._size = len(self._partial)

    def _lines(self, text: str, out: list[tuple[str | None, str]]) -> None:
        """Read ``text``'s lines (the last one ends where the text does), adding the events
        they complete to ``out``."""
        data = self._data
        for line in text.split("\n"):
            if line[-1:] == "\r":
                line = line[:-1]
            if not line:
                if data:
                    out.append((self._event, "\n".join(data)))
                    self._size = len(self._partial)
                    data = self._data = []
                self._event = None
            elif line[:5] == "data:":
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif line[:6] == "event:":
                self._event = line[6:].strip()

    def end(self) -> list[tuple[str | None, str]]:
        """The event the stream ended in without its closing blank line, if any (a last line
        without its line end is dropped: the stream was cut inside it)."""
        return [(self._event, "\n".join(self._data))] if self._data else []


def _simple_event(block: str, prefix: str, out: list[tuple[str | None, str]]) -> bool:
    """Add the event of a block of one ``data: `` line (``prefix`` cut off) or of an ``event: ``
    line then a ``data: `` line to ``out``; False for any other block."""
    if prefix == "data: ":
        if "\n" in block:
            return False
        out.append((None, block))
        return True
    name, found, data = block.partition("\ndata: ")
    if not found or "\n" in name or "\n" in data:
        return False
    out.append((name.strip(), data))
    return True
