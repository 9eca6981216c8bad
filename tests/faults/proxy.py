"""A loopback TCP proxy that a test can cut and restore: an outage of a real server, without
stopping the server other tests share."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

from tests._ports import bound_socket


class Proxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``cut()`` drops every connection and refuses
    new ones, ``restore()`` accepts them again on the same port. Runs on a thread of its own."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        # The first start is handed this socket, bound and listening: no other process can
        # take the port before the proxy listens. (A restore after a cut binds the port again:
        # a refusing port cannot stay held.)
        self._first: socket.socket | None = bound_socket()
        self.port: int = self._first.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.restore()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def restore(self) -> None:
        """Accept connections again."""
        self._call(self._start())

    def cut(self) -> None:
        """Drop every open connection and refuse new ones (connection refused)."""
        self._call(self._stop())

    def close(self) -> None:
        """Stop the proxy and its thread."""
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        if self._server is None and self._first is not None:
            self._server = await asyncio.start_server(self._serve, sock=self._first)
            self._first = None  # the server owns (and closes) it now
        elif self._server is None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True
            )

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.discard(writer)
        self._writers.discard(up_writer)
