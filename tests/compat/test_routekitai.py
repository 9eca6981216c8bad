"""routekitai's documented examples (../shared/seeds/000), run through tether.compat.routekitai.

Each example is the seed's text verbatim; the changes are the import lines. The seed's own
FakeModel is used as written. Names the page leaves to the caller (``agent1``, ``agent2``,
``some_policy``) are given in the namespace; ``tools=[...]`` (a placeholder) is ``tools=[]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.compat._seed import run_seed_async
from tether.compat.routekitai import (
    Agent,
    FakeModel,
    PlanExecutePolicy,
    ReActPolicy,
    RunResult,
    Runtime,
)
from tether.errors import MaxTurnsExceeded, UserError
from tether.tracing.files import file_name_for

IMPORTS = {
    "from routekitai import": "from tether.compat.routekitai import",
    "from routekitai.providers.local import": "from tether.compat.routekitai import",
    "from routekitai.core.runtime import": "from tether.compat.routekitai import",
    "from routekitai.core.agent import": "from tether.compat.routekitai import",
    "from routekitai.core.hooks import": "from tether.compat.routekitai import",
    "from routekitai.core.policies import": "from tether.compat.routekitai import",
}


def _only(*names: str) -> dict[str, str]:
    return {k: v for k, v in IMPORTS.items() if any(k.startswith(n) for n in names)}


RUN = """
from routekitai import Agent
from routekitai.providers.local import FakeModel

model = FakeModel(name="test")
model.add_response("Done.")
agent = Agent(name="my_agent", model=model, tools=[])

result = await agent.run("Do something")
# result.output   — final Message
# result.trace_id — ID for this run
# result.messages — full conversation
# result.final_state — agent state at end
"""


def _exists(path: Path) -> bool:
    return path.exists()


def _trace_lines(folder: Path, trace_id: str) -> list[dict[str, Any]]:
    path = folder / f"{file_name_for(trace_id)}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_agent_run_example_writes_traces_to_routekit_traces() -> None:
    ns: dict[str, Any] = {}
    await run_seed_async(RUN, _only("from routekitai import", "from routekitai.providers"), ns)
    result = ns["result"]
    assert isinstance(result, RunResult)
    assert (result.output.role, result.output.content) == ("assistant", "Done.")
    assert [(m.role, m.content) for m in result.messages] == [
        ("user", "Do something"),
        ("assistant", "Done."),
    ]
    assert result.final_state["state"] == "completed"
    assert result.final_state["agent"] == "my_agent"
    assert result.usage.requests == 1 and result.state == "completed"  # tether's fields too
    await ns["agent"].runtime.drain()
    lines = _trace_lines(Path(".routekit/traces"), result.trace_id)
    assert lines[0]["type"] == "run_started" and lines[-1]["type"] == "run_finished"


TRACE_DIR = """
from pathlib import Path
agent = Agent(name="my_agent", model=model, tools=[], trace_dir=Path("/tmp/my_traces"))
"""


async def test_trace_dir_example(tmp_path: Path) -> None:
    model = FakeModel(name="test").add_response("Done.")
    ns: dict[str, Any] = {"Agent": Agent, "model": model}
    # the page's folder is /tmp/my_traces; the test keeps it inside its own directory
    await run_seed_async(TRACE_DIR, {'"/tmp/my_traces"': repr(str(tmp_path / "mine"))}, ns)
    result = await ns["agent"].run("Do something")
    await ns["agent"].runtime.drain()
    assert _trace_lines(tmp_path / "mine", result.trace_id)[0]["agent"] == "my_agent"
    assert not _exists(Path(".routekit"))


STREAM = """
async for event in agent.run_stream("Long task"):
    if event["type"] == "trace_event":
        print("Event:", event["data"].get("type"))
    elif event["type"] == "progress_update":
        print("Progress:", event["data"].get("progress_percent"), "%")
    elif event["type"] == "result":
        result = event["result"]
        print("Output:", result.output.content)
