"""The crash-test harness: a deterministic agent, killed with SIGKILL at chosen points, resumed.

Run as a script (``python crashkit.py STORE_URL WORKDIR [STRIDE]``), it is the *driver*: it
forks one child that runs the agent to the end and counts every kill point it passes (model
calls, tool calls, store writes); then, for each point N (every point, or every STRIDE-th plus
all those around the non-idempotent call), it forks a child that runs the same agent and kills
itself at point N, then another child that resumes the run from the store (every 4th time,
that resume is killed as well, and a third child resumes again). It prints a JSON
report; tests/durability/test_crash.py checks it. Forking from a driver that has no threads,
loops or connections open makes each child cheap (no interpreter start-up), while each is still
a real process killed for real.

The agent, over four model turns: ``lookup`` + ``record`` in parallel, ``charge``, ``record`` +
``lookup``, then a final answer quoting the tool results. ``record`` has a side effect keyed by
its call id (idempotent), ``charge`` appends to a ledger (not idempotent), ``lookup`` has none.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from tether import Agent, Context, Message, Runner
from tether.messages import message_to_dict
from tether.models import FunctionModel
from tether.models.testing import AgentInfo
from tether.store import open_store
from tether.store.sqlite import SQLiteStore


class Points:
    """Counts kill points; at point ``kill_at`` the process kills itself."""

    def __init__(self, kill_at: int) -> None:
        self.kill_at = kill_at
        self.names: list[str] = []

    def hit(self, name: str) -> None:
        self.names.append(name)
        if len(self.names) == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


class Tracker:
    """What this process did: model requests answered and tool calls executed."""

    def __init__(self) -> None:
        self.model_requests = 0
        self.tool_calls: list[str] = []


def build_agent(work: Path, points: Points, tracker: Tracker) -> Agent:
    def answer(messages: list[Message], info: AgentInfo) -> Any:
        points.hit("model:request")
        tracker.model_requests += 1
        turn = sum(m.role == "assistant" for m in messages) + 1
        if turn == 1:
            response: Any = FunctionModel.tool_calls(
                [("lookup", {"key": "a"}), ("record", {"item": "apple"})]
            )
        elif turn == 2:
            response = FunctionModel.tool_call("charge", {"amount": 42})
        elif turn == 3:
            response = FunctionModel.tool_calls(
                [("record", {"item": "pear"}), ("lookup", {"key": "b"})]
            )
        else:
            results = [r.content for m in messages for r in m.tool_results]
            response = "done: " + "; ".join(results)
        points.hit("model:response")
        return response

    agent = Agent("crashy", model=FunctionModel(answer), max_turns=6)

    @agent.tool(idempotent=True)
    async def lookup(ctx: Context[Any], key: str) -> str:
        """Look a key up (no side effect)."""
        points.hit("tool:lookup:start")
        tracker.tool_calls.append(str(ctx.tool_call_id))
        points.hit("tool:lookup:end")
        return f"{key}={ord(key)}"

    @agent.tool(idempotent=True)
    async def record(ctx: Context[Any], item: str) -> str:
        """Record an item; the effect is keyed by the call id, so repeating it is harmless."""
        points.hit("tool:record:start")
        tracker.tool_calls.append(str(ctx.tool_call_id))
        effect = work / f"record-{ctx.tool_call_id}"
        if not effect.exists():
            effect.write_text(item)
        # Files are written on the loop on purpose: threads would make the kill order vary.
        with open(work / "attempts.log", "a") as log:  # noqa: ASYNC230
            log.write(f"record {ctx.tool_call_id}\n")
        points.hit("tool:record:end")
        return f"recorded {item}"

    @agent.tool
    async def charge(ctx: Context[Any], amount: int) -> str:
        """Charge money: doing it twice charges twice."""
        points.hit("tool:charge:start")
        tracker.tool_calls.append(str(ctx.tool_call_id))
        with open(work / "charges.log", "a") as log:  # noqa: ASYNC230
            log.write(f"{ctx.tool_call_id} {amount}\n")
        points.hit("tool:charge:end")
        return f"charged {amount}"

    return agent


class KillingStore:
    """Wraps a store with kill points before and after every append (and, for SQLite, at the
    COMMIT statement itself: the write is in the file but not committed)."""

    def __init__(self, inner: Any, points: Points) -> None:
        self.inner = inner
        self.points = points

    async def setup(self) -> None:
        if isinstance(self.inner, SQLiteStore):

            def trace(statement: str) -> None:
                if statement == "COMMIT":
                    self.points.hit("store:commit")

            def install(conn: sqlite3.Connection) -> None:
                conn.set_trace_callback(trace)

            self.inner.worker.add_setup(install)

    async def append(self, run_id: str, events: Any) -> None:
        self.points.hit("store:append:start")
        await self.inner.append(run_id, events)
        self.points.hit("store:append:end")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def transcript(messages: list[Message]) -> list[dict[str, Any]]:
    return [message_to_dict(m) for m in messages]


async def run_child(url: str, run_id: str, work: Path, kill_at: int) -> dict[str, Any]:
    """Run the agent from the start (killed at point ``kill_at``, if it is reached)."""
    points, tracker = Points(kill_at), Tracker()
    store = KillingStore(open_store(url), points)
    await store.setup()
    runner = Runner(store=store)  # type: ignore[arg-type]
    result = await runner.run(build_agent(work, points, tracker), "go", run_id=run_id)
    await runner.aclose()
    return {
        "points": points.names,
        "state": result.state,
        "transcript": transcript(result.messages),
        "tool_calls": tracker.tool_calls,
    }


async def resume_child(url: str, run_id: str, work: Path, kill_at: int = 0) -> dict[str, Any]:
    """Resume the crashed run in a fresh process; decide cut-short calls from the ledger.

    With ``kill_at``, this resume is itself killed at its ``kill_at``-th point (a crash during
    recovery)."""
    tracker = Tracker()
    points = Points(kill_at)
    agent = build_agent(work, points, tracker)
    store = KillingStore(open_store(url), points)
    await store.setup()
    runner = Runner(store=store)  # type: ignore[arg-type]
    assert runner.store is not None
    stored = await runner.store.load(run_id)
    report: dict[str, Any] = {
        "stored_responses": sum(e.type == "model_response" for e in stored),
        "stored_finished": [
            getattr(e, "call_id", None) for e in stored if e.type == "tool_call_finished"
        ],
        "decisions": {},
    }
    if not stored:  # killed before the first checkpoint: the run never existed; start it again
        result = await runner.run(agent, "go", run_id=run_id)
        report["first_state"] = "restarted"
    else:
        result = await runner.resume(run_id, agent)
        report["first_state"] = result.state
        report["interrupted_calls"] = list(result.interrupted_calls)
        if result.state == "interrupted":
            charged = (work / "charges.log").read_text() if (work / "charges.log").exists() else ""
            decisions: dict[str, bool | str] = {
                call_id: "it already went through" if call_id in charged else True
                for call_id in result.interrupted_calls
            }
            report["decisions"] = decisions
            result = await runner.resume(run_id, agent, approvals=decisions)
    await runner.aclose()
    report.update(
        state=result.state,
        transcript=transcript(result.messages),
        model_requests=tracker.model_requests,
        tool_calls=tracker.tool_calls,
    )
    return report


def in_child(fn: Any, out: Path) -> int:
    """Fork; the child runs ``fn()`` and writes its JSON to ``out``. Returns the wait status."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            out.write_text(json.dumps(asyncio.run(fn())))
        except BaseException as exc:
            out.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def ledger(work: Path) -> dict[str, Any]:
    charges = (
        (work / "charges.log").read_text().splitlines() if (work / "charges.log").exists() else []
    )
    records = sorted(p.name for p in work.glob("record-*"))
    return {"charges": charges, "records": records}


