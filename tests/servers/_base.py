"""A tiny HTTP/1.1 server on 127.0.0.1, in a background thread, that speaks a model wire protocol.

Each protocol server (Chat Completions, Responses, Anthropic Messages) subclasses
:class:`ModelServer` and renders neutral *turns* (:class:`Turn`) into its JSON or SSE shapes.
A test scripts what the server answers with :meth:`ModelServer.add` (turns, HTTP errors and
faults, consumed in order) or a ``responder`` function that answers when the script is empty.
Every request is recorded in :attr:`ModelServer.requests`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CutBody",
    "Delay",
    "Events",
    "HTTPError",
    "ModelServer",
    "Raw",
    "RecordedRequest",
    "Reset",
    "Truncate",
    "Turn",
]


@dataclass
class Turn:
    """One model answer, protocol-neutral: text, tool calls, reasoning, refusal, usage."""

    text: str | None = None
    #: (name, arguments) pairs; arguments as a dict or raw (maybe invalid) JSON text.
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    reasoning: str | None = None
    refusal: str | None = None
    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    #: The finish reason in the protocol's own words (None: derived from the content).
    finish_reason: str | None = None
    #: Text split into this many stream deltas at most (tool args into 3 pieces).
    pieces: int = 3


@dataclass
class HTTPError:
    """Answer with this status, JSON body and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reset:
    """Close the connection abruptly (TCP RST) without answering."""


@dataclass
class Truncate:
    """Stream ``turn`` but cut the connection after ``after`` events (a broken stream)."""

    turn: Turn
    after: int = 2


@dataclass
class CutBody:
    """Send the headers of a ``status`` answer whose body is longer than what is then sent:
    the connection drops while the client reads the body (e.g. a JSON error body)."""

    status: int
    sent: bytes = b'{"error": {"mess'
    content_type: str = "application/json"


@dataclass
class Delay:
    """Wait ``seconds`` before answering with ``then``."""

    seconds: float
    then: Any


@dataclass
class Events:
    """Answer with exactly these SSE events ((event name or None, data) pairs), e.g. an error
    event in the middle of a stream."""

    events: list[tuple[str | None, Any]]


