"""The ``asyncio`` transport (tether's own HTTP/1.1 client) against a raw loopback server that
writes exactly the bytes a test gives it: framings (chunked, close-delimited, compressed),
keep-alive and a connection the server dropped while idle, malformed answers, timeouts, TLS,
and what it refuses to send."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import subprocess
import time
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tether.errors import ModelProviderError, UserError
from tether.messages import Message
from tether.models import _h1
from tether.models._http import aclose_clients
from tether.models.base import ModelRequest, ModelSettings
from tether.models.openai_chat import OpenAIChatModel

_ANSWER = json.dumps(
    {
        "id": "r1",
        "model": "gpt-4o-mini",
        "choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
).encode()

Reply = bytes | Callable[[asyncio.StreamWriter], Any]


def _ok(body: bytes = _ANSWER, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", *headers]
    if not any(h.lower().startswith("content-type") for h in headers):
        head.append("Content-Type: application/json")
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _chunked(body: bytes, *headers: str, size: int = 7) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    framed = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces)
    return _ok(framed + b"0\r\nX-Trailer: t\r\n\r\n", "Transfer-Encoding: chunked", *headers)


class RawServer:
    """Answers each request with the next scripted reply (bytes, or a coroutine function given
    the writer); records each request and counts connections."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.closed = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                self.requests.append((head, await reader.readexactly(length)))
                reply = self.replies.pop(0)
                if isinstance(reply, bytes):
                    writer.write(reply)
                    await writer.drain()
                elif await reply(writer) is False:
                    break  # the reply closes the connection
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed += 1
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    server = await RawServer().start()
    yield server
    await server.stop()


def _model(url: str, **kw: Any) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-4o-mini", api_key="sk-raw", base_url=url, transport="asyncio", **kw)


def _request(timeout: float | None = None) -> ModelRequest:
    return ModelRequest(messages=[Message.user("hi")], settings=ModelSettings(timeout=timeout))


async def test_the_request_bytes_and_a_kept_alive_connection(raw: RawServer) -> None:
    raw.replies += [_ok(), _ok()]
    model = _model(raw.url())
    assert (await model.request(_request())).text == "hello"
    assert (await model.request(_request())).text == "hello"
    assert raw.connections == 1  # the second request reused the first connection
    head, body = raw.requests[0]
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    assert headers["Host"] == f"127.0.0.1:{raw.port}"
    assert headers["Authorization"] == "Bearer sk-raw"
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body)["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ],
    ids=["identity", "gzip", "deflate", "raw-deflate"],
)
async def test_chunked_and_compressed_answers_are_read(
    raw: RawServer, encoding: str, encode: Any
) -> None:
    packed = encode(_ANSWER)
    raw.replies += [
        _chunked(packed, f"Content-Encoding: {encoding}"),
        _ok(packed, f"Content-Encoding: {encoding}"),
    ]
    model = _model(raw.url())
    assert (await model.request(_request())).text == "hello"
    assert (await model.request(_request())).text == "hello"
    assert raw.connections == 1


async def test_a_close_delimited_answer_and_connection_close(raw: RawServer) -> None:
    async def until_close(writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + _ANSWER)
        await writer.drain()
        return False

    raw.replies += [until_close, _ok(_ANSWER, "Connection: close"), _ok()]
    model = _model(raw.url())
    for _ in range(3):
        assert (await model.request(_request())).text == "hello"
    assert raw.connections == 3  # neither connection was reused


async def test_a_connection_dropped_while_idle_is_replaced_once(raw: RawServer) -> None:
    async def then_drop(writer: asyncio.StreamWriter) -> bool:
        writer.write(_ok())  # says nothing of closing, then closes
        await writer.drain()
        return False

    raw.replies += [then_drop, _ok()]
    model = _model(raw.url())
    assert (await model.request(_request())).text == "hello"
    await asyncio.sleep(0.05)
    assert (await model.request(_request())).text == "hello"
    assert raw.connections == 2 and len(raw.requests) == 2  # sent once, on a new connection


async def test_a_kept_connection_closed_as_the_request_went_out_is_replaced_once(
    raw: RawServer,
) -> None:
    async def hang_up(writer: asyncio.StreamWriter) -> bool:
        return False  # closed without a byte of answer, as an idle timeout racing the request

    raw.replies += [_ok(), hang_up, _ok(), hang_up, hang_up]
    model = _model(raw.url())
    assert (await model.request(_request())).text == "hello"
    assert (await model.request(_request())).text == "hello"  # sent again on a new connection
    assert raw.connections == 2 and len(raw.requests) == 3
    # Once only: on the new connection the same is a failure (the runtime retries, not here).
    with pytest.raises(ModelProviderError, match="closed before the answer") as caught:
        await model.request(_request())
    assert caught.value.retryable is True
    assert raw.connections == 3 and len(raw.requests) == 5


