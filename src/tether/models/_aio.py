"""The direct aiohttp transport: tether's own request bytes posted on one shared aiohttp session
per endpoint, the answer parsed by tether (no SDK, no httpx wrapper on the request path).

The provider's SDK client is still built once per endpoint, for what it knows about the
endpoint: base URL, auth and version headers, organization and project from the environment,
the user's extra headers and its default timeouts. Only the sending is tether's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from ..errors import ModelProviderError
from . import _wire
from ._wire import (
    SseParser,
    decode_json,
    encode_body,
    endpoint_config,
    redirect_error,
    status_error,
)

__all__ = ["AioEndpoint"]

# What the SDKs wait by default when a request sets no timeout (connect, read).
_DEFAULT_CONNECT = 5.0
_DEFAULT_READ = 600.0
# Connections idle longer than this are closed (as the SDKs' httpx clients do).
_KEEPALIVE = 5.0
# The most of an error answer's body read (a provider's error JSON is far smaller).
_ERROR_BODY_LIMIT = 1024 * 1024


def _ssl_context() -> ssl.SSLContext:
    """Certificates as the SDKs' httpx clients verify them: certifi's bundle when installed."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _sdk_timeouts(client: Any) -> tuple[float | None, float | None]:
    """(connect, read) of the SDK client's default timeout."""
    timeout = getattr(client, "timeout", None)
    if isinstance(timeout, int | float):
        return float(timeout), float(timeout)
    connect = getattr(timeout, "connect", _DEFAULT_CONNECT)
    read = getattr(timeout, "read", _DEFAULT_READ)
    return connect, read


class AioEndpoint:
    """One provider endpoint on one event loop, sending through its own aiohttp session."""

    __slots__ = (
        "_connect",
        "_gate",
        "_limit",
        "_read",
        "_session",
        "_ssl",
        "_timeouts",
        "client",
        "headers",
        "key",
        "url",
    )

    def __init__(self, client: Any, path: str, max_inflight: int, key: tuple[Any, ...]) -> None:
        self.client = client
        self.key = key
        self.url, headers = endpoint_config(client, path)
        headers["Content-Type"] = "application/json"
        self.headers = headers
        self._connect, self._read = _sdk_timeouts(client)
        self._ssl = _ssl_context() if self.url.startswith("https:") else None
        self._limit = max_inflight
        self._gate = asyncio.Semaphore(max_inflight)
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float | None, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        """The session, made on first use (it belongs to the running loop)."""
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit, keepalive_timeout=_KEEPALIVE, ssl=self._ssl or True
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self.headers,
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
                auto_decompress=True,
            )
        return session

    def _timeout(self, timeout: float | None) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(timeout)
        if found is None:
            connect, read = (
                (timeout, timeout)
                if timeout is not None
                else (
                    self._connect,
                    self._read,
                )
            )
            # Like httpx: each connect and each read is bounded, not the whole answer (a
            # long stream may take longer than ``timeout`` as long as it keeps coming).
            found = aiohttp.ClientTimeout(
                total=None, connect=connect, sock_connect=connect, sock_read=read
            )
            if len(self._timeouts) < 64:
                self._timeouts[timeout] = found
        return found

    async def aclose(self) -> None:
        """Close the session's connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def idle(self) -> bool:
        """Whether no request is in flight on it."""
        return not self._gate._waiters and self._gate._value == self._limit

    async def post_json(self, body: dict[str, Any], timeout: float | None, where: str) -> Any:
        """POST ``body`` and return the decoded JSON answer (errors become ModelProviderError)."""
        data = encode_body(body)
        async with self._gate:
            try:
                async with self._open().post(
                    self.url, data=data, timeout=self._timeout(timeout), allow_redirects=False
                ) as response:
                    status = response.status
                    if 300 <= status < 400:
                        raise redirect_error(status, response.headers, where)
                    if status >= 400:
                        raise status_error(
                            status, response.headers, await _read_error(response, where), where
                        )
                    raw = await _read(response, where)
            except (aiohttp.ClientError, OSError) as exc:
                raise _transport_error(exc, where, "timed out", "connection failed") from None
        return decode_json(raw, status, where)

    async def stream_events(
        self, body: dict[str, Any], timeout: float | None, where: str
    ) -> AsyncIterator[tuple[str | None, str]]:
        """POST ``body`` and yield its server-sent events as (event name, data) pairs."""
        data = encode_body(body)
        async with self._gate:
            try:
                response = await self._open().post(
                    self.url, data=data, timeout=self._timeout(timeout), allow_redirects=False
                )
            except (aiohttp.ClientError, OSError) as exc:
                raise _transport_error(exc, where, "timed out", "connection failed") from None
            try:
                status = response.status
                if 300 <= status < 400:
                    raise redirect_error(status, response.headers, where)
                if status >= 400:
                    raw = await _read_error(response, where)
                    raise status_error(status, response.headers, raw, where)
                kind = response.headers.get("content-type", "")
                if kind.startswith(("application/json", "text/html")):
                    try:
                        raw = await _read(response, where)
                    except (aiohttp.ClientError, OSError) as exc:
                        raise _transport_error(
                            exc, where, "timed out", "connection broke"
                        ) from None
                    raise ModelProviderError(
                        f"{where}: asked for an event stream, got {kind.split(';')[0]}",
                        status=status,
                        body=raw[: _wire.MAX_ERROR_BODY].decode("utf-8", "replace"),
                        retryable=True,
                    )
                parser = SseParser(where)
                try:
                    async for chunk in response.content.iter_any():
                        for item in parser.feed(chunk):
                            yield item
                except (aiohttp.ClientError, OSError) as exc:
                    raise _transport_error(exc, where, "stream timed out", "stream broke") from None
                for item in parser.end():
                    yield item
            finally:
                response.release()


async def _read(response: aiohttp.ClientResponse, where: str, limit: int | None = None) -> bytes:
    """The whole body, at most ``limit`` (MAX_RESPONSE_BYTES) of it; more is an error."""
    limit = _wire.MAX_RESPONSE_BYTES if limit is None else limit
    length = response.content_length
    if response.headers.get("content-encoding"):
        length = None  # the length of the compressed body: count what it unpacks to instead
    if length is not None and length <= limit:
        return await response.read()
    if length is not None:
        raise _wire.oversize_error(where, response.status)
    pieces: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _wire.oversize_error(where, response.status)
        pieces.append(chunk)
    return b"".join(pieces)


async def _read_error(response: aiohttp.ClientResponse, where: str) -> bytes:
    """An error answer's body: cut off, oversize or unreadable, it is empty (the status alone
    decides then)."""
    try:
        return await _read(response, where, _ERROR_BODY_LIMIT)
    except (aiohttp.ClientError, OSError, ModelProviderError):
        return b""


def _transport_error(
    exc: BaseException, where: str, timed_out: str, broke: str
) -> ModelProviderError:
    """A transport failure as a retryable error that says what happened."""
    # (A timeout is an OSError too, and aiohttp's connection errors are OSErrors.)
    if isinstance(exc, TimeoutError):
        return ModelProviderError(f"{where}: {timed_out} ({type(exc).__name__})", retryable=True)
    detail = str(exc) or type(exc).__name__
    return ModelProviderError(f"{where}: {broke} ({type(exc).__name__}: {detail})", retryable=True)