"""


async def test_run_stream_example() -> None:
    model = FakeModel(name="test").add_tool_call("step", {}).add_response("All done.")

    def step() -> str:
        """One step."""
        return "ok"

    agent = Agent(name="my_agent", model=model, tools=[step], max_turns=4)
    printed = await run_seed_async(STREAM, {}, {"agent": agent})
    lines = printed.splitlines()
    assert lines[0] == "Event: run_started"
    assert "Event: tool_call_finished" in lines
    assert "Progress: 25.0 %" in lines and "Progress: 50.0 %" in lines
    assert lines[-2:] == ["Event: run_finished", "Output: All done."]
    model.add_tool_call("step").add_response("ok")
    result = await agent.run("again")
    roles = [(m.role, m.content, [c["name"] for c in m.tool_calls]) for m in result.messages]
    assert roles == [
        ("user", "again", []),
        ("assistant", "", ["step"]),
        ("tool", "ok", []),
        ("assistant", "ok", []),
    ]


async def test_run_stream_of_a_failed_run_raises_its_error() -> None:
    model = FakeModel().add_tool_call("x").add_tool_call("y").add_tool_call("z")
    agent = Agent(name="loop", model=model, max_turns=2)
    seen: list[str] = []

    async def consume() -> None:
        async for event in agent.run_stream("go"):
            seen.append(event["type"])

    with pytest.raises(MaxTurnsExceeded):
        await consume()
    assert "result" not in seen and seen[-1] == "trace_event"


RUNTIME = """
from pathlib import Path
from routekitai.core.runtime import Runtime
from routekitai.core.agent import Agent

runtime = Runtime(trace_dir=Path(".routekit/traces"))
runtime.register_agent(agent1)
runtime.register_agent(agent2)

result = await runtime.run("agent1", "Prompt", policy=some_policy)
"""


async def test_runtime_example_and_replay() -> None:
    agent1 = Agent(name="agent1", model=FakeModel().add_response("1. look\n").add_response("ok"))
    second_model = FakeModel()
    agent2 = Agent(name="agent2", model=second_model)
    ns: dict[str, Any] = {"agent1": agent1, "agent2": agent2, "some_policy": PlanExecutePolicy()}
    changes = _only("from routekitai.core.runtime", "from routekitai.core.agent")
    await run_seed_async(RUNTIME, changes, ns)
    result = ns["result"]
    assert result.output.content == "ok"
    assert result.usage.requests == 2  # plan, then execute
    runtime = ns["runtime"]
    # replay serves the recorded answers; a per-run policy is not recorded, so replay a run
    # that used the agent's own (default) policy
    second_model.add_response("two")
    plain = await runtime.run("agent2", "Prompt")
    replayed = await runtime.replay(plain.trace_id, "agent2")
    assert replayed.output.content == "two"
    assert replayed.run_id != plain.run_id
    with pytest.raises(UserError, match="no agent named 'agent3'"):
        await runtime.run("agent3", "Prompt")
    with pytest.raises(UserError, match="trace_dir"):
        await Runtime().replay(result.trace_id)


HOOKS = """
from routekitai.core.hooks import PolicyHooks, PIIRedactionHook

runtime = Runtime(
    trace_dir=Path(".routekit/traces"),
    policy_hooks=PolicyHooks(pii_redaction=PIIRedactionHook(redact_emails=True)),
)
"""


async def test_policy_hooks_example() -> None:
    model = FakeModel().add_response("noted")
    ns: dict[str, Any] = {"Runtime": Runtime, "Path": Path}
    await run_seed_async(HOOKS, _only("from routekitai.core.hooks"), ns)
    runtime = ns["runtime"]
    runtime.register_agent(Agent(name="a", model=model))
    await runtime.run("a", "mail me at jane@example.com")
    assert "jane@example.com" not in repr(model.requests[0].messages)
    assert "[REDACTED_EMAIL]" in repr(model.requests[0].messages)


POLICY = """
from routekitai.core.policies import ReActPolicy

