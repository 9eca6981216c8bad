"""The Exporter protocol: a consumer of run events that writes traces somewhere."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..events import Event

__all__ = ["Exporter"]


@runtime_checkable
class Exporter(Protocol):
    """Receives every event of every run, in order, and writes traces.

    ``on_event`` is called on the event loop for each event and must not block (buffer, and
    write in ``flush`` off the loop). ``flush`` is awaited when a run ends.
    """

    def on_event(self, event: Event) -> None:
        """Take one event."""
        ...

    async def flush(self, run_id: str) -> None:
        """The run ended: write what was buffered for it."""
        ...
