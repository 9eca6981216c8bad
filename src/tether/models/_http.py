"""The HTTP path to a provider: the official SDK client for auth, base URL and headers, and a
lean send on its HTTP client that skips the SDK's parameter transform and typed parsing.

An :class:`Endpoint` is one (protocol, base URL, key, transport) on one event loop: it holds the
SDK client, the precomputed URL and headers, and a semaphore bounding requests in flight (which
keeps the connection pool's bookkeeping flat under bursts). Endpoints are cached per event loop,
because HTTP connections belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib.util
import json
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from ..errors import ModelProviderError, UserError

__all__ = [
    "DEFAULT_MAX_INFLIGHT",
    "NO_KEY",
    "Endpoint",
    "Transport",
    "aclose_clients",
    "default_transport",
    "get_endpoint",
]

Transport = Literal["httpx", "aiohttp"]
_default_transport: Transport | None = None
#: The key given to an SDK client for a server that needs none; its auth header is not sent
#: (an SDK would otherwise fall back to a key from the environment).
NO_KEY = "tether-no-key"
#: Requests in flight per endpoint at most (the rest wait on a semaphore, not in the pool).
DEFAULT_MAX_INFLIGHT = 100
_MAX_ERROR_BODY = 4000


class Endpoint:
    """One provider endpoint on one event loop: SDK client, URL, headers and in-flight bound."""

    __slots__ = ("_gate", "client", "errors", "headers", "http", "key", "url")

    def __init__(self, client: Any, path: str, max_inflight: int, key: tuple[Any, ...]) -> None:
        self.client = client
        self.key = key
        self.url = str(client.base_url).rstrip("/") + path
        headers: dict[str, str] = {}
        for source in (client.default_headers, client.auth_headers):
            headers.update(
                (k, v) for k, v in source.items() if isinstance(v, str) and NO_KEY not in v
            )
        self.headers = headers
        self.http: Any = client._client  # the SDK's configured httpx (or httpx2) client
        self.errors = _errors_of(self.http)
        self._gate = asyncio.Semaphore(max_inflight)

    async def post_json(self, body: dict[str, Any], timeout: float | None, where: str) -> Any:
        """POST ``body`` and return the decoded JSON answer (errors become ModelProviderError)."""
        async with self._gate:
            response = await self._send(body, timeout, stream=False, where=where)
            try:
                return json.loads(response.content)
            except ValueError as exc:
                raise ModelProviderError(
                    f"{where}: the provider answered with invalid JSON ({exc})",
                    status=response.status_code,
                    body=response.text[:_MAX_ERROR_BODY],
                    retryable=True,
                ) from None

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
                    body=response.text[:_MAX_ERROR_BODY],
                    retryable=True,
                )
            try:
                async for item in _sse(response, self.errors, where):
                    yield item
            finally:
                await response.aclose()

    async def _send(
        self, body: dict[str, Any], timeout: float | None, *, stream: bool, where: str
    ) -> Any:
        http = self.http
        request = http.build_request(
            "POST",
            self.url,
            content=json.dumps(body).encode(),
            headers=self.headers,
            timeout=timeout if timeout is not None else http.timeout,
        )
        try:
            response = await http.send(request, stream=stream)
        except self.errors.TransportError as exc:
            raise _transport_error(
                exc, self.errors, where, "timed out", "connection failed"
            ) from None
        if response.status_code >= 400:
            raise await _status_error(response, where)
        return response


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
    body: Any
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", "replace")[:_MAX_ERROR_BODY]
    message = _error_message(body)
    status = response.status_code
    return ModelProviderError(
        f"{where}: provider error{': ' + message if message else ''}",
        status=status,
        body=body,
        retry_after=parse_retry_after(response.headers),
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


async def _sse(response: Any, errors: Any, where: str) -> AsyncIterator[tuple[str | None, str]]:
    """Parse server-sent events: ``event:`` names and (possibly multi-line) ``data:``."""
    buffer = b""
    event: str | None = None
    data: list[str] = []
    try:
        async for chunk in response.aiter_bytes():
            buffer += chunk
            while True:
                cut = buffer.find(b"\n")
                if cut < 0:
                    break
                line = buffer[:cut].rstrip(b"\r").decode()
                buffer = buffer[cut + 1 :]
                if not line:
                    if data:
                        yield event, "\n".join(data)
                    event, data = None, []
                elif line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                elif line.startswith("event:"):
                    event = line[6:].strip()
    except errors.TransportError as exc:
        raise _transport_error(exc, errors, where, "stream timed out", "stream broke") from None
    if data:
        yield event, "\n".join(data)


_endpoints: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Endpoint]]
_endpoints = weakref.WeakKeyDictionary()


_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIterator[None]]
_closers = weakref.WeakKeyDictionary()


async def _close_at_shutdown(cache: dict[tuple[Any, ...], Endpoint]) -> AsyncIterator[None]:
    """Parked for the loop's lifetime; ``loop.shutdown_asyncgens()`` (which ``asyncio.run``
    calls) closes it, and with it the loop's HTTP clients, so no session is left unclosed."""
    try:
        yield
    finally:
        for endpoint in list(cache.values()):
            await endpoint.http.aclose()
        cache.clear()


_building: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
_building = weakref.WeakKeyDictionary()


async def get_endpoint(
    key: tuple[Any, ...],
    factory: Callable[[Any], Any],
    path: str,
    transport: Transport,
    max_inflight: int = DEFAULT_MAX_INFLIGHT,
) -> Endpoint:
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
            endpoint = await asyncio.to_thread(
                lambda: Endpoint(factory(_http_client(transport)), path, max_inflight, key)
            )
            cache[key] = endpoint
    return endpoint


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
    for cls in type(http).__mro__:
        if cls.__name__ == "AsyncClient":
            return importlib.import_module(cls.__module__.split(".")[0])
    raise UserError(f"unsupported HTTP client {type(http).__name__}")


def _http_client(transport: Transport) -> Any:
    import openai

    if transport == "aiohttp":
        try:
            import aiohttp  # noqa: F401
        except ImportError:
            raise UserError(
                "transport='aiohttp' needs aiohttp: pip install \"tether[aiohttp]\""
            ) from None
        aio = getattr(openai, "DefaultAioHttpClient", None)
        # An openai version without an aiohttp transport: its default one serves.
        return aio() if aio is not None else openai.DefaultAsyncHttpxClient()
    if transport != "httpx":
        raise UserError(f"transport must be 'httpx' or 'aiohttp', got {transport!r}")
    return openai.DefaultAsyncHttpxClient()


async def aclose_clients() -> None:
    """Close the HTTP clients tether opened on the running event loop now (``asyncio.run``
    closes them anyway when the loop shuts down)."""
    loop = asyncio.get_running_loop()
    cache = _endpoints.pop(loop, None)
    closer = _closers.pop(loop, None)
    for endpoint in (cache or {}).values():
        await endpoint.http.aclose()
    if closer is not None:
        await closer.aclose()  # type: ignore[attr-defined]