def chosen_points(names: list[str], stride: int) -> list[int]:
    """Every ``stride``-th point, plus every point around the non-idempotent call."""
    start = names.index("tool:charge:start") + 1
    end = names.index("tool:charge:end") + 1
    picked = set(range(1, len(names) + 1, stride)) | set(range(start - 3, end + 4))
    return sorted(n for n in picked if 1 <= n <= len(names))


def drive(url: str, root: Path, stride: int) -> dict[str, Any]:
    base_work = root / "baseline"
    base_work.mkdir(parents=True)
    in_child(lambda: run_child(url, "baseline", base_work, 0), root / "baseline.json")
    baseline = json.loads((root / "baseline.json").read_text())
    baseline["ledger"] = ledger(base_work)
    total = len(baseline.get("points", []))
    reports = []
    for n in chosen_points(baseline["points"], stride) if total else []:
        work = root / f"p{n}"
        work.mkdir()
        run_id = f"p{n}"
        status = in_child(lambda: run_child(url, run_id, work, n), work / "crash.json")  # noqa: B023
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        # Every 4th point, the first resume dies too (at its 3rd point), and another follows.
        recovery_killed = False
        if n % 4 == 0:
            status = in_child(lambda: resume_child(url, run_id, work, 3), work / "resume.json")  # noqa: B023
            recovery_killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        in_child(lambda: resume_child(url, run_id, work), work / "resume.json")  # noqa: B023
        report = json.loads((work / "resume.json").read_text())
        report.update(
            n=n,
            point=baseline["points"][n - 1],
            killed=killed,
            recovery_killed=recovery_killed,
            ledger=ledger(work),
        )
        reports.append(report)
    return {"baseline": baseline, "points": reports}


if __name__ == "__main__":
    store_url, root_dir = sys.argv[1], Path(sys.argv[2])
    if store_url.startswith("postgres"):
        import tether.store.postgres  # noqa: F401 - imported once here, not in every child
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print(json.dumps(drive(store_url, root_dir, every)))