async def test_an_interim_100_answer_is_skipped(raw: RawServer) -> None:
    raw.replies.append(b"HTTP/1.1 100 Continue\r\n\r\n" + _ok())
    assert (await _model(raw.url()).request(_request())).text == "hello"


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b"SMTP ready\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 2OO OK\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (_ok(b"not gzip", "Content-Encoding: gzip"), "does not unpack"),
        (_ok(b"x", "Content-Encoding: br"), "unsupported Content-Encoding"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000, "larger than 64 KiB"),
    ],
)
async def test_a_malformed_answer_is_a_retryable_typed_error(
    raw: RawServer, reply: bytes, says: str
) -> None:
    async def then_close(writer: asyncio.StreamWriter) -> bool:
        writer.write(reply)
        await writer.drain()
        return False

    raw.replies.append(then_close)
    started = time.monotonic()
    with pytest.raises(ModelProviderError, match=says) as caught:
        await _model(raw.url()).request(_request(timeout=5))
    assert caught.value.retryable is True and time.monotonic() - started < 2


async def test_an_answer_cut_off_mid_body_is_a_broken_connection(raw: RawServer) -> None:
    async def cut(writer: asyncio.StreamWriter) -> bool:
        writer.write(_ok()[:-10])
        await writer.drain()
        return False

    raw.replies.append(cut)
    with pytest.raises(ModelProviderError, match="connection broke") as caught:
        await _model(raw.url()).request(_request())
    assert caught.value.retryable is True


async def test_each_wait_is_bounded_by_the_timeout(raw: RawServer) -> None:
    async def silent(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)

    async def slow_body(writer: asyncio.StreamWriter) -> None:
        writer.write(_ok()[:-5])
        await writer.drain()
        await asyncio.sleep(3)

    raw.replies += [silent, slow_body]
    model = _model(raw.url())
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(ModelProviderError, match="timed out") as caught:
            await model.request(_request(timeout=0.2))
        assert caught.value.retryable is True and time.monotonic() - started < 1.5


async def test_a_refused_connection_is_a_retryable_error() -> None:
    free = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = free.sockets[0].getsockname()[1]
    free.close()
    await free.wait_closed()
    with pytest.raises(ModelProviderError, match="connection failed") as caught:
        await _model(f"http://127.0.0.1:{port}/v1").request(_request())
    assert caught.value.retryable is True


async def test_a_cancelled_request_does_not_leave_its_connection_in_the_pool(
    raw: RawServer,
) -> None:
    async def late(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        writer.write(_ok())

    raw.replies += [late, _ok()]
    model = _model(raw.url())
    task = asyncio.create_task(model.request(_request()))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The late answer of the cancelled request cannot be read as the next one's.
    assert (await model.request(_request())).text == "hello"
    assert raw.connections == 2


async def test_a_streamed_answer_over_chunks(raw: RawServer) -> None:
    events = b"".join(
        b"data: " + json.dumps(chunk).encode() + b"\n\n"
        for chunk in (
            {"id": "s", "choices": [{"delta": {"content": "hel"}}]},
            {"id": "s", "choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]},
        )
    )
    raw.replies += [
        _chunked(events + b"data: [DONE]\n\n", "Content-Type: text/event-stream", size=5),
        _ok(),
    ]
    model = _model(raw.url())
    got = [e async for e in model.stream(_request())]
    assert got[-1].text == "hello"  # type: ignore[union-attr]
    assert (await model.request(_request())).text == "hello"
    assert raw.connections == 1  # the stream read to its end gave its connection back


def test_what_it_refuses_to_send() -> None:
    with pytest.raises(UserError, match="line break"):
        _h1._head_bytes("h", "/", {"X-Evil": "a\r\nInjected: 1"})
    with pytest.raises(UserError, match="credentials"):
        _h1._target("http://user:pw@127.0.0.1:1/v1")
    with pytest.raises(UserError, match="http:// or https://"):
        _h1._target("ftp://127.0.0.1/v1")
    assert _h1._target("https://[::1]/v1/a b?q=1") == ("::1", "[::1]", 443, True, "/v1/a%20b?q=1")


async def test_a_header_with_a_line_break_is_a_user_error(raw: RawServer) -> None:
    model = _model(raw.url(), default_headers={"X-Team": "blue\r\nInjected: 1"})
    with pytest.raises(UserError, match="line break"):
        await model.request(_request())
    assert raw.connections == 0


def _cert(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _cert(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server = await RawServer().start(tls)
    try:
        server.replies.append(_ok())
        # Not signed by a known authority: refused, and the request is not sent.
        with pytest.raises(ModelProviderError, match=r"connection failed.*CERTIFICATE_VERIFY"):
            await _model(server.url("https")).request(_request())
        assert server.requests == []
        await aclose_clients()  # the next endpoint is built anew, with the trusting context
        trusting = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setattr(_h1, "ssl_context", lambda: trusting)
        assert (await _model(server.url("https")).request(_request())).text == "hello"
        assert server.requests[0][0].startswith(b"POST /v1/chat/completions HTTP/1.1")
    finally:
        await server.stop()
