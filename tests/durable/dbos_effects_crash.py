"""The DBOS effect-ledger crash driver: workers SIGKILLed between an external effect and its record.

Run as ``python dbos_effects_crash.py WORKDIR``. The agent ``bank`` has one tool, ``charge``,
declared ``effect="external"``; each charge appends ``charge:<key>@<pid>`` to WORKDIR/effects.log
(the external system). The effect ledger is a tether SQLite store in WORKDIR. Three real
worker processes are forked from the driver:

1. the first starts workflow ``fx-a``; its charge of ``a`` happens and the process is SIGKILLed
   before the ledger records the end of the call (and before DBOS records the step);
2. the second launches DBOS on the same system database, which recovers ``fx-a``: its charge
   step runs again, finds the ledger's ``started`` row and ends the run ``interrupted``
   instead of charging again. It then starts ``fx-b``, whose charge of ``b`` happens and whose
   ledger row says ``finished`` when the process is SIGKILLed, before DBOS records the step;
3. the third recovers ``fx-b``: the ledger says ``finished``, the charge is not run again, and
   the run ends ``interrupted``. It writes both workflows' outcomes and the ledger rows.

The driver prints a JSON report.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from _forks import run as run_worker
from dbos import DBOS, SetWorkflowID

from tether import Agent, Message
from tether.durable import DBOSDurability
from tether.errors import RunInterrupted
from tether.models import FunctionModel
from tether.models.testing import AgentInfo
from tether.store.sqlite import SQLiteStore

WORK = Path(sys.argv[1]) if __name__ == "__main__" else Path(".")


class Ledger(SQLiteStore):
    """The ledger's store; SIGKILLs its process right after it records that the charge of a
    call of a workflow whose WORKDIR/crash-after-ledger-<workflow id> exists finished."""

    async def effect_finished(self, key: str, status: Any = "finished", error: Any = None) -> None:
        await super().effect_finished(key, status, error)
        row = await self.effect(key)
        marker = WORK / f"crash-after-ledger-{row.run_id if row else ''}"
        if marker.exists():
            marker.unlink()
            os.kill(os.getpid(), signal.SIGKILL)


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    if not any(m.role == "tool" for m in messages):
        return FunctionModel.tool_call("charge", {"key": messages[0].text})
    return "charged"


bank = Agent("bank", model=FunctionModel(_answer))


@bank.tool(effect="external")
def charge(key: str) -> str:
    """Charge ``key`` (the external effect)."""
    with open(WORK / "effects.log", "a") as f:
        f.write(f"charge:{key}@{os.getpid()}\n")
        f.flush()
        os.fsync(f.fileno())
    marker = WORK / f"crash-after-effect-{key}"
    if marker.exists():
        marker.unlink()
        os.kill(os.getpid(), signal.SIGKILL)  # the effect happened; nothing recorded it ended
    return f"charged {key}"


durable: DBOSDurability | None = None


@DBOS.workflow()
async def bank_workflow(key: str) -> dict[str, Any]:
    """One durable run of the bank; its outcome as plain data."""
    assert durable is not None
    try:
        result = await durable.run(bank, key)
    except RunInterrupted as stopped:
        result = stopped.result  # type: ignore[assignment]
    return {
        "state": result.state,
        "interrupted_calls": list(result.interrupted_calls),
        "keys": dict(result.interrupted_keys),
        "error": result.error,
    }


def _launch() -> None:
    global durable
    durable = DBOSDurability(effects=Ledger(WORK / "ledger.db"))
    config: Any = {
        "name": "tether-effects",
        "system_database_url": f"sqlite:///{WORK}/dbos.db",
        "notification_listener_polling_interval_sec": 0.05,  # results are polled for
    }
    DBOS(config=config)
    DBOS.launch()


async def _first() -> None:
    _launch()
    with SetWorkflowID("fx-a"):
        handle = await DBOS.start_workflow_async(bank_workflow, "a")
    await handle.get_result()  # never returns: the charge kills the process


async def _second() -> None:
    _launch()  # recovers fx-a
    await (await DBOS.retrieve_workflow_async("fx-a")).get_result(polling_interval_sec=0.05)
    with SetWorkflowID("fx-b"):
        handle = await DBOS.start_workflow_async(bank_workflow, "b")
    await handle.get_result()  # never returns: the ledger's store kills the process


async def _third() -> None:
    _launch()  # recovers fx-b
    report: dict[str, Any] = {}
    for workflow_id in ("fx-a", "fx-b"):
        handle = await DBOS.retrieve_workflow_async(workflow_id)
        outcome = await handle.get_result(polling_interval_sec=0.05)
        steps = await DBOS.list_workflow_steps_async(workflow_id)
        rows = await Ledger(WORK / "ledger.db").effects(workflow_id)
        report[workflow_id] = {
            "outcome": outcome,
            "steps": [s["function_name"] for s in steps],
            "ledger": [[r.key, r.call_id, r.status, r.attempts] for r in rows],
        }
    (WORK / "report.json").write_text(json.dumps(report))


if __name__ == "__main__":
    (WORK / "crash-after-effect-a").touch()
    (WORK / "crash-after-ledger-fx-b").touch()
    runs = [run_worker(main) for main in (_first, _second, _third)]
    report = (
        json.loads((WORK / "report.json").read_text()) if (WORK / "report.json").exists() else {}
    )
    report["pids"] = [pid for pid, _ in runs]
    report["signals"] = [os.WTERMSIG(s) if os.WIFSIGNALED(s) else None for _, s in runs]
    report["exits"] = [os.WEXITSTATUS(s) if os.WIFEXITED(s) else None for _, s in runs]
    log = WORK / "effects.log"
    report["effects"] = log.read_text().split() if log.exists() else []
    print(json.dumps(report))
