"""The clerk agent of the crash workers (dbos_crash.py, temporal_worker.py): two parallel
``record`` calls, a third that SIGKILLs its process when WORKDIR/crash exists (removing it
first, so the next worker goes on), then a ``publish`` that needs an approval. Every finished
model call and tool call appends ``<what>@<pid>`` to WORKDIR/calls.log."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from tether import Agent, Message
from tether.models import FunctionModel
from tether.models.testing import AgentInfo


def make_clerk(work: Path) -> Agent:
    """The clerk, logging to ``work``/calls.log."""

    def log(line: str) -> None:
        with open(work / "calls.log", "a") as f:
            f.write(f"{line}@{os.getpid()}\n")
            f.flush()
            os.fsync(f.fileno())

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        done = sum(1 for m in messages if m.role == "tool")
        if done == 0:
            reply: Any = FunctionModel.tool_calls(
                [("record", {"key": "a"}), ("record", {"key": "b"})]
            )
        elif done == 1:
            reply = FunctionModel.tool_call("record", {"key": "c"})
        elif done == 2:
            reply = FunctionModel.tool_call("publish", {"key": "d"})
        else:
            reply = "recorded a, b and c; published d"
        log(f"model:{done}")
        return reply

    agent = Agent("clerk", model=FunctionModel(answer))

    @agent.tool
    def record(key: str) -> str:
        """Record ``key`` (a side effect that must happen once)."""
        if key == "c" and (work / "crash").exists():
            (work / "crash").unlink()
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-step, mid-workflow
        log(f"tool:{key}")
        return f"recorded {key}"

    @agent.tool(needs_approval=True)
    def publish(key: str) -> str:
        """Publish ``key`` (a side effect a person approves first)."""
        log(f"tool:{key}")
        return f"published {key}"

    return agent
