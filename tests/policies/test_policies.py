"""Policies steer the one loop: ReAct bounds, strict function calling, plan-then-execute,
supervisor of workers, graph workflows."""

from __future__ import annotations

import pytest

from tether import Agent, MaxTurnsExceeded, RunConfig, Runner, UserError
from tether.models import FakeModel
from tether.policies import (
    END,
    FunctionCallingPolicy,
    Graph,
    GraphPolicy,
    PlanExecutePolicy,
    ReActPolicy,
    SupervisorPolicy,
)


async def test_react_policy_bounds_iterations() -> None:
    model = FakeModel()
    for _ in range(3):
        model.add_tool_call("ping", {})
    agent = Agent("looper", model=model, policy=ReActPolicy(max_iterations=2), max_turns=10)

    @agent.tool
    def ping() -> str:
        return "pong"

    with pytest.raises(MaxTurnsExceeded) as caught:
        await agent.run("go")
    assert (caught.value.turn, caught.value.limit) == (3, 2)
    with pytest.raises(UserError, match="max_iterations must be at least 1"):
        ReActPolicy(max_iterations=0)


async def test_function_calling_policy_requires_a_call_for_the_answer() -> None:
    model = FakeModel()
    model.add_response("free text is not accepted")
    model.add_tool_call("final_result", {"response": "42"})
    agent = Agent("strict", model=model, policy=FunctionCallingPolicy(), retries=2)
    result = await agent.run("answer")
    assert result.output == "42"
    assert model.requests[0].settings.tool_choice == "required"
    assert "final_result" in [t.name for t in model.requests[0].tools]
    retry_hint = model.requests[1].messages[-1].text
    assert retry_hint == "Give your final answer by calling the final_result tool."


async def test_plan_execute_policy_plans_then_executes() -> None:
    model = FakeModel()
    model.add_response("1. look up the weather\n2. answer")
    model.add_tool_call("weather", {"city": "Oslo"})
    model.add_response("Oslo: 3C")
    agent = Agent("planner", model=model, instructions="Be brief.", policy=PlanExecutePolicy())

    @agent.tool
    def weather(city: str) -> str:
        return "3C"

    result = await agent.run("Weather in Oslo?")
    first, second = model.requests[0], model.requests[1]
    assert first.settings.tool_choice == "none"
    assert first.instructions is not None and first.instructions.startswith(
        "Be brief.\n\nBefore acting"
    )
    assert second.settings.tool_choice is None
    assert second.messages[-1].text.startswith("Now carry out the plan")
    assert result.output == "Oslo: 3C"
    assert [m.role for m in result.messages] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


async def test_supervisor_delegates_to_workers() -> None:
    researcher_model = FakeModel().add_response("Paris is the capital of France.")
    researcher = Agent("researcher", model=researcher_model)
    boss_model = FakeModel()
    boss_model.add_tool_call("ask_researcher", {"input": "capital of France?"})
    boss_model.add_response("The capital is Paris.")
    boss = Agent("boss", model=boss_model, policy=SupervisorPolicy([researcher]))
    result = await boss.run("What is the capital of France?")
    assert result.output == "The capital is Paris."
    assert [(s.agent_name, s.final_text) for s in result.subagent_executions] == [
        ("researcher", "Paris is the capital of France.")
    ]
    assert researcher_model.requests[0].messages[0].text == "capital of France?"
    assert "You supervise other agents" in (boss_model.requests[0].instructions or "")
    with pytest.raises(UserError, match="at least one worker"):
        SupervisorPolicy([])


async def test_graph_policy_runs_nodes_along_edges() -> None:
    writer_model = FakeModel().add_response("draft v1").add_response("draft v2")
    reviewer_model = FakeModel().add_response("REDO: too short").add_response("OK")
    writer = Agent("writer", model=writer_model)
    reviewer = Agent("reviewer", model=reviewer_model)
    graph = (
        Graph()
        .add_node("write", writer)
        .add_node("review", reviewer)
        .add_edge("write", "review")
        .add_conditional_edge("review", lambda out: "write" if out.startswith("REDO") else END)
    )
    flow = Agent("flow", policy=GraphPolicy(graph))
    result = await flow.run("Write a poem")
    assert result.output == "OK"
    assert [s.agent_name for s in result.subagent_executions] == [
        "writer",
        "reviewer",
        "writer",
        "reviewer",
    ]
    assert writer_model.requests[0].messages[0].text == "Write a poem"
    assert writer_model.requests[1].messages[0].text == "REDO: too short"
    assert reviewer_model.requests[1].messages[0].text == "draft v2"
    assert result.usage.requests == 4  # the router makes no model requests


async def test_graph_checks_its_shape() -> None:
    graph = Graph().add_node("a", Agent("a", model=FakeModel()))
    with pytest.raises(UserError, match="graph has no node 'b'"):
        graph.add_edge("a", "b")
    with pytest.raises(UserError, match="is taken"):
        graph.add_node("a", Agent("a2"))
    with pytest.raises(UserError, match="at least one node"):
        GraphPolicy(Graph())


async def test_graph_run_is_durable_and_resumable() -> None:
    a = Agent("a", model=FakeModel().add_response("from a"))
    b = Agent("b", model=FakeModel().add_response("from b"))
    graph = Graph().add_node("a", a).add_node("b", b).add_edge("a", "b")
    runner = Runner(store="memory://")
    flow = runner.register_agent(Agent("flow", policy=GraphPolicy(graph)))
    result = await runner.run(flow, "start")
    assert result.output == "from b"
    again = await runner.resume(result.run_id)
    assert again.output == "from b"


async def test_policy_from_run_config_and_type_check() -> None:
    model = FakeModel().add_tool_call("ping", {}).add_tool_call("ping", {})
    agent = Agent("p", model=model)

    @agent.tool
    def ping() -> str:
        return "pong"

    runner = Runner(store=None)
    with pytest.raises(MaxTurnsExceeded):
        await runner.run(agent, "go", run_config=RunConfig(policy=ReActPolicy(max_iterations=1)))
    with pytest.raises(UserError, match=r"policy must be a tether\.policies\.Policy"):
        await runner.run(Agent("q", model=model, policy="react"), "go")
