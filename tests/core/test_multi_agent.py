"""Agents as tools (subagents), handoffs, and input/output guardrails."""

from __future__ import annotations

import pytest

from tether import (
    Agent,
    BudgetExceeded,
    Context,
    GuardrailResult,
    InputGuardrailTripwireTriggered,
    Message,
    OutputGuardrailTripwireTriggered,
    RunConfig,
    Runner,
    handoff,
    input_guardrail,
    output_guardrail,
)
from tether.models import FakeModel, FunctionModel
from tether.store import MemoryStore

# -- agent.as_tool --------------------------------------------------------------------------


async def test_subagent_as_tool() -> None:
    child_model = FakeModel(cost_per_call=0.1).add_response("Bonjour")
    translator = Agent("translator", model=child_model, description="Translates to French.")
    parent_model = FakeModel(cost_per_call=0.2)
    parent_model.add_tool_call("translate", {"input": "Hello"}).add_response("It is 'Bonjour'.")
    parent = Agent("boss", model=parent_model, tools=[translator.as_tool(name="translate")])

    spec = parent.tool_specs()[0]
    assert (spec.name, spec.description) == ("translate", "Translates to French.")
    assert list(spec.parameters["properties"]) == ["input"]

    result = await parent.run("Translate hello", deps={"k": 1})
    assert result.output == "It is 'Bonjour'."
    assert child_model.requests[0].messages[0].text == "Hello"
    [record] = result.subagent_executions
    assert record.agent_name == "translator"
    assert record.call_id == "call_1_0"
    assert record.state == "completed"
    assert record.final_text == "Bonjour"
    assert record.run_id != result.run_id
    assert record.latency_ms >= 0
    assert result.tool_executions[0].output == "Bonjour"
    # the child's usage counts in the parent's
    assert result.usage.requests == 3
    assert result.usage.cost == pytest.approx(0.5)


async def test_subagent_default_name_and_deps() -> None:
    seen: list[object] = []

    async def lookup(ctx: Context[dict[str, int]]) -> int:
        seen.append(ctx.deps)
        return ctx.deps["k"]

    child = Agent(
        "research helper",
        model=FakeModel().add_tool_call("lookup").add_response("k is 1"),
        tools=[lookup],
    )
    made = child.as_tool()
    assert made.name == "research_helper"
    assert made.description == "Ask the research helper agent."
    parent_model = FakeModel().add_tool_call("research_helper", {"input": "k?"}).add_response("1")
    deps = {"k": 1}
    await Agent("p", model=parent_model, tools=[made]).run("go", deps=deps)
    assert seen == [deps]


async def test_failing_subagent_is_reported_to_the_parent_model() -> None:
    child = Agent("child", model=FakeModel())  # no script: the child run fails
    parent_model = FakeModel().add_tool_call("child", {"input": "x"}).add_response("child broke")
    result = await Agent("p", model=parent_model, tools=[child.as_tool()]).run("go")
    assert result.output == "child broke"
    record = result.tool_executions[0]
    assert record.success is False
    assert "no scripted response left" in (record.error or "")
    assert result.state == "degraded"


# -- handoffs -------------------------------------------------------------------------------


async def test_handoff_switches_the_answering_agent() -> None:
    billing_model = FakeModel().add_response("Your invoice is paid.")
    billing = Agent("billing", model=billing_model, instructions="You handle billing.")
    triage_model = FakeModel().add_tool_call("transfer_to_billing")
    triage = Agent("triage", model=triage_model, handoffs=[billing])

    assert [s.name for s in triage.tool_specs()] == ["transfer_to_billing"]
    result = await triage.run("Is my invoice paid?")
    assert result.output == "Your invoice is paid."
    assert result.last_agent == "billing"
    # the billing agent saw the conversation so far, with its own instructions
    request = billing_model.requests[0]
    assert request.instructions == "You handle billing."
    assert [m.role for m in request.messages] == ["user", "assistant", "tool"]
    assert request.messages[2].tool_results[0].content == "Transferred to billing."
    assert result.messages[-1].agent == "billing"


async def test_handoff_with_custom_tool_name_and_input_filter() -> None:
    def only_user(messages: list[Message]) -> list[Message]:
        return [m for m in messages if m.role == "user"]

    expert_model = FakeModel().add_response("expert answer")
    expert = Agent("expert", model=expert_model)
    spec = handoff(
        expert, tool_name="ask_expert", tool_description="Escalate.", input_filter=only_user
    )
    front = Agent("front", model=FakeModel().add_tool_call("ask_expert"), handoffs=[spec])
    result = await front.run("hard question")
    assert result.last_agent == "expert"
    assert [m.role for m in expert_model.requests[0].messages] == ["user"]
    assert front.tool_specs()[0].description == "Escalate."


