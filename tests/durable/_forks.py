"""Worker processes for the crash drivers: a forked child runs one coroutine and leaves with
``os._exit`` (no engine shutdown: joining DBOS's or Temporal's threads is slow, and a crash
test's worker is meant to end abruptly anyway)."""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

Main = Callable[[], Coroutine[Any, Any, Any]]


def start(main: Main) -> int:
    """Fork a worker running ``main()``; its pid (exit status 1 when ``main`` raised)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            asyncio.run(main())
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)
    return pid


def run(main: Main) -> tuple[int, int]:
    """Fork a worker running ``main()`` and wait for it: (pid, wait status)."""
    pid = start(main)
    _, status = os.waitpid(pid, 0)
    return pid, status
