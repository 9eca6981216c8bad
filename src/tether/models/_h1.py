"""The ``asyncio`` transport: tether's own HTTP/1.1 client on asyncio, no HTTP library between
the request bytes and the socket.

A provider call is one POST of a JSON body to one fixed URL with fixed headers, so almost
everything a general client does per request is done here once per endpoint: the request line
and headers are bytes made when the endpoint is built, and a request adds only its
``Content-Length`` and body. The answer is parsed by hand: status line, headers, then a body
framed by ``Content-Length``, chunked, or the connection's end; gzip and deflate are unpacked
(bounded by what they unpack to). Connections are kept alive in a small pool per endpoint; one
that the server closed while idle is replaced once, before any answer byte was read. Each
connect and each wait for answer bytes is bounded by the timeout (as httpx does).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import ModelProviderError, UserError
from . import _wire
from ._wire import (
    SseParser,
    decode_json,
    encode_body,
    endpoint_config,
    redirect_error,
    ssl_context,
    status_error,
    transport_error,
)

__all__ = ["H1Endpoint"]

_DEFAULT_CONNECT = 5.0
_DEFAULT_READ = 600.0
_KEEPALIVE = 5.0  # idle connections older than this are not reused (as the SDKs' clients)
_ERROR_BODY_LIMIT = 1024 * 1024
_MAX_HEAD = 64 * 1024  # status line and headers of one answer, at most
_PAUSE_AT = 1024 * 1024  # unread bytes buffered before the socket is paused
_UNPACK_STEP = 1024 * 1024  # the most one compressed piece unpacks to at a time


class _Broken(Exception):
    """The connection ended or sent what is not HTTP (``fresh``: before any answer byte)."""

    def __init__(self, message: str, fresh: bool = False) -> None:
        super().__init__(message)
        self.fresh = fresh


class _Conn(asyncio.Protocol):
    """One keep-alive connection: bytes buffered as they come, one waiter woken by them."""

    __slots__ = ("buf", "closed", "eof", "idle_since", "paused", "transport", "waiter")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.transport: Any = None
        self.closed = False
        self.eof = False
        self.paused = False
        self.idle_since = 0.0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > _PAUSE_AT and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = self.eof = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def take(self, n: int) -> bytes:
        """The first ``n`` buffered bytes, removed from the buffer."""
        out = bytes(self.buf[:n])
        del self.buf[:n]
        if self.paused and len(self.buf) < _PAUSE_AT // 2:
            self.paused = False
            self.transport.resume_reading()
        return out

    async def more(self, timeout: float | None) -> None:
        """Wait for more bytes (or the end); a TimeoutError after ``timeout`` seconds."""
        if self.eof:
            raise _Broken("the connection closed mid-answer")
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        """Close the connection (it is not reused)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Answer:
    """One answer's status, headers and body framing, read from a connection."""

    __slots__ = ("conn", "decoder", "headers", "left", "mode", "packed", "reusable", "status")

    def __init__(self, conn: _Conn, status: int, headers: dict[str, str], reusable: bool) -> None:
        self.conn = conn
        self.status = status
        self.headers = headers
        self.reusable = reusable
        self.decoder: Any = None
        self.packed = b""  # compressed bytes not unpacked yet (each step is bounded)
        self.left = 0
        if status in (204, 304):
            self.mode = "done"
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.mode, self.left = "chunked", -1
        elif "content-length" in headers:
            try:
                self.left = int(headers["content-length"])
            except ValueError:
                raise _Broken("a bad Content-Length") from None
            if self.left < 0:
                raise _Broken("a bad Content-Length")
            self.mode = "length" if self.left else "done"
        else:
            self.mode, self.reusable = "close", False
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self.decoder = _Deflate()
        elif encoding not in ("identity", ""):
            raise _Broken(f"an unsupported Content-Encoding {encoding[:40]!r}")

    async def chunk(self, timeout: float | None) -> bytes | None:
        """The next piece of the (unpacked) body; None at its end."""
        decoder = self.decoder
        if decoder is None:
            return await self._raw(timeout)
        raw = self.packed or await self._raw(timeout)
        if raw is None:
            self.decoder = None
            return decoder.flush() or None
        out = decoder.decompress(raw, _UNPACK_STEP)
        self.packed = decoder.unconsumed_tail
        return bytes(out)

    async def _raw(self, timeout: float | None) -> bytes | None:
        conn = self.conn
        mode = self.mode
        if mode == "done":
            return None
        if mode == "length":
            while not conn.buf:
                await conn.more(timeout)
            piece = conn.take(min(self.left, len(conn.buf)))
            self.left -= len(piece)
            if not self.left:
                self.mode = "done"
            return piece
        if mode == "close":
            while not conn.buf:
                if conn.eof:
                    self.mode = "done"
                    return None
                await conn.more(timeout)
            return conn.take(len(conn.buf))
        # chunked: self.left is what is left of the current chunk (-1: at a size line)
        while True:
            if self.left > 0:
                while not conn.buf:
                    await conn.more(timeout)
                piece = conn.take(min(self.left, len(conn.buf)))
                self.left -= len(piece)
                if not self.left:
                    self.left = -2  # the chunk's CRLF comes next
                return piece
            end = conn.buf.find(b"\r\n")
            while end < 0:
                if len(conn.buf) > _MAX_HEAD:
                    raise _Broken("a chunk size line too long")
                await conn.more(timeout)
                end = conn.buf.find(b"\r\n")
            line = conn.take(end + 2)[:-2]
            if self.left == -2:  # the CRLF after a chunk's data
                if line:
                    raise _Broken("a chunk without its line end")
                self.left = -1
                continue
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Broken("a bad chunk size") from None
            if size < 0:
                raise _Broken("a bad chunk size")
            if size:
                self.left = size
                continue
            await self._trailers(timeout)
            self.mode = "done"
            return None

    async def _trailers(self, timeout: float | None) -> None:
        conn = self.conn
        while True:
            end = conn.buf.find(b"\r\n")
            while end < 0:
                if len(conn.buf) > _MAX_HEAD:
                    raise _Broken("trailers too long")
                await conn.more(timeout)
                end = conn.buf.find(b"\r\n")
            if not conn.take(end + 2)[:-2]:
                return

    async def read(self, timeout: float | None, limit: int, where: str) -> bytes:
        """The whole (unpacked) body, at most ``limit`` bytes; more is an oversize error."""
        conn = self.conn
        if self.decoder is None and self.mode == "length":
            if self.left > limit:
                raise _wire.oversize_error(where, self.status)
            if len(conn.buf) >= self.left:  # the common case: all of it is here already
                body = conn.take(self.left)
                self.mode, self.left = "done", 0
                return body
        pieces: list[bytes] = []
        size = 0
        while True:
            piece = await self.chunk(timeout)
            if piece is None:
                return b"".join(pieces)
            size += len(piece)
            if size > limit:
                raise _wire.oversize_error(where, self.status)
            pieces.append(piece)


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or (some) raw."""

    __slots__ = ("_inner", "_started")

    def __init__(self) -> None:
        self._inner: Any = zlib.decompressobj()
        self._started = False

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._inner.unconsumed_tail)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if not self._started and data:
            self._started = True
            if data[0] & 0x0F != 8:  # no zlib header: a raw deflate stream
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._inner.decompress(data, max_length))

    def flush(self) -> bytes:
        return bytes(self._inner.flush())


def _parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    """(status, headers with lower-case names, whether the connection may be reused)."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise _Broken("an answer that is not HTTP/1.x")
    status = int(parts[1])
    if not 100 <= status <= 599:
        raise _Broken(f"a bad status {status}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise _Broken("a bad header line")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    reusable = parts[0] == b"HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    return status, headers, reusable


async def _read_head(conn: _Conn, timeout: float | None) -> _Answer:
    """The next final answer's head (1xx interim answers skipped)."""
    fresh = True
    while True:
        end = conn.buf.find(b"\r\n\r\n")
        while end < 0:
            if len(conn.buf) > _MAX_HEAD:
                raise _Broken("an answer head larger than 64 KiB")
            if conn.eof:
                raise _Broken("the connection closed before the answer", fresh and not conn.buf)
            await conn.more(timeout)
            end = conn.buf.find(b"\r\n\r\n")
        fresh = False
        status, headers, reusable = _parse_head(conn.take(end + 4)[:-4])
        if status >= 200 or status == 101:
            return _Answer(conn, status, headers, reusable)


def _target(url: str) -> tuple[str, str, int, bool, str]:
    """(host, Host header, port, TLS, request target) of ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UserError(f"base_url must be http:// or https://, got {parts.scheme or 'none'!r}")
    if parts.username is not None or parts.password is not None:
        raise UserError("base_url must not carry credentials: pass api_key instead")
    host = parts.hostname
    if not host:
        raise UserError("base_url has no host")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError:
        raise UserError("base_url has a bad port") from None
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + parts.query
    return host, parts.netloc, port, tls, path


def _head_bytes(host_header: str, target: str, headers: dict[str, str]) -> bytes:
    """The request line and headers, up to the Content-Length value."""
    lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}"]
    for name, value in headers.items():
        if any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
            raise UserError(f"header {name[:40]!r} has a line break or colon in its name/value")
        lines.append(f"{name}: {value}")
    lines.append("Accept-Encoding: gzip, deflate")
    lines.append("Content-Length: ")
    try:
        return "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise UserError("a request header is not latin-1 text") from None


class H1Endpoint:
    """One provider endpoint on one event loop, on tether's own HTTP/1.1 connections."""

    __slots__ = (
        "_connect",
        "_gate",
        "_head",
        "_host",
        "_idle",
        "_limit",
        "_port",
        "_read",
        "_ssl",
        "_tls",
        "client",
        "closed",
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
        self._host, host_header, self._port, self._tls, target = _target(self.url)
        self._head = _head_bytes(host_header, target, headers)
        self._connect, self._read = _wire.sdk_timeouts(client, _DEFAULT_CONNECT, _DEFAULT_READ)
        self._ssl = ssl_context() if self._tls else None
        self._limit = max_inflight
        self._gate = asyncio.Semaphore(max_inflight)
        self._idle: list[_Conn] = []
        #: Whether :meth:`aclose` was called (answers still in flight close their connection).
        self.closed = False

    async def aclose(self) -> None:
        """Close the idle connections (busy ones close when their answer ends)."""
        self.closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def idle(self) -> bool:
        """Whether no request is in flight on it."""
        return not self._gate._waiters and self._gate._value == self._limit

    async def _open(self, timeout: float | None) -> _Conn:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(
            _Conn,
            self._host,
            self._port,
            ssl=self._ssl,
            server_hostname=self._host if self._tls else None,
        )
        _, conn = await asyncio.wait_for(connecting, timeout)
        return conn

    async def _send(self, data: bytes, timeout: float | None) -> _Answer:
        """Write the request on a pooled (else new) connection; the answer's head (``timeout``:
        the request's, else the SDK client's connect and read timeouts)."""
        connect = self._connect if timeout is None else timeout
        read = self._read if timeout is None else timeout
        request = b"".join((self._head, b"%d\r\n\r\n" % len(data), data))
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.closed or conn.eof or conn.buf or now - conn.idle_since > _KEEPALIVE:
                conn.close()
                continue
            conn.transport.write(request)
            try:
                return await _read_head(conn, read)
            except _Broken as exc:
                conn.close()
                if not exc.fresh:
                    raise
            except BaseException:
                conn.close()
                raise
            # the server had closed it while it sat idle: the request was not read; anew
        conn = await self._open(connect)
        try:
            conn.transport.write(request)
            return await _read_head(conn, read)
        except BaseException:
            conn.close()
            raise

    def _release(self, answer: _Answer) -> None:
        conn = answer.conn
        if answer.mode == "done" and answer.reusable and not (conn.buf or conn.eof or self.closed):
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    async def post_json(self, body: dict[str, Any], timeout: float | None, where: str) -> Any:
        """POST ``body`` and return the decoded JSON answer (errors become ModelProviderError)."""
        data = encode_body(body)
        read = timeout if timeout is not None else self._read
        async with self._gate:
            answer: _Answer | None = None
            try:
                answer = await self._send(data, timeout)
                status = answer.status
                if 300 <= status < 400:
                    raise redirect_error(status, answer.headers, where)
                if status >= 400:
                    raw = await _read_error(answer, read, where)
                    raise status_error(status, answer.headers, raw, where)
                raw = await answer.read(read, _wire.MAX_RESPONSE_BYTES, where)
            except (_Broken, OSError, zlib.error) as exc:
                if answer is not None:
                    answer.conn.close()
                raise _failure(exc, where, answer is None, "timed out") from None
            except BaseException:
                if answer is not None:
                    answer.conn.close()
                raise
            self._release(answer)
        return decode_json(raw, status, where)

    async def stream_events(
        self, body: dict[str, Any], timeout: float | None, where: str
    ) -> AsyncIterator[tuple[str | None, str]]:
        """POST ``body`` and yield its server-sent events as (event name, data) pairs."""
        data = encode_body(body)
        read = timeout if timeout is not None else self._read
        async with self._gate:
            try:
                answer = await self._send(data, timeout)
            except (_Broken, OSError) as exc:
                raise _failure(exc, where, True, "timed out") from None
            done = False
            try:
                status = answer.status
                if 300 <= status < 400:
                    raise redirect_error(status, answer.headers, where)
                if status >= 400:
                    raw = await _read_error(answer, read, where)
                    raise status_error(status, answer.headers, raw, where)
                kind = answer.headers.get("content-type", "")
                if kind.startswith(("application/json", "text/html")):
                    try:
                        raw = await answer.read(read, _wire.MAX_RESPONSE_BYTES, where)
                    except (_Broken, OSError, zlib.error) as exc:
                        raise _failure(exc, where, False, "timed out") from None
                    raise ModelProviderError(
                        f"{where}: asked for an event stream, got {kind.split(';')[0]}",
                        status=status,
                        body=raw[: _wire.MAX_ERROR_BODY].decode("utf-8", "replace"),
                        retryable=True,
                    )
                parser = SseParser(where)
                try:
                    while True:
                        piece = await answer.chunk(read)
                        if piece is None:
                            break
                        for item in parser.feed(piece):
                            yield item
                except (_Broken, OSError, zlib.error) as exc:
                    raise _failure(exc, where, False, "stream timed out", "stream broke") from None
                for item in parser.end():
                    yield item
                done = True
            finally:
                if done:
                    self._release(answer)
                else:
                    answer.conn.close()


async def _read_error(answer: _Answer, timeout: float | None, where: str) -> bytes:
    """An error answer's body: cut off, oversize or unreadable, it is empty (the status alone
    decides then)."""
    try:
        return await answer.read(timeout, _ERROR_BODY_LIMIT, where)
    except (_Broken, OSError, zlib.error, ModelProviderError):
        answer.conn.close()
        return b""


def _failure(
    exc: BaseException,
    where: str,
    before_answer: bool,
    timed_out: str,
    broke: str | None = None,
) -> ModelProviderError:
    """A transport failure as a retryable ModelProviderError that says what happened."""
    if broke is None:
        broke = "connection failed" if before_answer else "connection broke"
    if isinstance(exc, _Broken):
        text = str(exc)
        if text.startswith("the connection"):
            return ModelProviderError(f"{where}: {broke} ({text})", retryable=True)
        return ModelProviderError(f"{where}: the provider sent {text}", retryable=True)
    if isinstance(exc, zlib.error):
        return ModelProviderError(f"{where}: the answer does not unpack ({exc})", retryable=True)
    return transport_error(exc, where, timed_out, broke)
