"""A fast loopback OpenAI-compatible server for the benchmarks (Chat Completions, JSON and SSE).

It scripts one conversation: when the request has no tool result yet it asks for ``add(1, 2)``,
otherwise it answers "The answer is 3". Every response is precomputed bytes, HTTP/1.1 keep-alive
is parsed by hand on a bare asyncio Protocol, and the only per-request work is finding the end
of the headers, the body length and two substrings. A configurable latency (seconds) delays each
answer with ``call_later``, so waiting costs no CPU.

Run it as its own process (``python bench/server.py --latency 0.05``): it prints
``READY <port>`` on stdout. ``GET /stats`` returns the request count, the CPU seconds the server
process used and the busy time spent handling requests, so a benchmark can show the server was
not its bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import time

ANSWER = "The answer is 3"
STREAM_PIECES = ("The ", "answer ", "is ", "3")
TOOL_ARGS = '{"a": 1, "b": 2}'
MODEL = "gpt-4o-mini"
CREATED = 1_700_000_000
USAGE = {"prompt_tokens": 52, "completion_tokens": 9, "total_tokens": 61}


def _tool_call_body() -> dict[str, object]:
    return {
        "id": "chatcmpl-bench-1",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_add_1",
                            "type": "function",
                            "function": {"name": "add", "arguments": TOOL_ARGS},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
                "logprobs": None,
            }
        ],
        "usage": USAGE,
    }


def _answer_body() -> dict[str, object]:
    return {
        "id": "chatcmpl-bench-2",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": USAGE,
    }


def _chunk(cid: str, delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def _usage_chunk(cid: str) -> dict[str, object]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [],
        "usage": USAGE,
    }


def _sse(chunks: list[dict[str, object]]) -> bytes:
    lines = [f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks]
    lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def _tool_call_stream() -> bytes:
    cid = "chatcmpl-bench-s1"
    half = len(TOOL_ARGS) // 2
    first = {
        "index": 0,
        "id": "call_add_1",
        "type": "function",
        "function": {"name": "add", "arguments": TOOL_ARGS[:half]},
    }
    rest = {"index": 0, "function": {"arguments": TOOL_ARGS[half:]}}
    return _sse(
        [
            _chunk(cid, {"role": "assistant", "content": None}),
            _chunk(cid, {"tool_calls": [first]}),
            _chunk(cid, {"tool_calls": [rest]}),
            _chunk(cid, {}, "tool_calls"),
            _usage_chunk(cid),
        ]
    )


def _answer_stream() -> bytes:
    cid = "chatcmpl-bench-s2"
    chunks = [_chunk(cid, {"role": "assistant", "content": ""})]
    chunks.extend(_chunk(cid, {"content": piece}) for piece in STREAM_PIECES)
    chunks.append(_chunk(cid, {}, "stop"))
    chunks.append(_usage_chunk(cid))
    return _sse(chunks)


def _http(body: bytes, content_type: bytes) -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: keep-alive\r\n\r\n"
    )
    return head + body


JSON = b"application/json"
EVENT_STREAM = b"text/event-stream; charset=utf-8"
RESPONSES = {
    # (streamed, has a tool result) -> the whole HTTP response
    (False, False): _http(json.dumps(_tool_call_body()).encode(), JSON),
    (False, True): _http(json.dumps(_answer_body()).encode(), JSON),
    (True, False): _http(_tool_call_stream(), EVENT_STREAM),
    (True, True): _http(_answer_stream(), EVENT_STREAM),
}
NOT_FOUND = _http(b'{"error": {"message": "not found", "type": "invalid_request_error"}}', JSON)
NOT_FOUND = NOT_FOUND.replace(b"200 OK", b"404 Not Found", 1)


class Stats:
    """What the server did: requests answered and the time spent handling them."""

    requests = 0
    connections = 0
    busy = 0.0


class Barrier:
    """Holds chat answers until ``size`` requests wait, then sends them all.

    A burst measured behind a barrier has every run in flight at the same moment, which is what
    "memory per in-flight run" needs. Set with ``GET /barrier?n=1000&timeout=30``. A client that
    bounds its requests in flight never sends ``size`` at once, so the barrier also opens when no
    new request came for ``IDLE`` seconds (or none at all within ``timeout``).
    """

    IDLE = 0.5
    size = 0
    held: list[tuple[BenchProtocol, bytes]] = []  # noqa: RUF012 - one server per process
    timer: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def arm(cls, size: int, timeout: float, loop: asyncio.AbstractEventLoop) -> None:
        cls.release()
        cls.size = size
        cls.loop = loop
        cls.timer = loop.call_later(timeout, cls.release)

    @classmethod
    def hold(cls, protocol: BenchProtocol, response: bytes) -> bool:
        if cls.size <= 0:
            return False
        cls.held.append((protocol, response))
        if len(cls.held) >= cls.size:
            cls.release()
        elif cls.loop is not None:
            if cls.timer is not None:
                cls.timer.cancel()
            cls.timer = cls.loop.call_later(cls.IDLE, cls.release)
        return True

    @classmethod
    def release(cls) -> None:
        held, cls.held, cls.size = cls.held, [], 0
        if cls.timer is not None:
            cls.timer.cancel()
            cls.timer = None
        for protocol, response in held:
            protocol._send(response, protocol.latency)


class BenchProtocol(asyncio.Protocol):
    """One keep-alive connection: parse requests by hand, answer with precomputed bytes."""

    __slots__ = ("buffer", "latency", "loop", "transport")

    def __init__(self, latency: float, loop: asyncio.AbstractEventLoop) -> None:
        self.latency = latency
        self.loop = loop
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        Stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        started = time.perf_counter()
        buffer = self.buffer + data if self.buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = 0
            low = head.lower()
            at = low.find(b"content-length:")
            if at >= 0:
                stop = low.find(b"\r\n", at)
                length = int(low[at + 15 : stop if stop >= 0 else len(low)])
            total = end + 4 + length
            if len(buffer) < total:
                break
            body = buffer[end + 4 : total]
            buffer = buffer[total:]
            self._answer(head, body)
        self.buffer = buffer
        Stats.busy += time.perf_counter() - started

    def _answer(self, head: bytes, body: bytes) -> None:
        Stats.requests += 1
        line = head[: head.find(b"\r\n")]
        if line.startswith(b"GET /stats"):
            payload = json.dumps(_stats()).encode()
            self._send(_http(payload, JSON), 0.0)
            return
        if line.startswith(b"GET /barrier"):
            query = dict(
                item.split(b"=", 1) for item in line.split(b" ")[1].partition(b"?")[2].split(b"&")
            )
            Barrier.arm(int(query[b"n"]), float(query.get(b"timeout", b"30")), self.loop)
            self._send(_http(b"{}", JSON), 0.0)
            return
        if b"/chat/completions" not in line:
            self._send(NOT_FOUND, 0.0)
            return
        streamed = b'"stream":true' in body or b'"stream": true' in body
        answered = b'"role":"tool"' in body or b'"role": "tool"' in body
        response = RESPONSES[(streamed, answered)]
        if not Barrier.hold(self, response):
            self._send(response, self.latency)

    def _send(self, response: bytes, delay: float) -> None:
        if delay > 0:
            self.loop.call_later(delay, self._write, response)
        else:
            self._write(response)

    def _write(self, response: bytes) -> None:
        if self.transport is not None:
            self.transport.write(response)


def _stats() -> dict[str, float | int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "requests": Stats.requests,
        "connections": Stats.connections,
        "busy_s": Stats.busy,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "pid": os.getpid(),
    }


async def serve(latency: float, port: int = 0) -> None:
    """Serve until SIGTERM/SIGINT; print ``READY <port>`` once listening."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: BenchProtocol(latency, loop), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    sock = server.sockets[0]
    print(f"READY {sock.getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--latency SECONDS --port N``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.latency, args.port))
    except KeyboardInterrupt:  # pragma: no cover - interactive use
        sys.exit(0)


if __name__ == "__main__":
    main()
