"""Bad data from outside a run: deep or huge tool arguments, lone surrogates, odd run ids, a
tool that raises SystemExit; none strands a run or fails as a raw error."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from store.test_stores import a_run

from tether import Agent, Runner, UserError
from tether.models import FakeModel
from tether.store import MemoryStore, Store
from tether.store.sqlite import SQLiteStore

SPLIT_EMOJI = "half an emoji \ud83d here"


def echo_agent(model: FakeModel) -> Agent:
    bot = Agent("bot", model=model, retries=5)

    @bot.tool
    def echo(value: object) -> str:
        """Echo a value."""
        return f"got {value!r}"[:100]

    return bot


async def test_deep_and_huge_arguments_get_a_hint_and_the_run_goes_on(tmp_path: Path) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    model = (
        FakeModel()
        .add_tool_call("echo", f'{{"value": {deep}}}')
        .add_tool_call("echo", json.dumps({"value": "x" * 1_100_000}))
        .add_tool_call("echo", json.dumps({"value": SPLIT_EMOJI}, ensure_ascii=True))
        .add_response(f"done {SPLIT_EMOJI}")
    )
    store = SQLiteStore(tmp_path / "runs.db")
    runner = Runner(store=store, telemetry=None)
    result = await runner.run(echo_agent(model), f"go {SPLIT_EMOJI}", run_id="deep")
    assert result.state == "completed" and result.final_text == f"done {SPLIT_EMOJI}"
    hints = [t.error or "" for t in result.tool_executions]
    assert "nested more than 64 levels deep" in hints[0]
    assert "1,100,0" in hints[1] and "more than the 1,000,000" in hints[1]
    assert result.tool_executions[2].output == f"got {SPLIT_EMOJI!r}"
    assert (await store.run_info("deep")).status == "completed"  # type: ignore[union-attr]
    # The log reads back whole, and resuming a finished run is refused plainly.
    state = await runner.load_state("deep")
    assert state.status == "completed"
    await runner.aclose()


@pytest.mark.parametrize(
    "bad",
    ["a\x00b", "x" * 3000, "caf\udce9", "", "tab\there"],
    ids=["nul", "long", "surrogate", "empty", "control"],
)
async def test_run_ids_every_store_cannot_keep_are_refused_up_front(bad: str, store: Store) -> None:
    runner = Runner(store=store, telemetry=None)
    bot = Agent("bot", model=FakeModel().add_response("hi"))
    with pytest.raises(UserError, match="run id"):
        await runner.run(bot, "hi", run_id=bad)
    assert await store.list_runs() == []
    ok = await runner.run(bot, "hi", run_id="tenant/a:1")
    assert ok.state == "completed"


@pytest.mark.allow_blocking
def test_a_failed_setup_does_not_keep_the_run_id(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    runner = Runner(store=SQLiteStore(path), telemetry=None)
    bot = Agent("bot", model=FakeModel().add_response("first").add_response("second"))
    runner.run_sync(bot, "hi", thread_id="t1", run_id="warm")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE tether_threads SET messages = '[{\"role\": 1}]'")
    conn.commit()
    conn.close()
    with pytest.raises(Exception):  # noqa: B017 - the thread's own error; any kind will do
        runner.run_sync(bot, "again", thread_id="t1", run_id="r1")
    result = runner.run_sync(bot, "again", run_id="r1")  # the id is free, not "still going on"
    assert result.state == "completed"


async def test_a_tool_raising_systemexit_fails_only_that_call() -> None:
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)

    def agent_with(name: str, exit_kind: str | None) -> Agent:
        model = FakeModel().add_tool_call("act", {}).add_response(f"{name} done")
        bot = Agent(name, model=model)

        if exit_kind == "sync":

            @bot.tool
            def act() -> str:
                """Ends the process, it thinks."""
                raise SystemExit(2)

        elif exit_kind == "async":

            @bot.tool
            async def act() -> str:
                """Interrupts, it thinks."""
                raise KeyboardInterrupt

        else:

            @bot.tool
            async def act() -> str:
                """Takes a moment."""
                await asyncio.sleep(0.05)
                return "fine"

        return bot

    results = await asyncio.gather(
        runner.run(agent_with("a", "sync"), "go", run_id="a"),
        runner.run(agent_with("b", "async"), "go", run_id="b"),
        runner.run(agent_with("c", None), "go", run_id="c"),
    )
    assert [r.final_text for r in results] == ["a done", "b done", "c done"]
    errors = [r.tool_executions[0].error or "" for r in results]
    assert "raised SystemExit(2)" in errors[0] and "raised KeyboardInterrupt" in errors[1]
    assert results[2].tool_executions[0].output == "fine"
    for run_id in "abc":
        assert (await store.run_info(run_id)).status != "running"  # type: ignore[union-attr]


async def test_a_tool_returning_bytes_that_are_not_utf8_is_stored(tmp_path: Path) -> None:
    bot = Agent("bot", model=FakeModel().add_tool_call("raw", {}).add_response("ok"))

    @bot.tool
    def raw() -> dict[str, object]:
        """Raw bytes of a Latin-1 file."""
        return {"name": b"caf\xe9.txt", "lines": [b"\xff\xfe", b"fine"]}

    store = SQLiteStore(tmp_path / "runs.db")
    runner = Runner(store=store, telemetry=None)
    result = await runner.run(bot, "go", run_id="bytes")
    assert result.state == "completed"
    expected = {"name": "caf\\xe9.txt", "lines": ["\\xff\\xfe", "fine"]}
    assert result.tool_executions[0].output == expected
    [finished] = [e for e in await store.load("bytes") if e.type == "tool_call_finished"]
    assert finished.output == expected
    await runner.aclose()


async def test_stores_refuse_such_run_ids_alike_and_runners_refuse_such_thread_ids(
    store: Store,
) -> None:
    events = a_run("r\x00")
    with pytest.raises(UserError, match=r"run id 'r\\x00' holds '\\x00' at position 1"):
        await store.append("r\x00", events)
    runner = Runner(store=store, telemetry=None)
    bot = Agent("bot", model=FakeModel().add_response("hi"))
    with pytest.raises(UserError, match="thread id"):
        await runner.run(bot, "hi", thread_id="t" * 300)
    assert await store.list_runs() == []


class OwnBaseException(BaseException):
    """A library's own BaseException, neither an exit nor a cancellation."""


