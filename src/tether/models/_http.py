"""The HTTP path to a provider: the official SDK client for auth, base URL and headers, and a
lean send that skips the SDK's parameter transform and typed parsing.

Two transports: ``aiohttp`` (the default when aiohttp is installed) posts tether's own bytes on
an aiohttp session of its own (:mod:`._aio`); ``httpx`` sends on the SDK's httpx client
(:class:`Endpoint`). An endpoint is one (protocol, base URL, key, transport) on one event loop:
it holds the precomputed URL and headers and a semaphore bounding requests in flight (which
keeps the connection pool's bookkeeping flat under bursts). Endpoints are cached per event loop,
because HTTP connections belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, Protocol

from ..errors import ModelProviderError, UserError
from . import _wire
from ._wire import (
    MAX_ERROR_BODY,
    NO_KEY,
    SseParser,
    decode_json,
    encode_body,
    endpoint_config,
    oversize_error,
    parse_retry_after,
    redirect_error,
    status_error,
)

__all__ = [
    "DEFAULT_MAX_INFLIGHT",
    "NO_KEY",
    "Endpoint",
    "Sender",
    "Transport",
    "aclose_clients",
    "default_transport",
    "get_endpoint",
    "parse_retry_after",
]

Transport = Literal["httpx", "aiohttp"]
_default_transport: Transport | None = None
#: Requests in flight per endpoint at most (the rest wait on a semaphore, not in the pool).
DEFAULT_MAX_INFLIGHT = 100
#: Endpoints kept per event loop at most (keys rotate, agents point at many URLs); beyond it the
#: oldest idle ones are closed as new ones open.
MAX_ENDPOINTS = 64


class Sender(Protocol):
    """What a provider model sends through: one endpoint on one loop, either transport."""

    key: tuple[Any, ...]
    url: str

    async def post_json(self, body: dict[str, Any], timeout: float | None, where: str) -> Any:
        """POST ``body``; the decoded JSON answer."""
        ...

    def stream_events(
        self, body: dict[str, Any], timeout: float | None, where: str
    ) -> AsyncIterator[tuple[str | None, str]]:
        """POST ``body``; its server-sent events as (event name, data) pairs."""
        ...

    async def aclose(self) -> None:
        """Close the endpoint's connections."""
        ...

    def idle(self) -> bool:
        """Whether no request is in flight on it."""
        ...


