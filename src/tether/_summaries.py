"""Summaries written by model calls outside the loop, kept in the run's event log.

A history policy that asks a model for a summary (``HistorySummarize``) finds the run's
:class:`SummaryLog` in ``ctx.state[SUMMARY_LOG]``. It looks a summary up by a key derived from
what is summarized before asking the model, so a resumed or replayed run is served the summary
from the log; a new summary is recorded as a ``history_summarized`` event, whose usage counts in
the run's usage and against ``max_cost``. A replay served a recording's summary records it in the
replayed run's own log as well, so the replayed Result's usage and cost equal the live run's.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SUMMARY_LOG", "SummaryLog", "summary_key"]

#: The ``ctx.state`` key under which the engine puts the run's SummaryLog.
SUMMARY_LOG = "tether.summary_log"


def summary_key(text: str) -> str:
    """The key of a summary of ``text`` (the rendered messages it stands for)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


class SummaryLog:
    """The summaries a run has in its log, and the way to record a new one."""

    def __init__(
        self,
        known: Callable[[], Mapping[str, Any]],
        record: Callable[[Any], None],
        recorded: Mapping[str, Any] | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._known = known
        self._record = record
        self._recorded = recorded or {}
        #: Recorded by this log, not yet folded into the run's state (``known``).
        self._new: dict[str, Any] = {}
        #: The run's PII redaction (``PIIRedactionHook.redact``; the text as it is without one),
        #: for text a history policy brings into the request from outside the run (memories).
        self.redact: Callable[[str], str] = redact or str

    def find(self, key: str) -> Any:
        """The ``history_summarized`` event with ``key``: this run's, or a recording's (replay);
        a recording's is put in this run's log too (what it cost is this run's as well)."""
        found = self._known().get(key) or self._new.get(key)
        if found is None:
            found = self._recorded.get(key)
            if found is not None:
                self.record(dataclasses.replace(found, run_id="", seq=0, at=0.0))
        return found

    def latest(self) -> Any:
        """This run's newest summary written by a history policy (one with ``covers``), or None:
        where a resumed run's policy continues from, as the run would have without the stop."""
        found = [e for e in self._known().values() if getattr(e, "covers", None) is not None]
        found.extend(e for e in self._new.values() if getattr(e, "covers", None) is not None)
        return found[-1] if found else None

    def record(self, event: Any) -> None:
        """Put a new ``history_summarized`` event in the run's log."""
        self._new[event.key] = event
        self._record(event)
