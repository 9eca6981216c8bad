"""The tally agent of the engine-log crash workers (engine_log_dbos_crash.py,
engine_log_temporal_worker.py) and the store that kills its process.

The tally notes ``a``, ``b`` and ``c`` one call at a time, then answers. :class:`DyingStore`
SIGKILLs its process right after an append of the run's log committed (the write's step ran,
its result not yet recorded by the engine) when WORKDIR/crash-log exists, and right after a
thread's save committed when WORKDIR/crash-thread exists. Each crash file is removed first,
so the next worker goes on. Every finished model call and tool call appends ``<what>@<pid>``
to WORKDIR/calls.log.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tether import Agent, Message
from tether.events import Event
from tether.models import FunctionModel
from tether.models.testing import AgentInfo
from tether.store.sqlite import SQLiteStore

KEYS = ("a", "b", "c")


def _log(work: Path, line: str) -> None:
    with open(work / "calls.log", "a") as f:
        f.write(f"{line}@{os.getpid()}\n")
        f.flush()
        os.fsync(f.fileno())


def _crash_if(flag: Path) -> None:
    if flag.exists():
        flag.unlink()
        os.kill(os.getpid(), signal.SIGKILL)


def make_tally(work: Path | None) -> Agent:
    """The tally, logging to ``work``/calls.log (None: no log, no crash)."""

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        done = sum(1 for m in messages if m.role == "tool")
        if work is not None:
            _log(work, f"model:{done}")
        if done < len(KEYS):
            return FunctionModel.tool_call("note", {"key": KEYS[done]})
        return "noted a, b and c"

    agent = Agent("tally", model=FunctionModel(answer))

    @agent.tool
    def note(key: str) -> str:
        """Note ``key`` (a side effect that must happen once)."""
        if work is not None:
            _log(work, f"tool:{key}")
        return f"noted {key}"

    return agent


class DyingStore(SQLiteStore):
    """A SQLite store whose process dies just after an append that holds a finished tool call
    committed, when WORKDIR/crash-log exists, and just after a thread's save committed, when
    WORKDIR/crash-thread exists (the worst moments for a duplicate)."""

    def __init__(self, path: str, work: Path) -> None:
        super().__init__(path)
        self._work = work

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        """Append, then maybe die."""
        await super().append(run_id, events)
        if any(e.type == "tool_call_finished" for e in events):
            _crash_if(self._work / "crash-log")

    async def save_thread(self, thread_id: str, messages: Sequence[Message]) -> None:
        """Save, then maybe die."""
        await super().save_thread(thread_id, messages)
        _crash_if(self._work / "crash-thread")
