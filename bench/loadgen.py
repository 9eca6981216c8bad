"""A raw-socket client for the bench server: its capacity and its first-byte floor.

``python bench/loadgen.py capacity PORT [CONNECTIONS] [SECONDS]`` keeps CONNECTIONS keep-alive
connections busy with precomputed requests and prints the requests per second the server
answered (the client is as cheap as a client can be, so this is a lower bound of the server's
capacity on a machine it shares with the client).

``python bench/loadgen.py first-byte PORT [N]`` replays a streamed run's two requests N times
and prints the median time from sending the first request to the first byte of the second
answer: no client could show the first text delta sooner.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

BODY_CALL = json.dumps(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is 1 + 2?"}]}
).encode()
BODY_ANSWER = json.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "user", "content": "What is 1 + 2?"},
            {"role": "tool", "tool_call_id": "call_add_1", "content": "3"},
        ],
    }
).encode()


def _request(body: bytes, stream: bool = False) -> bytes:
    if stream:
        body = body[:-1] + b', "stream": true}'
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def _read_response(reader: asyncio.StreamReader) -> float:
    """Read one response; returns the perf_counter time its first byte arrived."""
    head = await reader.readuntil(b"\r\n\r\n")
    first = time.perf_counter()
    low = head.lower()
    at = low.find(b"content-length:")
    length = int(low[at + 15 : low.find(b"\r\n", at)])
    await reader.readexactly(length)
    return first


async def capacity(port: int, connections: int = 64, seconds: float = 2.0) -> dict[str, float]:
    """Requests per second the server answers with CONNECTIONS busy keep-alive connections."""
    request = _request(BODY_CALL)
    done = 0
    stop_at = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop_at:
            writer.write(request)
            await _read_response(reader)
            done += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {"requests_per_s": done / elapsed, "requests": done, "connections": connections}


async def first_byte(port: int, n: int = 50) -> dict[str, float]:
    """Median seconds from sending a run's first request to the first byte of its answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    call, answer = _request(BODY_CALL, stream=True), _request(BODY_ANSWER, stream=True)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        writer.write(call)
        await _read_response(reader)
        writer.write(answer)
        times.append(await _read_response(reader) - start)
    writer.close()
    return {"first_byte_s": statistics.median(times)}


def main(argv: list[str]) -> None:
    """Command line (see the module docstring)."""
    what, port = argv[0], int(argv[1])
    if what == "capacity":
        conns = int(argv[2]) if len(argv) > 2 else 64
        secs = float(argv[3]) if len(argv) > 3 else 2.0
        print(json.dumps(asyncio.run(capacity(port, conns, secs))))
    elif what == "first-byte":
        print(json.dumps(asyncio.run(first_byte(port, int(argv[2]) if len(argv) > 2 else 50))))
    else:
        raise SystemExit(f"unknown command {what!r}: use capacity or first-byte")


if __name__ == "__main__":
    main(sys.argv[1:])