async def test_only_the_first_handoff_of_a_turn_happens() -> None:
    a = Agent("a", model=FakeModel().add_response("from a"))
    b = Agent("b", model=FakeModel())
    router = Agent(
        "router",
        model=FakeModel().add_tool_calls([("transfer_to_a", {}), ("transfer_to_b", {})]),
        handoffs=[a, b],
    )
    result = await router.run("go")
    assert result.last_agent == "a"
    contents = [r.content for r in result.messages[2].tool_results]
    assert contents == ["Transferred to a.", "Not done: a handoff already happened."]


async def test_no_handoff_means_last_agent_is_the_start_agent() -> None:
    result = await Agent("solo", model=FakeModel().add_response("x")).run("go")
    assert result.last_agent == "solo"


# -- guardrails -----------------------------------------------------------------------------


async def test_input_guardrail_trips_before_the_model_is_asked() -> None:
    @input_guardrail
    def no_secrets(ctx: Context[None], text: str) -> GuardrailResult:
        return GuardrailResult("password" in text, info={"matched": "password"})

    model = FakeModel().add_response("never")
    agent = Agent("a", model=model, input_guardrails=[no_secrets])
    with pytest.raises(InputGuardrailTripwireTriggered) as info:
        await agent.run("my password is hunter2")
    assert info.value.guardrail == "no_secrets"
    assert info.value.info == {"matched": "password"}
    assert model.requests == []
    assert info.value.result.state == "failed"


async def test_input_guardrail_passes() -> None:
    @input_guardrail
    async def harmless(ctx: Context[None], text: str) -> bool:
        return False

    model = FakeModel().add_response("fine")
    result = await Agent("a", model=model, input_guardrails=[harmless]).run("hello")
    assert result.output == "fine"


async def test_output_guardrail_trips_on_the_final_output() -> None:
    @output_guardrail
    def no_leaks(ctx: Context[None], output: str) -> bool:
        return "SECRET" in output

    model = FakeModel().add_response("the SECRET is 42")
    with pytest.raises(OutputGuardrailTripwireTriggered) as info:
        await Agent("a", model=model, output_guardrails=[no_leaks]).run("tell me")
    assert info.value.guardrail == "no_leaks"
    assert info.value.result.state == "failed"


async def test_guardrails_from_run_config() -> None:
    @input_guardrail
    def always(ctx: Context[None], text: str) -> bool:
        return True

    model = FakeModel().add_response("never")
    with pytest.raises(InputGuardrailTripwireTriggered):
        await Agent("a", model=model).run("x", run_config=RunConfig(input_guardrails=[always]))


async def test_guardrail_trip_is_an_event() -> None:
    @output_guardrail
    def reject(ctx: Context[None], output: object) -> GuardrailResult:
        return GuardrailResult(True, info="nope")

    model = FunctionModel(lambda m, i: "out")
    events = [e async for e in Agent("a", model=model, output_guardrails=[reject]).run_stream("x")]
    tripped = [e for e in events if e.type == "guardrail_tripped"]
    assert [(e.guardrail, e.kind, e.info) for e in tripped] == [("reject", "output", "nope")]  # type: ignore[attr-defined]
    assert events[-1].result.state == "failed"  # type: ignore[attr-defined]
    assert events[-1].result.error_type == "OutputGuardrailTripwireTriggered"  # type: ignore[attr-defined]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_input_guardrail_trip_is_an_event_of_the_log() -> None:
    @input_guardrail
    def block(ctx: Context[None], text: str) -> GuardrailResult:
        return GuardrailResult(True, info={"len": len(text)})

    store = MemoryStore()
    runner = Runner(store=store)
    agent = Agent("a", model=FakeModel(), input_guardrails=[block])
    events = [e async for e in runner.run_stream(agent, "abc", run_id="g1")]
    assert [e.type for e in events] == ["run_started", "guardrail_tripped", "run_finished"]
    assert [e.seq for e in events] == [1, 2, 3]
    stored = await store.load("g1")
    assert [e.type for e in stored] == ["run_started", "guardrail_tripped", "run_finished"]


async def test_a_subagent_spending_the_budget_stops_the_parent_before_its_next_call() -> None:
    child = Agent("child", model=FakeModel(cost_per_call=2.0).add_response("expensive"))
    parent_model = FakeModel(cost_per_call=0.1)
    parent_model.add_tool_call("child", {"input": "x"}).add_response("never asked")
    parent = Agent("p", model=parent_model, tools=[child.as_tool()], max_cost=1.0)
    with pytest.raises(BudgetExceeded) as info:
        await parent.run("go")
    assert info.value.spent == pytest.approx(2.1)
    assert len(parent_model.requests) == 1  # the parent model was not asked again
