"""Large tool arguments are stored once (log format 4): the model response holds them, the tool
events refer to them; logs written the old way still read, and whatever differs is kept whole."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import psycopg
import pytest

from tether import Agent, Runner
from tether.events import (
    ModelResponseEvent,
    RunFinished,
    RunStarted,
    ToolCallFinished,
    ToolCallStarted,
)
from tether.messages import ToolCallPart
from tether.models import FakeModel
from tether.store import Store, StoreError
from tether.store._rows import encode_value
from tether.store.postgres import PostgresStore
from tether.store.sqlite import SQLiteStore
from tether.usage import Usage

BIG = "x" * 50_000


async def _stored(store: Store, run_id: str) -> list[tuple[int, str, str]]:
    """(seq, type, stored JSON text) of the run's rows, read with SQL."""
    if isinstance(store, SQLiteStore):
        conn = sqlite3.connect(store.path)
        try:
            return list(
                conn.execute(
                    "SELECT seq, type, data FROM tether_events WHERE run_id = ? ORDER BY seq",
                    (run_id,),
                )
            )
        finally:
            conn.close()
    assert isinstance(store, PostgresStore)
    async with await psycopg.AsyncConnection.connect(store.url) as conn:
        cur = await conn.execute(
            f'SELECT seq, type, data::text FROM "{store.schema}".tether_events '
            "WHERE run_id = %s ORDER BY seq",
            (run_id,),
        )
        return list(await cur.fetchall())


@pytest.fixture
def echo_agent() -> Agent:
    """Built outside the event loop (the first Agent of a process imports lazily)."""
    agent = Agent("echo", model=FakeModel())

    @agent.tool
    def measure(text: str) -> int:
        """The length of a text."""
        return len(text)

    return agent


async def test_large_arguments_are_stored_once_and_read_back_whole(
    sql_store: Store, echo_agent: Agent
) -> None:
    agent = echo_agent
    runner = Runner(store=sql_store, telemetry=None)
    model = agent.model
    assert isinstance(model, FakeModel)
    model.add_tool_call("measure", {"text": BIG}).add_response("50000")
    result = await runner.run(agent, "how long?")
    assert result.output == "50000"
    rows = await _stored(sql_store, result.run_id)
    holding = [kind for _, kind, data in rows if BIG in data]
    assert holding == ["model_response"]  # once, not three times
    total = sum(len(data) for _, _, data in rows)
    assert total < len(BIG) + 5_000
    events = await sql_store.load(result.run_id)
    tool_events = [e for e in events if isinstance(e, ToolCallStarted | ToolCallFinished)]
    assert [e.args for e in tool_events] == [{"text": BIG}, {"text": BIG}]
    state = await runner.load_state(result.run_id)
    assert [(r.tool_name, r.output) for r in state.tool_executions] == [("measure", 50_000)]
    # no per-run memory left once the run finished
    assert len(sql_store._payloads) == 0  # type: ignore[attr-defined]


def _run_log(run_id: str, args: Any, arguments: str) -> list[Any]:
    events: list[Any] = [
        RunStarted(agent="a", input=[]),
        ModelResponseEvent(
            turn=1,
            agent="a",
            model="m",
            parts=[ToolCallPart("c1", "measure", arguments)],
            usage=Usage(),
        ),
        ToolCallStarted(call_id="c1", tool_name="measure", args=args),
        ToolCallFinished(call_id="c1", tool_name="measure", args=args, content="1"),
        RunFinished(state="completed"),
    ]
    for seq, event in enumerate(events, 1):
        event.run_id, event.seq, event.at = run_id, seq, 1000.0 + seq
    return events


@pytest.mark.parametrize(
    ("args", "arguments"),
    [
        ({"n": True}, '{"n": 1}'),  # equal in Python, not in JSON
        ({"n": 1.0}, '{"n": 1}'),
        ({"text": "edited"}, '{"text": "original"}'),  # changed before it ran
        ({"n": 1}, "{not json"),
        ({"x": float("nan")}, '{"x": NaN}'),
    ],
)
async def test_arguments_that_differ_from_the_call_are_kept_whole(
    sql_store: Store, args: Any, arguments: str
) -> None:
    await sql_store.append("r", _run_log("r", args, arguments))
    rows = await _stored(sql_store, "r")
    assert not any("args_from_call" in data for _, _, data in rows)
    started = (await sql_store.load("r"))[2]
    assert isinstance(started, ToolCallStarted)
    # what the stores always kept: true as true, 1.0 as 1.0 (NaN as the string every store uses)
    assert json.dumps(started.args) == json.dumps(json.loads(encode_value(args)))