class Endpoint:
    """One provider endpoint on one event loop, sending on the SDK's httpx client."""

    __slots__ = (
        "_gate",
        "_headers",
        "_limit",
        "_timeouts",
        "_url",
        "client",
        "errors",
        "headers",
        "http",
        "key",
        "url",
    )

    def __init__(self, client: Any, path: str, max_inflight: int, key: tuple[Any, ...]) -> None:
        self.client = client
        self.key = key
        self.url, self.headers = endpoint_config(client, path)
        self.http: Any = client._client  # the SDK's configured httpx (or httpx2) client
        self.errors = _errors_of(self.http)
        self._limit = max_inflight
        self._gate = asyncio.Semaphore(max_inflight)
        # What ``build_request`` would merge for every request, merged once: the URL, and the
        # client's headers with the endpoint's (a request adds its body and length).
        self._url = self.errors.URL(self.url)
        self._headers = self.errors.Headers(self.http.headers)
        self._headers.update(self.headers)
        self._timeouts: dict[float | None, dict[str, Any]] = {}

    async def aclose(self) -> None:
        """Close the SDK's HTTP client."""
        await self.http.aclose()

    def idle(self) -> bool:
        """Whether no request is in flight on it."""
        return not self._gate._waiters and self._gate._value == self._limit

    async def post_json(self, body: dict[str, Any], timeout: float | None, where: str) -> Any:
        """POST ``body`` and return the decoded JSON answer (errors become ModelProviderError)."""
        async with self._gate:
            response = await self._send(body, timeout, stream=True, where=where)
            try:
                raw = await self._read(response, where)
            finally:
                await response.aclose()
            return decode_json(raw, response.status_code, where)

    async def _read(self, response: Any, where: str) -> bytes:
        """The whole (unpacked) body, at most MAX_RESPONSE_BYTES of it."""
        pieces: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > _wire.MAX_RESPONSE_BYTES:
                    raise oversize_error(where, response.status_code)
                pieces.append(chunk)
        except self.errors.TransportError as exc:
            raise _transport_error(
                exc, self.errors, where, "timed out", "connection broke"
            ) from None
        return b"".join(pieces)

    async def stream_events(
        self, body: dict[str, Any], timeout: float | None, where: str
    ) -> AsyncIterator[tuple[str | None, str]]:
        """POST ``body`` and yield its server-sent events as (event name, data) pairs."""
        async with self._gate:
            response = await self._send(body, timeout, stream=True, where=where)
            kind = response.headers.get("content-type", "")
            if kind.startswith(("application/json", "text/html")):
                try:
                    await response.aread()
                except self.errors.TransportError as exc:
                    raise _transport_error(
                        exc, self.errors, where, "timed out", "connection broke"
                    ) from None
                finally:
                    await response.aclose()
                raise ModelProviderError(
                    f"{where}: asked for an event stream, got {kind.split(';')[0]}",
                    status=response.status_code,
                    body=response.text[:MAX_ERROR_BODY],
                    retryable=True,
                )
            try:
                async for item in _sse(response, self.errors, where):
                    yield item
            finally:
                await response.aclose()

    def _timeout(self, timeout: float | None) -> dict[str, Any]:
        found = self._timeouts.get(timeout)
        if found is None:
            found = _timeout_of(self.errors, self.http, timeout)
            if len(self._timeouts) < 64:
                self._timeouts[timeout] = found
        return dict(found)  # a request's own (the client's transport may read it, not keep it)

    async def _send(
        self, body: dict[str, Any], timeout: float | None, *, stream: bool, where: str
    ) -> Any:
        http = self.http
        if http.cookies or http.params:  # merged per request by the client: as it does it
            request = http.build_request(
                "POST",
                self.url,
                content=encode_body(body),
                headers=self.headers,
                timeout=timeout if timeout is not None else http.timeout,
            )
        else:
            request = self.errors.Request(
                "POST",
                self._url,
                content=encode_body(body),
                headers=self._headers,
                extensions={"timeout": self._timeout(timeout)},
            )
        try:
            response = await http.send(request, stream=stream, follow_redirects=False)
        except self.errors.TransportError as exc:
            raise _transport_error(
                exc, self.errors, where, "timed out", "connection failed"
            ) from None
        if 300 <= response.status_code < 400:
            await response.aclose()
            raise redirect_error(response.status_code, response.headers, where)
        if response.status_code >= 400:
            raise await _status_error(response, where)
        return response


def _timeout_of(errors: Any, http: Any, timeout: float | None) -> dict[str, Any]:
    """The request extension ``build_request`` makes of ``timeout`` (None: the client's)."""
    return dict((http.timeout if timeout is None else errors.Timeout(timeout)).as_dict())


def _transport_error(
    exc: Exception, errors: Any, where: str, timed_out: str, broke: str
) -> ModelProviderError:
    """A transport failure as a retryable error that says what happened. The aiohttp transport
    reports a dropped connection as a timeout, so the underlying cause decides."""
    cause = exc.__cause__ or exc
    if isinstance(exc, errors.TimeoutException) and (
        isinstance(cause, TimeoutError) or "Timeout" in type(cause).__name__
    ):
        return ModelProviderError(f"{where}: {timed_out} ({type(exc).__name__})", retryable=True)
    detail = str(cause) or type(cause).__name__
    return ModelProviderError(
        f"{where}: {broke} ({type(cause).__name__}: {detail})", retryable=True
    )


async def _status_error(response: Any, where: str) -> ModelProviderError:
    try:
        await response.aread()
        raw = response.content
    except Exception:  # the body was cut off: the status alone decides
        raw = b""
    finally:
        await response.aclose()
    return status_error(response.status_code, response.headers, raw, where)


async def _sse(response: Any, errors: Any, where: str) -> AsyncIterator[tuple[str | None, str]]:
    """The server-sent events of an httpx response."""
    parser = SseParser(where)
    try:
        async for chunk in response.aiter_bytes():
            for item in parser.feed(chunk):
                yield item
    except errors.TransportError as exc:
        raise _transport_error(exc, errors, where, "stream timed out", "stream broke") from None
    for item in parser.end():
        yield item


_endpoints: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Sender]]
_endpoints = weakref.WeakKeyDictionary()


_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIterator[None]]
_closers = weakref.WeakKeyDictionary()


async def _close_at_shutdown(cache: dict[tuple[Any, ...], Sender]) -> AsyncIterator[None]:
    """Parked for the loop's lifetime; ``loop.shutdown_asyncgens()`` (which ``asyncio.run``
    calls) closes it, and with it the loop's HTTP clients, so no session is left unclosed."""
    try:
        yield
    finally:
        for endpoint in list(cache.values()):
            await endpoint.aclose()
        cache.clear()