@dataclass
class Raw:
    """Answer with this status and raw body (e.g. something that is not JSON)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def stream(self) -> bool:
        """Whether the client asked for a stream."""
        return isinstance(self.body, dict) and bool(self.body.get("stream"))


Script = Turn | HTTPError | Reset | Truncate | CutBody | Delay | Events | Raw
Responder = Callable[[RecordedRequest], Script]


def split(text: str, pieces: int) -> list[str]:
    """``text`` in at most ``pieces`` consecutive non-empty pieces."""
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def args_text(args: dict[str, Any] | str) -> str:
    """Tool arguments as the JSON text the model would produce."""
    return args if isinstance(args, str) else json.dumps(args)


class ModelServer:
    """Base of the protocol servers: HTTP plumbing, script, recording. Use as a context manager."""

    #: Path of the model endpoint (``/v1/chat/completions`` etc.).
    path = "/v1"

    def __init__(self, responder: Responder | None = None, *, record: bool = True) -> None:
        self.responder = responder
        #: Every request received, in order (kept only when ``record``; benchmarks turn it off).
        self.requests: list[RecordedRequest] = []
        self.record = record
        #: Requests being answered right now, and the most there ever were at once.
        self.active = 0
        self.peak = 0
        self._script: deque[Script] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._counter = 0
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ModelServer:
        """Start listening on 127.0.0.1 on a free port (returns when it accepts connections)."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("test server did not start")
        return self

    def stop(self) -> None:
        """Stop the server and its thread."""
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The base URL a client is configured with (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server = loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=2048)
        )
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    # -- script ---------------------------------------------------------------------------------

    def add(self, *items: Script) -> ModelServer:
        """Append answers to the script (consumed one per request, in order)."""
        with self._lock:
            self._script.extend(items)
        return self

    def add_text(self, text: str, **kw: Any) -> ModelServer:
        """Script a plain text answer."""
        return self.add(Turn(text=text, **kw))

    def add_tool_calls(self, *calls: tuple[str, dict[str, Any] | str], **kw: Any) -> ModelServer:
        """Script one answer asking for these tool calls (in parallel)."""
        return self.add(Turn(tool_calls=list(calls), **kw))

    @property
    def pending(self) -> int:
        """How many scripted answers are left."""
        return len(self._script)

    def _next(self, request: RecordedRequest) -> Script:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.responder is not None:
            return self.responder(request)
        return HTTPError(500, {"error": {"message": "test server: script is empty"}})

    def next_id(self, prefix: str) -> str:
        """A fresh id like ``prefix_7``."""
        with self._lock:
            self._counter += 1
            return f"{prefix}_{self._counter}"

    # -- protocol hooks (overridden) ------------------------------------------------------------

    def render_json(self, turn: Turn, request: RecordedRequest) -> Any:
        """The non-streamed JSON body for ``turn``."""
        raise NotImplementedError

    def render_events(self, turn: Turn, request: RecordedRequest) -> list[tuple[str | None, Any]]:
        """The SSE events (event name or None, data) for ``turn``; data ``"[DONE]"`` is raw."""
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        """An error body in the protocol's shape."""
        return {"error": {"message": message, "type": "server_error", "code": None}}

    # -- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                request = RecordedRequest(method, path, headers, body)
                if self.record:
                    self.requests.append(request)
                self.active += 1
                self.peak = max(self.peak, self.active)
                try:
                    keep = await self._answer(request, writer)
                finally:
                    self.active -= 1
                if not keep:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _answer(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        if request.path.rstrip("/") != self.path:
            self._write_json(writer, 404, self.error_body(404, f"no route {request.path}"))
            return True
        script = self._next(request)
        while isinstance(script, Delay):
            await asyncio.sleep(script.seconds)
            script = script.then
        if isinstance(script, Reset):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if isinstance(script, HTTPError):
            body = script.body
            if body is None:
                body = self.error_body(script.status, "error")
            self._write_json(writer, script.status, body, script.headers)
            await writer.drain()
            return True
        if isinstance(script, CutBody):
            writer.write(
                f"HTTP/1.1 {script.status} X\r\ncontent-type: {script.content_type}\r\n"
                f"content-length: {len(script.sent) + 4096}\r\n\r\n".encode()
                + script.sent
            )
            await writer.drain()
            sock = writer.get_extra_info("socket")
            if sock is not None:  # a reset, so the client does not wait for the rest
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if isinstance(script, Raw):
            extra = "".join(f"{k}: {v}\r\n" for k, v in script.headers.items())
            writer.write(
                f"HTTP/1.1 {script.status} X\r\ncontent-type: {script.content_type}\r\n"
                f"content-length: {len(script.body)}\r\n{extra}\r\n".encode()
                + script.body
            )
            await writer.drain()
            return True
        if isinstance(script, Events):
            await self._write_sse(writer, script.events, complete=True)
            return True
        if isinstance(script, Truncate):
            events = self.render_events(script.turn, request)[: script.after]
            await self._write_sse(writer, events, complete=False)
            writer.transport.abort()
            return False
        if request.stream:
            await self._write_sse(writer, self.render_events(script, request), complete=True)
        else:
            self._write_json(writer, 200, self.render_json(script, request))
            await writer.drain()
        return True

    @staticmethod
    def _write_json(
        writer: asyncio.StreamWriter, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            (
                f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                f"content-length: {len(data)}\r\n{extra}\r\n"
            ).encode()
            + data
        )

    @staticmethod
    async def _write_sse(
        writer: asyncio.StreamWriter, events: Iterable[tuple[str | None, Any]], *, complete: bool
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        for name, data in events:
            payload = data if isinstance(data, str) else json.dumps(data)
            text = (f"event: {name}\n" if name else "") + f"data: {payload}\n\n"
            chunk = text.encode()
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        if complete:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
