"""The loop: parallel tool calls, approvals, deps, input forms, limits, entry points."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from tether import (
    Agent,
    BudgetExceeded,
    Context,
    MaxTurnsExceeded,
    Message,
    Result,
    RunConfig,
    Runner,
    UserError,
    tool,
)
from tether.models import FakeModel, FunctionModel

# -- parallel tool calls --------------------------------------------------------------------


async def test_calls_of_one_turn_run_concurrently() -> None:
    """Three async calls wait on one barrier: they can only pass it if they run at once."""
    barrier = asyncio.Barrier(3)

    async def meet(i: int) -> int:
        async with asyncio.timeout(5):
            await barrier.wait()
        return i

    model = FakeModel().add_tool_calls([("meet", {"i": i}) for i in range(3)]).add_response("ok")
    result = await Agent("a", model=model, tools=[meet]).run("go")
    assert result.state == "completed"
    assert sorted(r.output for r in result.tool_executions) == [0, 1, 2]


async def test_sync_calls_of_one_turn_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(3, timeout=5)
    threads: set[int] = set()

    def meet(i: int) -> int:
        barrier.wait()  # raises BrokenBarrierError unless the three run at the same time
        threads.add(threading.get_ident())
        return i

    model = FakeModel().add_tool_calls([("meet", {"i": i}) for i in range(3)]).add_response("ok")
    result = await Agent("a", model=model, tools=[meet]).run("go")
    assert all(r.success for r in result.tool_executions), result.tool_executions
    assert len(threads) == 3


async def test_results_are_appended_in_call_order_not_completion_order() -> None:
    last_done = asyncio.Event()
    finished: list[str] = []

    async def first() -> str:
        await last_done.wait()  # finishes only after the last call
        finished.append("first")
        return "1"

    async def second() -> str:
        finished.append("second")
        return "2"

    async def third() -> str:
        await asyncio.sleep(0)
        finished.append("third")
        last_done.set()
        return "3"

    model = FakeModel()
    model.add_tool_calls([("first", {}), ("second", {}), ("third", {})]).add_response("ok")
    result = await Agent("a", model=model, tools=[first, second, third]).run("go")
    assert finished[0] != "first" and finished[-1] == "first"
    tool_message = model.requests[1].messages[-1]
    assert [r.name for r in tool_message.tool_results] == ["first", "second", "third"]
    assert [r.call_id for r in tool_message.tool_results] == ["call_1_0", "call_1_1", "call_1_2"]
    assert [r.content for r in tool_message.tool_results] == ["1", "2", "3"]
    # one tool message follows the assistant message holding the three calls
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]


@pytest.mark.parametrize("where", ["run_config", "runner"])
async def test_max_concurrency_bounds_calls_in_flight(where: str) -> None:
    active = 0
    peak = 0
    barrier = asyncio.Barrier(2)

    async def work(i: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        async with asyncio.timeout(5):
            await barrier.wait()  # two calls must be in flight together to pass
        for _ in range(5):
            await asyncio.sleep(0)  # give a third call every chance to start
        active -= 1
        return i

    model = FakeModel().add_tool_calls([("work", {"i": i}) for i in range(6)]).add_response("ok")
    agent = Agent("a", model=model, tools=[work])
    if where == "run_config":
        result = await agent.run("go", run_config=RunConfig(max_concurrency=2))
    else:
        runner = Runner(store=None, max_concurrency=2)
        result = await runner.run(agent, "go")
    assert result.state == "completed"
    assert peak == 2
    assert [r.content for r in result.messages[2].tool_results] == [str(i) for i in range(6)]


async def test_default_concurrency_is_eight() -> None:
    active = 0
    peak = 0
    full = asyncio.Event()

    async def work(i: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if active == 8:
            full.set()
        async with asyncio.timeout(5):
            await full.wait()  # passes only once eight calls are in flight together
        for _ in range(5):
            await asyncio.sleep(0)
        active -= 1
        return i

    model = FakeModel().add_tool_calls([("work", {"i": i}) for i in range(10)]).add_response("ok")
    result = await Agent("a", model=model, tools=[work]).run("go")
    assert all(r.success for r in result.tool_executions)
    assert peak == 8


# -- approvals (headless) -------------------------------------------------------------------


async def test_tool_needing_approval_is_not_run_in_a_headless_run() -> None:
    ran: list[str] = []

    @tool(needs_approval=True)
    def delete_file(path: str) -> str:
        ran.append(path)
        return "deleted"

    def read_file(path: str) -> str:
        ran.append("read " + path)
        return "contents"

    model = FakeModel().add_tool_calls(
        [("delete_file", {"path": "/tmp/x"}), ("read_file", {"path": "/tmp/y"})]
    )
    agent = Agent("a", model=model, tools=[delete_file, read_file])
    result = await agent.run("clean up")
    assert ran == ["read /tmp/y"]  # the call that needs no approval ran
    assert result.state == "awaiting_approval"
    [pending] = result.pending_approvals
    assert (pending.call_id, pending.tool_name, pending.args, pending.agent_name) == (
        "call_1_0",
        "delete_file",
        {"path": "/tmp/x"},
        "a",
    )
    assert model.remaining == 0


# -- deps and input forms -------------------------------------------------------------------


async def test_deps_reach_tools_and_dynamic_instructions() -> None:
    seen: list[object] = []

    def instructions(ctx: Context[dict[str, str]]) -> str:
        return f"You serve {ctx.deps['user']}."

    async def whoami(ctx: Context[dict[str, str]]) -> str:
        seen.append(ctx.deps)
        return ctx.deps["user"]

    model = FakeModel().add_tool_call("whoami").add_response("you are ada")
    agent = Agent("a", model=model, tools=[whoami], instructions=instructions)
    deps = {"user": "ada"}
    result = await agent.run("who am I?", deps=deps)
    assert seen == [deps] and seen[0] is deps
    assert model.requests[0].instructions == "You serve ada."
    assert result.output == "you are ada"


async def test_async_instructions_and_static_instructions() -> None:
    async def instructions(ctx: Context[None]) -> str:
        return f"turn {ctx.turn}"

    model = FakeModel().add_response("x")
    await Agent("a", model=model, instructions=instructions).run("hi")
    assert model.requests[0].instructions == "turn 1"  # turns count from 1
    model2 = FakeModel().add_response("y")
    await Agent("b", model=model2, instructions="Be brief.").run("hi")
    assert model2.requests[0].instructions == "Be brief."
    # instructions travel beside the messages, never inside them
    assert [m.role for m in model2.requests[0].messages] == ["user"]


async def test_input_as_a_string() -> None:
    model = FakeModel().add_response("hello")
    result = await Agent("a", model=model).run("hi there")
    assert [(m.role, m.text) for m in model.requests[0].messages] == [("user", "hi there")]
    assert result.new_messages == result.messages


async def test_input_as_openai_items() -> None:
    items = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": [{"type": "input_text", "text": "And 3+3?"}]},
    ]
    model = FakeModel().add_response("6")
    result = await Agent("a", model=model).run(items)
    sent = model.requests[0].messages
    assert [(m.role, m.text) for m in sent] == [
        ("system", "Be terse."),
        ("user", "What is 2+2?"),
        ("assistant", "4"),
        ("user", "And 3+3?"),
    ]
    assert result.output == "6"


async def test_input_as_a_message() -> None:
    model = FakeModel().add_response("ok")
    await Agent("a", model=model).run(Message.user("hello"))
    assert model.requests[0].messages[0].text == "hello"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "input is empty"),
        ([{"role": "wizard", "content": "x"}], "role must be system, user, assistant or tool"),
        (["just a string"], "must be a dict"),
        ([{"role": "user", "content": 42}], "content must be a string or a list"),
        ([{"role": "user", "content": [{"type": "image"}]}], "unsupported content block"),
        (42, "input must be a string or a list"),
    ],
)
async def test_bad_input_is_a_user_error(bad: object, message: str) -> None:
    model = FakeModel().add_response("never")
    with pytest.raises(UserError, match=message):
        await Agent("a", model=model).run(bad)  # type: ignore[arg-type]
    assert model.requests == []


async def test_to_input_list_continues_a_conversation() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    model = FakeModel().add_tool_call("add", {"a": 2, "b": 2}).add_response("4")
    agent = Agent("a", model=model, tools=[add], instructions="Use tools.")
    first = await agent.run("2+2?")
    items = first.to_input_list()
    assert items == [
        {"role": "user", "content": "2+2?"},
        {
            "type": "function_call",
            "call_id": "call_1_0",
            "name": "add",
            "arguments": '{"a": 2, "b": 2}',
        },
        {"type": "function_call_output", "call_id": "call_1_0", "name": "add", "output": "4"},
        {"role": "assistant", "content": "4"},
    ]
    model.add_response("8")
    second = await agent.run([*items, {"role": "user", "content": "and doubled?"}])
    sent = model.requests[-1].messages
    assert [m.role for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    assert sent[1].tool_calls[0].name == "add"
    assert sent[2].tool_results[0].content == "4"
    assert second.output == "8"
    # the items given as input are this run's new messages (no thread history was loaded)
    assert [m.role for m in second.new_messages] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert second.messages[-1].text == "8"


async def test_thread_id_carries_history_between_runs() -> None:
    model = FakeModel().add_response("Nice to meet you, Ada.").add_response("You are Ada.")
    agent = Agent("a", model=model)
    runner = Runner(store=None)
    await runner.run(agent, "I am Ada.", thread_id="t")
    second = await runner.run(agent, "Who am I?", thread_id="t")
    assert [m.text for m in model.requests[1].messages] == [
        "I am Ada.",
        "Nice to meet you, Ada.",
        "Who am I?",
    ]
    assert [m.text for m in second.new_messages] == ["Who am I?", "You are Ada."]


# -- limits ---------------------------------------------------------------------------------


def looping_model(cost: float = 0.0) -> FunctionModel:
    return FunctionModel(lambda messages, info: FunctionModel.tool_call("step"), cost_per_call=cost)


def step() -> str:
    return "again"


async def test_max_turns_exceeded() -> None:
    agent = Agent("a", model=looping_model(), tools=[step], max_turns=3)
    with pytest.raises(MaxTurnsExceeded) as info:
        await agent.run("loop")
    assert (info.value.turn, info.value.limit) == (4, 3)
    assert str(info.value) == "max_turns exceeded: turn 4 would pass the limit of 3"
    assert info.value.result.turns == 3
    assert info.value.result.usage.requests == 3
    assert len(info.value.result.tool_executions) == 3
    assert info.value.result.state == "failed"


async def test_run_config_max_turns_overrides_the_agent() -> None:
    agent = Agent("a", model=looping_model(), tools=[step], max_turns=10)
    with pytest.raises(MaxTurnsExceeded) as info:
        await agent.run("loop", run_config=RunConfig(max_turns=1))
    assert (info.value.turn, info.value.limit) == (2, 1)


async def test_max_turns_allows_an_answer_on_the_last_turn() -> None:
    model = FakeModel().add_tool_call("step").add_response("done")
    result = await Agent("a", model=model, tools=[step], max_turns=2).run("go")
    assert result.output == "done"
    assert result.turns == 2


async def test_budget_exceeded_as_soon_as_cost_passes_the_limit() -> None:
    ran: list[int] = []

    def step() -> str:
        ran.append(1)
        return "again"

    model = FakeModel(cost_per_call=0.4)
    for _ in range(5):
        model.add_tool_call("step")
    agent = Agent("a", model=model, tools=[step], max_cost=1.0)
    with pytest.raises(BudgetExceeded) as info:
        await agent.run("spend")
    assert info.value.spent == pytest.approx(1.2)
    assert info.value.limit == 1.0
    assert str(info.value) == "budget exceeded: spent $1.200000 > limit $1.000000"
    assert len(ran) == 2  # the third turn's tool call never ran: the budget stopped it first
    assert info.value.result.usage.cost == pytest.approx(1.2)
    assert model.remaining == 2


async def test_cost_equal_to_the_limit_is_allowed() -> None:
    model = FakeModel(cost_per_call=0.5).add_tool_call("step").add_response("done")
    result = await Agent("a", model=model, tools=[step], max_cost=1.0).run("go")
    assert result.usage.cost == 1.0
    assert result.output == "done"


async def test_run_config_max_cost_overrides_the_agent() -> None:
    model = FakeModel(cost_per_call=0.5).add_response("done")
    with pytest.raises(BudgetExceeded) as info:
        await Agent("a", model=model, max_cost=10).run("go", run_config=RunConfig(max_cost=0.1))
    assert (info.value.spent, info.value.limit) == (0.5, 0.1)


# -- entry points ---------------------------------------------------------------------------


def test_run_sync_outside_a_loop() -> None:
    model = FakeModel().add_response("sync answer")
    result = Agent("a", model=model).run_sync("hi")
    assert isinstance(result, Result)
    assert str(result) == "sync answer"


async def test_run_sync_inside_a_running_loop_is_a_user_error() -> None:
    model = FakeModel().add_response("never")
    with pytest.raises(UserError, match=r"running event loop; use `await run\(\)` instead"):
        Agent("a", model=model).run_sync("hi")
    with pytest.raises(UserError, match=r"`await run\(\)`"):
        Runner(store=None).run_sync(Agent("b", model=model), "hi")
    assert model.requests == []


async def test_agent_without_model_is_a_user_error() -> None:
    with pytest.raises(UserError, match="has no model"):
        await Agent("a").run("hi")


async def test_run_config_model_overrides_the_agent_model() -> None:
    used = FakeModel(name="override").add_response("from override")
    result = await Agent("a", model=FakeModel(name="unused")).run(
        "hi", run_config=RunConfig(model=used)
    )
    assert result.output == "from override"


async def test_run_stream_last_event_carries_the_result() -> None:
    model = FakeModel().add_tool_call("step").add_response("streamed answer")
    events = [e async for e in Agent("a", model=model, tools=[step]).run_stream("go")]
    types = [e.type for e in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert "text_delta" in types and "tool_call_started" in types
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    result = events[-1].result  # type: ignore[attr-defined]
    assert isinstance(result, Result)
    assert result.output == "streamed answer"
    deltas = "".join(e.delta for e in events if e.type == "text_delta")  # type: ignore[attr-defined]
    assert deltas == "streamed answer"


async def test_start_returns_a_handle() -> None:
    model = FakeModel().add_response("handled")
    handle = await Agent("a", model=model).start("go")
    events = [e.type async for e in handle.events]
    result = await handle.result()
    assert events[0] == "run_started" and events[-1] == "run_finished"
    assert result.output == "handled"
    assert handle.done()
    assert result.run_id == handle.run_id


async def test_start_then_cancel() -> None:
    started = asyncio.Event()

    async def wait_forever() -> str:
        started.set()
        await asyncio.sleep(60)
        return "never"

    model = FakeModel().add_tool_call("wait_forever").add_response("never")
    handle = await Agent("a", model=model, tools=[wait_forever]).start("go")
    await started.wait()
    await handle.cancel()
    result = await handle.result()
    assert result.state == "cancelled"


async def test_caller_chosen_run_id_cannot_be_reused_while_running() -> None:
    gate = asyncio.Event()

    async def slow(messages: list[Message], info: object) -> str:
        await gate.wait()
        return "ok"

    runner = Runner(store=None)
    agent = Agent("a", model=FunctionModel(slow))
    handle = await runner.start(agent, "go", run_id="fixed")
    with pytest.raises(UserError, match="still going on"):
        await runner.run(agent, "again", run_id="fixed")
    gate.set()
    assert (await handle.result()).state == "completed"


async def test_fake_model_script_exhausted_names_the_turn() -> None:
    model = FakeModel(name="scripted").add_tool_call("step")
    with pytest.raises(UserError) as info:
        await Agent("a", model=model, tools=[step]).run("go")
    assert str(info.value) == (
        "FakeModel 'scripted' has no scripted response left for turn 2 "
        "(it answered 1 requests); add one with add_response()"
    )
    assert info.value.result.state == "failed"
    assert len(info.value.result.tool_executions) == 1


async def test_instructions_from_a_template_file(tmp_path: Path) -> None:
    template = tmp_path / "instructions.txt"
    template.write_text("You help {deps[name]} (run {ctx.run_id}).")
    model = FakeModel().add_response("hi")
    agent = Agent("a", model=model, instructions=template)
    # read in a worker thread: blockbuster fails this test if it blocks the loop
    await agent.run("hello", deps={"name": "Ada"}, run_id="r-1")
    assert model.requests[0].instructions == "You help Ada (run r-1)."


async def test_missing_instructions_file_is_a_user_error(tmp_path: Path) -> None:
    agent = Agent("a", model=FakeModel().add_response("x"), instructions=tmp_path / "nope.txt")
    with pytest.raises(UserError, match="cannot read instructions file"):
        await agent.run("hello")


async def test_input_ending_with_an_assistant_message_still_asks_the_model() -> None:
    model = FakeModel().add_response("a fresh answer")
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
    result = await Agent("a", model=model).run(history)
    assert result.output == "a fresh answer"
    assert result.usage.requests == 1
    assert [m.text for m in model.requests[0].messages] == ["hi", "Hello!"]