_building: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
_building = weakref.WeakKeyDictionary()


async def get_endpoint(
    key: tuple[Any, ...],
    factory: Callable[[Any], Any],
    path: str,
    transport: Transport,
    max_inflight: int = DEFAULT_MAX_INFLIGHT,
) -> Sender:
    """The cached endpoint for ``key`` on the running loop; ``factory(http_client)`` builds the
    SDK client the first time, in a worker thread (importing the SDK and loading certificates
    would block the event loop)."""
    loop = asyncio.get_running_loop()
    cache = _endpoints.get(loop)
    if cache is None:
        cache = _endpoints[loop] = {}
        closer = _closers[loop] = _close_at_shutdown(cache)
        await closer.__anext__()
    endpoint = cache.get(key)
    if endpoint is not None:
        return endpoint
    lock = _building.get(loop)
    if lock is None:
        lock = _building[loop] = asyncio.Lock()
    async with lock:
        endpoint = cache.get(key)
        if endpoint is None:
            endpoint = await asyncio.to_thread(_build, key, factory, path, transport, max_inflight)
            if len(cache) >= MAX_ENDPOINTS:
                await _evict(cache)
            cache[key] = endpoint
    return endpoint


async def _evict(cache: dict[tuple[Any, ...], Sender]) -> None:
    """Close the oldest idle endpoints until there is room for one more (busy ones stay: the
    bound gives way rather than break a request)."""
    for key, endpoint in list(cache.items()):
        if len(cache) < MAX_ENDPOINTS:
            return
        if endpoint.idle():
            del cache[key]
            await endpoint.aclose()


def default_transport() -> Transport:
    """``TETHER_HTTP_TRANSPORT`` if set, else aiohttp when it is installed (extra
    ``tether[aiohttp]``: about half the CPU per request under load), else httpx."""
    global _default_transport
    chosen = os.environ.get("TETHER_HTTP_TRANSPORT")
    if chosen:
        if chosen not in ("httpx", "aiohttp"):
            raise UserError(f"TETHER_HTTP_TRANSPORT must be 'httpx' or 'aiohttp', got {chosen!r}")
        return chosen  # type: ignore[return-value]
    if _default_transport is None:
        found = importlib.util.find_spec("aiohttp") is not None
        _default_transport = "aiohttp" if found else "httpx"
    return _default_transport


def _errors_of(http: Any) -> Any:
    """The module (httpx, or httpx2 in newer SDKs) whose exceptions ``http`` raises."""
    return _httpx_module(type(http))


def _httpx_module(client_class: type) -> Any:
    """The module (httpx, or httpx2 in newer SDKs) of an httpx client class."""
    for cls in client_class.__mro__:
        if cls.__name__ == "AsyncClient":
            return importlib.import_module(cls.__module__.split(".")[0])
    raise UserError(f"unsupported HTTP client {client_class.__name__}")


def _build(
    key: tuple[Any, ...],
    factory: Callable[[Any], Any],
    path: str,
    transport: Transport,
    max_inflight: int,
) -> Sender:
    """A new endpoint (in a worker thread: it imports the SDK and loads certificates)."""
    import openai

    if transport == "aiohttp":
        try:
            from ._aio import AioEndpoint
        except ImportError:
            raise UserError(
                "transport='aiohttp' needs aiohttp: pip install \"tether[aiohttp]\""
            ) from None
        # The SDK client only tells the URL, headers and timeouts: it gets an HTTP client that
        # opens nothing (no certificates loaded, no proxies read) and never sends.
        module = _httpx_module(openai.DefaultAsyncHttpxClient)
        idle = module.AsyncClient(transport=module.AsyncBaseTransport(), trust_env=False)
        return AioEndpoint(factory(idle), path, max_inflight, key)
    if transport != "httpx":
        raise UserError(f"transport must be 'httpx' or 'aiohttp', got {transport!r}")
    return Endpoint(factory(openai.DefaultAsyncHttpxClient()), path, max_inflight, key)


async def aclose_clients() -> None:
    """Close the HTTP clients tether opened on the running event loop now (``asyncio.run``
    closes them anyway when the loop shuts down)."""
    loop = asyncio.get_running_loop()
    cache = _endpoints.pop(loop, None)
    closer = _closers.pop(loop, None)
    for endpoint in (cache or {}).values():
        await endpoint.aclose()
    if closer is not None:
        await closer.aclose()  # type: ignore[attr-defined]
