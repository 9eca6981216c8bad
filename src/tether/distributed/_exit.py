"""How a ``tether serve --engine ray`` process ends on SIGTERM: status 0 after a clean drain.

``ray.init()`` in the main thread installs Ray's driver handler for SIGTERM, which exits with
the signal's number (15). uvicorn serves with handlers of its own and, once the server has
drained, puts back the handler it found and raises the signal again, so Ray's handler ended a
drained server with status 15: a failure to every supervisor, though nothing failed.
:class:`DrainExit` stands in front of Ray's handler (it is kept, not replaced): while a Ray
executor is open it calls Ray's handler as before; once every one has closed (the server's
drain is done, its workers ended) it exits with status 0.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

__all__ = ["DrainExit", "exit_cleanly_after_drain"]


class DrainExit:
    """The SIGTERM handler in front of Ray's: Ray's until the executors closed, then exit 0."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous
        self.open = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.open == 0:  # drained: the signal was uvicorn's, raised again after the drain
            raise SystemExit(0)
        self.previous(signum, frame)

    def opened(self) -> None:
        """An executor started: SIGTERM is Ray's to handle again until it closes."""
        self.open += 1

    def closed(self) -> None:
        """An executor drained and ended its workers."""
        self.open = max(0, self.open - 1)


def _is_rays(handler: Any) -> bool:
    return callable(handler) and str(getattr(handler, "__module__", "")).startswith("ray.")


def exit_cleanly_after_drain() -> DrainExit | None:
    """Put a :class:`DrainExit` in front of Ray's SIGTERM handler (once per process) and count
    an executor open; None when SIGTERM is not Ray's driver handler (``ray.init`` ran off the
    main thread, or the application set its own: left as it is)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    current = signal.getsignal(signal.SIGTERM)
    if isinstance(current, DrainExit):
        handler = current
    elif _is_rays(current):
        handler = DrainExit(current)
        signal.signal(signal.SIGTERM, handler)
    else:
        return None
    handler.opened()
    return handler