@pytest.mark.parametrize(
    ("kind", "raised"),
    [
        ("async", OwnBaseException("own")),
        ("sync", OwnBaseException("own")),
        ("sync", GeneratorExit()),
        ("isolated", GeneratorExit()),
    ],
    ids=["own-async", "own-sync", "generatorexit-sync", "generatorexit-isolated"],
)
async def test_any_other_baseexception_of_a_tool_fails_only_that_call(
    kind: str, raised: BaseException, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    runner = Runner(store=store, telemetry=None)
    bot = Agent("bot", model=FakeModel().add_tool_call("act", {}).add_response("bot done"))
    if kind == "async":

        async def act() -> str:
            """Raises what no tool should."""
            raise raised

    else:

        def act() -> str:
            """Raises what no tool should."""
            raise raised

    if kind == "isolated":
        from tether._threads import isolated

        bot.tool(timeout=30)(isolated(start_method="fork")(act))
    else:
        bot.tool(act)
    neighbour = Agent("n", model=FakeModel().add_tool_call("wait", {}).add_response("n done"))

    @neighbour.tool
    async def wait() -> str:
        """Takes a moment."""
        await asyncio.sleep(0.05)
        return "fine"

    failed, beside = await asyncio.gather(
        runner.run(bot, "go", run_id="bad"), runner.run(neighbour, "go", run_id="beside")
    )
    assert failed.final_text == "bot done" and beside.final_text == "n done"
    error = failed.tool_executions[0].error or ""
    assert f"raised {type(raised).__name__}" in error, error
    assert (await store.run_info("bad")).status == "degraded"  # type: ignore[union-attr]
    assert (await store.run_info("beside")).status == "completed"  # type: ignore[union-attr]
    await runner.aclose()
