"""The effect ledger of ``effect="external"`` tools under DBOS: written inside the tool's step, so
a worker killed between the effect and its record neither runs the effect twice nor loses the
record (real processes SIGKILLed, tests/durable/dbos_effects_crash.py), and a run that reaches
such a tool without a ledger is refused at start."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID

from tether import Agent, Message
from tether.context import idempotency_key
from tether.durable import DBOSDurability, DurableEngineError
from tether.models import FunctionModel
from tether.models.testing import AgentInfo
from tether.store import MemoryStore

_DRIVER = Path(__file__).with_name("dbos_effects_crash.py")
effects: list[str] = []


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    tool_messages = [m for m in messages if m.role == "tool"]
    if not tool_messages:
        return FunctionModel.tool_call("send_mail", {"to": messages[0].text})
    return tool_messages[0].parts[0].content  # type: ignore[attr-defined]


postman = Agent("postman", model=FunctionModel(_answer))


@postman.tool(effect="external")
def send_mail(to: str) -> str:
    """Send a mail to ``to`` (an external effect)."""
    if to == "nobody":
        raise ConnectionError("the mail server refused card 4111 1111 1111 1111")
    effects.append(to)
    return f"mailed {to}"


ledger = MemoryStore()
with_ledger = DBOSDurability(effects=ledger)
without_ledger = DBOSDurability()
runs = MemoryStore()
with_a_store = DBOSDurability(store=runs)  # its store keeps the ledger too


@DBOS.workflow()
async def mail_workflow(to: str) -> str:
    """One run whose tool's effect is recorded in the ledger."""
    return str((await with_ledger.run(postman, to)).output)


@DBOS.workflow()
async def unguarded_workflow(to: str) -> str:
    """The same run with no ledger: refused at start."""
    return str((await without_ledger.run(postman, to)).output)


@DBOS.workflow()
async def stored_workflow(to: str) -> str:
    """The run's tether log and its effect ledger in one store."""
    return str((await with_a_store.run(postman, to)).output)


@pytest.fixture(autouse=True)
def _dbos(dbos_folder: Path) -> None:
    """DBOS, launched once for tests/durable (conftest.py)."""


async def test_the_ledger_records_the_call_inside_its_step() -> None:
    effects.clear()
    with SetWorkflowID("mail-1"):
        handle = await DBOS.start_workflow_async(mail_workflow, "ada")
    assert await handle.get_result() == "mailed ada"
    assert effects == ["ada"]
    [row] = await ledger.effects("mail-1")
    assert (row.status, row.attempts, row.tool_name, row.error) == (
        "finished",
        1,
        "send_mail",
        None,
    )
    assert row.key == idempotency_key("mail-1", row.call_id)
    steps = [s["function_name"] for s in await DBOS.list_workflow_steps_async("mail-1")]
    assert steps == [
        "tether.postman.model",
        "tether.postman.tool.send_mail",
        "tether.postman.model",
    ]


async def test_a_failed_call_is_recorded_with_its_exception_type_only() -> None:
    with SetWorkflowID("mail-2"):
        handle = await DBOS.start_workflow_async(mail_workflow, "nobody")
    assert "ConnectionError" in await handle.get_result()  # the model is told, by default
    [row] = await ledger.effects("mail-2")
    assert (row.status, row.error) == ("failed", "ConnectionError")  # no card number kept


async def test_a_run_reaching_an_external_tool_without_a_ledger_is_refused_at_start() -> None:
    effects.clear()
    with SetWorkflowID("mail-3"):
        handle = await DBOS.start_workflow_async(unguarded_workflow, "ada")
    with pytest.raises(DurableEngineError, match=r"send_mail have effect='external'"):
        await handle.get_result()
    assert effects == []  # nothing ran without its ledger


async def test_the_run_s_store_keeps_the_ledger_when_no_other_is_given() -> None:
    with SetWorkflowID("mail-4"):
        handle = await DBOS.start_workflow_async(stored_workflow, "grace")
    assert await handle.get_result() == "mailed grace"
    [row] = await runs.effects("mail-4")
    assert (row.status, row.tool_name) == ("finished", "send_mail")
    assert await ledger.effects("mail-4") == []


def test_a_store_without_a_ledger_is_refused() -> None:
    with pytest.raises(DurableEngineError, match="keeps the effect ledger"):
        DBOSDurability(effects=object())  # type: ignore[arg-type]


def test_a_worker_killed_between_the_effect_and_its_record_never_charges_twice(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, str(_DRIVER), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["signals"] == [9, 9, None], done.stderr[-3000:]
    assert report["exits"][2] == 0, done.stderr[-3000:]
    first, second, _ = (str(pid) for pid in report["pids"])
    # each charge happened once, in the process that was killed right after it
    assert Counter(report["effects"]) == {f"charge:a@{first}": 1, f"charge:b@{second}": 1}
    for workflow_id, status in (("fx-a", "started"), ("fx-b", "finished")):
        seen = report[workflow_id]
        [[key, call_id, recorded, attempts]] = seen["ledger"]  # the record survived the kill
        assert (recorded, attempts) == (status, 1)
        assert key == idempotency_key(workflow_id, call_id)
        outcome = seen["outcome"]
        assert outcome["state"] == "interrupted"  # as a run of tether's own store after a crash
        assert outcome["interrupted_calls"] == [call_id]
        assert outcome["keys"] == {call_id: key}
        assert key in outcome["error"] and f"says {status!r}" in outcome["error"]
        assert seen["steps"] == ["tether.bank.model", "tether.bank.tool.charge"]
