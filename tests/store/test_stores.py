"""The Store contract, run against every store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tether import Message, TextPart, ToolCallPart, ToolResultPart, UserError
from tether.events import (
    Event,
    ModelResponseEvent,
    RunFinished,
    RunResumed,
    RunStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from tether.store import Store
from tether.usage import Usage


def stamp(run_id: str, events: list[Event], first_seq: int = 1, at: float = 1000.0) -> list[Event]:
    for i, ev in enumerate(events):
        ev.run_id, ev.seq, ev.at = run_id, first_seq + i, at + i
    return events


def a_run(run_id: str, *, agent: str = "bot", thread_id: str | None = None) -> list[Event]:
    """A small complete run log: start, a tool call, its result, the answer, the end."""
    call = ToolCallPart("call_1_0", "lookup", '{"q": "tea"}')
    return stamp(
        run_id,
        [
            RunStarted(
                agent=agent,
                input=[Message.user("hi ☕ \u0000 nul")],
                history=[Message.system("be brief")],
                thread_id=thread_id,
                metadata={"k": [1, 2]},
            ),
            ModelResponseEvent(
                turn=1,
                agent=agent,
                model="fake",
                parts=[TextPart("let me see"), call],
                usage=Usage(requests=1, input_tokens=10, output_tokens=3, cost=0.25),
            ),
            ToolCallStarted(call_id="call_1_0", tool_name="lookup", args={"q": "tea"}),
            ToolCallFinished(
                call_id="call_1_0",
                tool_name="lookup",
                args={"q": "tea"},
                content="green",
                output={"answer": "green", "score": 0.5},
            ),
            RunFinished(state="completed", final_text="green tea"),
        ],
    )


def dicts(events: list[Event]) -> list[dict[str, Any]]:
    return [ev.to_dict() for ev in events]


async def test_events_round_trip_in_order(store: Store) -> None:
    events = a_run("r1")
    await store.append("r1", events[:1])
    await store.append("r1", events[1:3])
    await store.append("r1", events[3:])
    loaded = await store.load("r1")
    assert dicts(loaded) == dicts(events)
    assert [type(e) for e in loaded] == [type(e) for e in events]
    assert loaded[1].parts[1] == ToolCallPart("call_1_0", "lookup", '{"q": "tea"}')  # type: ignore[attr-defined]
    assert loaded[1].usage.cost == 0.25  # type: ignore[attr-defined]


async def test_unknown_run_is_empty(store: Store) -> None:
    assert await store.load("nope") == []
    assert await store.run_info("nope") is None
    assert await store.load_thread("nope") == []


async def test_run_info_follows_the_status(store: Store) -> None:
    events = a_run("r1", thread_id="t1")
    await store.append("r1", events[:2])
    info = await store.run_info("r1")
    assert info is not None
    assert (info.run_id, info.agent, info.status, info.thread_id) == ("r1", "bot", "running", "t1")
    assert info.started_at == 1000.0
    assert info.updated_at == 1001.0
    await store.append("r1", events[2:])
    info = await store.run_info("r1")
    assert info is not None and info.status == "completed" and info.updated_at == 1004.0
    await store.append("r1", stamp("r1", [RunResumed(from_checkpoint=True)], 6, 2000.0))
    info = await store.run_info("r1")
    assert info is not None and info.status == "running" and info.updated_at == 2000.0
    # a plain resume after a pause does not reopen or change the status
    await store.append("r1", stamp("r1", [RunFinished(state="interrupted")], 7, 2001.0))
    await store.append("r1", stamp("r1", [RunResumed(from_checkpoint=False)], 8, 2002.0))
    info = await store.run_info("r1")
    assert info is not None and info.status == "interrupted"


async def test_list_runs_newest_first_with_filters(store: Store) -> None:
    for i, (agent, done) in enumerate([("a", True), ("b", False), ("a", False), ("b", True)]):
        events = a_run(f"r{i}", agent=agent)
        stamp(f"r{i}", events, at=1000.0 + 10 * i)
        await store.append(f"r{i}", events if done else events[:2])
    runs = await store.list_runs()
    assert [r.run_id for r in runs] == ["r3", "r2", "r1", "r0"]
    assert [r.run_id for r in await store.list_runs(limit=2)] == ["r3", "r2"]
    assert [r.run_id for r in await store.list_runs(agent="a")] == ["r2", "r0"]
    assert [r.run_id for r in await store.list_runs(status="running")] == ["r2", "r1"]
    assert [r.run_id for r in await store.list_runs(status="completed", agent="b")] == ["r3"]


async def test_threads_replace_their_messages(store: Store) -> None:
    first = [Message.user("hi"), Message.assistant("hello")]
    await store.save_thread("t", first)
    assert await store.load_thread("t") == first
    second = [
        *first,
        Message("assistant", [ToolCallPart("c1", "f", "{}")], agent="bot"),
        Message("tool", [ToolResultPart("c1", "f", "done", is_error=True)]),
    ]
    await store.save_thread("t", second)
    assert await store.load_thread("t") == second
    await store.save_thread("other", [])
    assert await store.load_thread("other") == []
    assert await store.load_thread("t") == second


async def test_concurrent_appends_to_many_runs(store: Store) -> None:
    async def one(i: int) -> None:
        events = a_run(f"r{i}")
        for ev in events:
            await store.append(f"r{i}", [ev])

    await asyncio.gather(*(one(i) for i in range(20)))
    for i in range(20):
        assert len(await store.load(f"r{i}")) == 5
    assert len(await store.list_runs(status="completed")) == 20


async def test_empty_append_is_a_no_op(store: Store) -> None:
    await store.append("r1", [])
    assert await store.load("r1") == []


async def test_a_second_writer_is_refused_and_nothing_half_written(sql_store: Store) -> None:
    store = sql_store
    events = a_run("r1")
    await store.append("r1", events[:3])
    # Another process, holding a stale state, appends seq 3 and 4: the whole batch is refused.
    stale = stamp("r1", [RunResumed(from_checkpoint=True), RunFinished(state="failed")], 3, 5000.0)
    with pytest.raises(UserError, match="another process is continuing this run"):
        await store.append("r1", stale)
    assert dicts(await store.load("r1")) == dicts(events[:3])
    info = await store.run_info("r1")
    assert info is not None and info.status == "running" and info.updated_at == 1002.0
    # the store is still usable after the refusal
    await store.append("r1", events[3:])
    assert len(await store.load("r1")) == 5


async def test_a_run_started_twice_is_refused(sql_store: Store) -> None:
    await sql_store.append("r1", a_run("r1")[:1])
    with pytest.raises(UserError, match="another process"):
        await sql_store.append("r1", a_run("r1")[:1])


async def test_events_out_of_order_are_refused(sql_store: Store) -> None:
    events = a_run("r1")
    with pytest.raises(UserError, match="increasing seq"):
        await sql_store.append("r1", [events[1], events[0]])
    assert await sql_store.load("r1") == []


async def test_store_is_usable_again_after_close(store: Store) -> None:
    await store.append("r1", a_run("r1")[:2])
    await store.close()
    await store.append("r1", a_run("r1")[2:])
    assert len(await store.load("r1")) == 5


async def test_batches_of_any_size_round_trip(store: Store) -> None:
    # SQL stores send a checkpoint's events as rows of one statement up to a limit, and in
    # bulk past it: every size comes back the same, in order
    turns = [TurnStarted(turn=n, agent="bot") for n in range(1, 76)]
    events = stamp("r1", [*a_run("r1")[:1], *turns])
    await store.append("r1", events[:41])  # the start and 40 turns at once
    await store.append("r1", events[41:44])
    await store.append("r1", events[44:])
    assert dicts(await store.load("r1")) == dicts(events)
    info = await store.run_info("r1")
    assert info is not None and info.status == "running" and info.updated_at == events[-1].at


async def test_a_batch_colliding_in_its_middle_is_refused_whole(sql_store: Store) -> None:
    events = a_run("r1")
    await sql_store.append("r1", events[:1])
    await sql_store.append("r1", [events[2]])  # seq 3, as another process would
    with pytest.raises(UserError, match="another process"):
        await sql_store.append("r1", events[1:4])  # seq 2, 3, 4: one statement
    assert [e.seq for e in await sql_store.load("r1")] == [1, 3]
    info = await sql_store.run_info("r1")
    assert info is not None and info.updated_at == events[2].at