agent = Agent(
    name="my_agent",
    model=model,
    tools=[...],
    policy=ReActPolicy(max_iterations=15),
)
"""


async def test_policy_on_the_agent_example() -> None:
    model = FakeModel().add_response("fine")
    ns: dict[str, Any] = {"Agent": Agent, "model": model}
    changes = {**_only("from routekitai.core.policies"), "tools=[...]": "tools=[]"}
    await run_seed_async(POLICY, changes, ns)
    agent = ns["agent"]
    assert isinstance(agent.policy, ReActPolicy) and agent.policy.max_iterations == 15
    assert (await agent.run("hi")).output.content == "fine"


async def test_runtime_timeout_and_concurrency_are_tethers() -> None:
    import asyncio

    from tether.models.testing import FunctionModel

    async def slow(messages: list[Any], info: Any) -> str:
        await asyncio.sleep(30)
        return "late"

    runtime = Runtime(timeout=0.2, max_concurrency=2)
    runtime.register_agent(Agent(name="slow", model=FunctionModel(slow)))
    result = await runtime.run("slow", "hurry")  # a timeout ends the run interrupted
    assert (result.state, result.error_type) == ("interrupted", "RunTimeout")
    assert result.final_state["state"] == "interrupted"
    assert runtime.engine.config.max_concurrency == 2


# routekitai's own module paths, with only the package prefix changed (what a user moving
# files over does with a search and replace): the same objects as the flat facade.
AS_PATHS = {"from routekitai": "from tether.compat.routekitai"}
PATHS = RUN + RUNTIME.replace("from pathlib import Path\n", "") + HOOKS + POLICY


async def test_every_example_runs_with_routekitais_module_paths() -> None:
    agent1 = Agent(name="agent1", model=FakeModel().add_response("one"))
    agent2 = Agent(name="agent2", model=FakeModel())
    ns: dict[str, Any] = {
        "Path": Path,
        "agent1": agent1,
        "agent2": agent2,
        "some_policy": ReActPolicy(max_iterations=3),
    }
    await run_seed_async(PATHS, {**AS_PATHS, "tools=[...]": "tools=[]"}, ns)
    assert ns["Runtime"] is Runtime and ns["FakeModel"] is FakeModel and ns["Agent"] is Agent
    assert ns["result"].output.content == "one"
    assert isinstance(ns["agent"].policy, ReActPolicy)
    from tether.compat.routekitai import PIIRedactionHook, PolicyHooks

    assert ns["PolicyHooks"] is PolicyHooks and ns["PIIRedactionHook"] is PIIRedactionHook


async def test_replay_of_a_run_given_a_policy() -> None:
    """The page's ``runtime.run(..., policy=some_policy)`` then ``runtime.replay(trace_id,
    agent_name)``: the Runtime passes the run's policy again; another Runtime is told to."""
    model = FakeModel().add_response("1. look\n").add_response("ok")
    ns: dict[str, Any] = {
        "agent1": Agent(name="agent1", model=model),
        "agent2": Agent(name="agent2", model=FakeModel()),
        "some_policy": PlanExecutePolicy(),
    }
    changes = _only("from routekitai.core.runtime", "from routekitai.core.agent")
    await run_seed_async(RUNTIME, changes, ns)
    result, runtime = ns["result"], ns["runtime"]
    replayed = await runtime.replay(result.trace_id, "agent1")
    assert replayed.output.content == "ok" and replayed.usage.requests == 2
    assert model.remaining == 0  # served from the trace, not asked again
    other = Runtime(trace_dir=Path(".routekit/traces"))
    other.register_agent(ns["agent1"])
    with pytest.raises(UserError, match=r"runner\.replay\(.*policy="):
        await other.replay(result.trace_id, "agent1")
    again = await other.replay(result.trace_id, "agent1", policy=PlanExecutePolicy())
    assert again.output.content == "ok"


async def test_stream_names_routekitais_trace_events() -> None:
    """The page names ``step_started`` and ``tool_called`` among the trace events."""

    def step() -> str:
        """One step."""
        return "ok"

    agent = Agent(name="a", model=FakeModel().add_tool_call("step").add_response("done"))
    agent = Agent(name="a", model=agent.model, tools=[step])
    data = [e["data"] async for e in agent.run_stream("go") if e["type"] == "trace_event"]
    types = [d["type"] for d in data]
    assert types.count("step_started") == 2 and types.count("tool_called") == 1
    assert "turn_started" not in types and "tool_call_started" not in types
    called = next(d for d in data if d["type"] == "tool_called")
    assert (called["tether_type"], called["tool_name"]) == ("tool_call_started", "step")


async def test_the_error_a_failed_stream_raises_has_its_fields() -> None:
    """A stream's MaxTurnsExceeded / BudgetExceeded carry ``.turn`` / ``.spent`` and
    ``.limit``, as the same errors raised by a run that is not streamed do."""
    from tether.errors import BudgetExceeded

    async def consume(agent: Agent) -> None:
        async for _ in agent.run_stream("go"):
            pass

    looping = FakeModel().add_tool_call("x").add_tool_call("y").add_tool_call("z")
    with pytest.raises(MaxTurnsExceeded) as turns:
        await consume(Agent(name="loop", model=looping, max_turns=2))
    assert (turns.value.turn, turns.value.limit) == (3, 2)
    costly = FakeModel(cost_per_call=0.06).add_tool_call("x").add_tool_call("y")
    with pytest.raises(BudgetExceeded) as budget:
        await consume(Agent(name="spender", model=costly, max_cost=0.1))
    assert budget.value.limit == 0.1 and budget.value.spent == pytest.approx(0.12)