async def test_each_append_may_refer_to_an_earlier_one(sql_store: Store) -> None:
    events = _run_log("r", {"text": BIG}, json.dumps({"text": BIG}))
    for event in events:  # one checkpoint per event, as a run writes them
        await sql_store.append("r", [event])
    rows = await _stored(sql_store, "r")
    assert [kind for _, kind, data in rows if "args_from_call" in data] == [
        "tool_call_started",
        "tool_call_finished",
    ]
    loaded = await sql_store.load("r")
    assert [e.to_dict() for e in loaded] == [e.to_dict() for e in events]


async def test_a_run_resumed_from_an_older_log_is_appended_to_in_full(sql_store: Store) -> None:
    events = _run_log("r", {"text": BIG}, json.dumps({"text": BIG}))
    await sql_store.append("r", events[:2])  # as an older tether (or another store) left it
    fresh = type(sql_store).__new__(type(sql_store))
    fresh.__dict__.update(sql_store.__dict__)  # same database, but a new store object
    fresh._payloads = type(sql_store._payloads)()  # type: ignore[attr-defined]
    await fresh.append("r", events[2:])  # it never saw this run's start: arguments in full
    rows = await _stored(sql_store, "r")
    assert not any("args_from_call" in data for _, _, data in rows)
    assert [e.to_dict() for e in await sql_store.load("r")] == [e.to_dict() for e in events]


async def test_old_format_rows_still_read(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "old.db")
    events = _run_log("r", {"text": "hi"}, '{"text": "hi"}')
    await store.append("other", _run_log("other", {"a": 1}, '{"a": 1}'))  # makes the schema
    conn = sqlite3.connect(store.path)
    with conn:  # rows written the version-3 way: every copy inline
        conn.executemany(
            "INSERT INTO tether_events (run_id, seq, type, data) VALUES ('r', ?, ?, ?)",
            [(e.seq, e.type, json.dumps(e.to_dict())) for e in events],
        )
    conn.close()
    assert [e.to_dict() for e in await store.load("r")] == [e.to_dict() for e in events]
    await store.close()


async def test_a_reference_to_a_missing_call_names_the_run_and_position(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "bad.db")
    events = _run_log("r", {"text": "hi"}, '{"text": "hi"}')
    await store.append("r", events)
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("DELETE FROM tether_events WHERE run_id = 'r' AND seq = 2")
    conn.close()
    with pytest.raises(StoreError, match=r"run 'r'.*seq 3.*tool call 'c1'") as caught:
        await store.load("r")
    assert caught.value.seq == 3
    await store.close()


@pytest.fixture
def ops_agent() -> Agent:
    agent = Agent("ops", model=FakeModel())

    @agent.tool(needs_approval=True)
    def write_file(path: str, text: str) -> int:
        """Write a file."""
        return len(text)

    return agent


async def test_an_approved_call_resumed_by_a_new_store_reads_whole(
    tmp_path: Any, ops_agent: Agent
) -> None:
    agent = ops_agent
    model = agent.model
    assert isinstance(model, FakeModel)
    model.add_tool_call("write_file", {"path": "/tmp/x", "text": BIG}).add_response("written")
    first = SQLiteStore(tmp_path / "runs.db")
    paused = await Runner(store=first, telemetry=None).run(agent, "write it")
    assert paused.state == "awaiting_approval"
    await first.close()
    # another process (a new store object on the same file) approves and resumes it
    second = SQLiteStore(tmp_path / "runs.db")
    result = await Runner(store=second, telemetry=None, agents=[agent]).resume(
        paused.run_id, approvals={"call_1_0": True}
    )
    assert (result.state, result.output) == ("completed", "written")
    assert [r.output for r in result.tool_executions] == [50_000]
    events = await second.load(paused.run_id)
    args = [e.args for e in events if isinstance(e, ToolCallStarted | ToolCallFinished)]
    assert args == [{"path": "/tmp/x", "text": BIG}] * 2
    rows = await _stored(second, paused.run_id)
    # the model response holds the text; the approval request refers to it (same process);
    # the resumed part, written by a store that never saw the run start, holds it in full
    assert [kind for _, kind, data in rows if BIG in data] == [
        "model_response",
        "tool_call_started",
        "tool_call_finished",
    ]
    await second.close()
