"""A trace never changes a run's outcome: exporter failures are logged and counted, never raised.

The run driver hands each event to :func:`deliver` and, when the run stops, calls
:func:`flush_all`. An exporter that raises (a bug, an unserializable value, a full disk, a
collector that is down) is logged on the ``tether.tracing`` logger and counted in
:func:`export_errors`; the other exporters still get every event and are still flushed, and the
run ends as it would have without tracing.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import Counter
from collections.abc import Sequence

from .._log_scrub import get_logger
from ..events import Event
from .base import Exporter

__all__ = ["backfill", "deliver", "export_errors", "flush_all"]

logger = get_logger("tether.tracing")
_ERRORS: Counter[str] = Counter()
_LOGGED: set[tuple[str, str]] = set()


def export_errors() -> dict[str, int]:
    """How many times each exporter class failed in this process (``{"JsonlExporter": 2}``)."""
    return dict(_ERRORS)


def _failed(exporter: Exporter, stage: str, exc: BaseException) -> None:
    name = type(exporter).__name__
    _ERRORS[name] += 1
    key = (name, f"{stage}:{type(exc).__name__}")
    if key in _LOGGED:  # once per kind: a broken exporter must not flood the log either
        logger.debug("trace exporter %s failed in %s again: %r", name, stage, exc)
        return
    _LOGGED.add(key)
    from .redact import scrub_secrets  # an exporter's error may quote what it was writing

    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error(
        "trace exporter %s failed in %s (the run goes on; counted in export_errors()): %s",
        name,
        stage,
        scrub_secrets(trace.rstrip()),
    )


def deliver(exporters: Sequence[Exporter], event: Event) -> None:
    """Hand ``event`` to every exporter; one failing does not stop the others."""
    for exporter in exporters:
        try:
            exporter.on_event(event)
        except Exception as exc:
            _failed(exporter, "on_event", exc)


def backfill(exporters: Sequence[Exporter], events: Sequence[Event]) -> None:
    """Hand a resumed run's stored log to the exporters that keep whole logs (an optional
    ``backfill(events)``, the JSONL exporter's); failures are logged, never raised."""
    for exporter in exporters:
        fill = getattr(exporter, "backfill", None)
        if fill is None:
            continue
        try:
            fill(events)
        except Exception as exc:
            _failed(exporter, "backfill", exc)


async def flush_all(exporters: Sequence[Exporter], run_id: str) -> None:
    """Flush every exporter for the run that stopped; failures are logged, never raised.

    A cancellation arriving meanwhile is kept for after the flushes, so a cancelled run still
    leaves its trace behind.
    """
    cancelled: asyncio.CancelledError | None = None
    for exporter in exporters:
        try:
            await exporter.flush(run_id)
        except asyncio.CancelledError as exc:
            cancelled = exc
        except Exception as exc:
            _failed(exporter, "flush", exc)
    if cancelled is not None:
        raise cancelled
