"""The event log is the whole truth: handoffs, resumes and edges behave like live runs."""

from __future__ import annotations

import pytest

from tether import Agent, Message, Runner, UserError, handoff
from tether.models import FakeModel
from tether.store import MemoryStore


async def test_a_handoff_named_by_a_string_resolves_through_the_registry() -> None:
    billing_model = FakeModel().add_response("Your invoice is paid.")
    billing = Agent("billing", model=billing_model)
    runner = Runner(store=None, telemetry=None, agents=[billing])
    triage_model = FakeModel().add_tool_call("transfer_to_billing")
    triage = Agent("triage", model=triage_model, handoffs=["billing"])
    result = await runner.run(triage, "Is my invoice paid?")
    assert (result.output, result.last_agent) == ("Your invoice is paid.", "billing")
    # the model was offered the handoff tool
    assert [t.name for t in triage_model.requests[0].tools] == ["transfer_to_billing"]


async def test_a_handoff_to_an_unknown_name_is_a_user_error() -> None:
    model = FakeModel().add_response("never asked")
    triage = Agent("triage", model=model, handoffs=["nobody"])
    with pytest.raises(UserError, match=r"hands off to 'nobody'.*register_agent"):
        await Runner(store=None, telemetry=None).run(triage, "hi")
    assert model.requests == []  # refused before the model was asked


# -- handoff input filter ----------------------------------------------------------------------


def _filtered_handoff(calls: list[int]) -> tuple[Agent, FakeModel]:
    def only_user(messages: list[Message]) -> list[Message]:
        calls.append(len(messages))
        return [m for m in messages if m.role == "user"]

    expert_model = FakeModel().add_tool_call("lookup", {"q": "x"}).add_response("expert answer")
    expert = Agent("expert", model=expert_model)

    @expert.tool(needs_approval=True)
    def lookup(q: str) -> str:
        """Look it up."""
        return "found it"

    spec = handoff(expert, tool_name="ask_expert", input_filter=only_user)
    front = Agent("front", model=FakeModel().add_tool_call("ask_expert"), handoffs=[spec])
    return front, expert_model


async def test_a_handoff_input_filter_applies_once_and_survives_a_resume() -> None:
    calls: list[int] = []
    front, expert_model = _filtered_handoff(calls)
    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(front, "hard question")
    assert paused.state == "awaiting_approval"
    # the filter saw the history once: user, the handoff call, its result
    assert calls == [3]
    assert [m.role for m in expert_model.requests[0].messages] == ["user"]
    stored = await runner.store.load(paused.run_id)  # type: ignore[union-attr]
    handed = [e for e in stored if e.type == "handoff_input"]
    assert [(e.agent, [m.role for m in e.messages]) for e in handed] == [("expert", ["user"])]  # type: ignore[attr-defined]

    # resumed by a fresh runner: the filter is not applied again, its output comes from the log
    fresh = Runner(store=runner.store, telemetry=None, agents=[front])
    done = await fresh.resume(paused.run_id, approvals={paused.pending_approvals[0].call_id: True})
    assert (done.state, done.output) == ("completed", "expert answer")
    assert calls == [3]
    # and the expert sees its own tool call and result after the filtered history
    second = expert_model.requests[1].messages
    assert [m.role for m in second] == ["user", "assistant", "tool"]
    assert second[-1].tool_results[0].content == "found it"
    # the transcript keeps everything
    assert [m.role for m in done.messages] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]


# -- lenient output candidate ------------------------------------------------------------------


async def test_the_lenient_candidate_is_in_the_log_and_accepted_after_a_resume() -> None:
    from tether import RunConfig

    model = FakeModel().add_response("draft one").add_tool_call("pause_here").add_response("x")
    agent = Agent("writer", model=model, retries=0)

    @agent.output_validator
    def never(ctx: object, output: str) -> str:
        from tether import Retry

        raise Retry("not good enough")

    log = [e async for e in agent.run_stream("write", run_config=RunConfig(lenient_output=True))]
    retry = next(e for e in log if e.type == "output_retry")
    assert retry.candidate == "draft one"  # type: ignore[attr-defined]
    result = log[-1].result  # type: ignore[attr-defined]
    assert result.state == "degraded" and result.output == "draft one"

    # folded from the log alone (as a resume does), the state still has the candidate
    from tether import RunState

    state = RunState(result.run_id)
    for event in log:
        if event.durable:
            state.apply(event)
    assert (state.has_candidate, state.candidate) == (True, "draft one")


# -- a resumed run keeps what it was started with ----------------------------------------------


def _payer(model: FakeModel, ran: list[str] | None = None, instructions: str = "Pay.") -> Agent:
    agent = Agent("payer", model=model, instructions=instructions)

    @agent.tool(needs_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        if ran is not None:
            ran.append(f"pay {amount}")
        return "paid"

    @agent.tool
    def look() -> str:
        """Look."""
        return "nothing"

    return agent


async def test_a_resumed_run_keeps_its_max_cost() -> None:
    from tether import BudgetExceeded, RunConfig

    model = FakeModel(cost_per_call=0.5).add_tool_call("pay", {"amount": 1})
    model.add_tool_call("look", {}).add_response("done")
    store = MemoryStore()
    first = Runner(store=store, telemetry=None)
    paused = await first.run(_payer(model), "pay", run_config=RunConfig(max_cost=1.0))
    assert paused.state == "awaiting_approval"
    # another process: no run_config given, the limit comes from the log
    again = Runner(store=store, telemetry=None)
    call = paused.pending_approvals[0].call_id
    with pytest.raises(BudgetExceeded) as info:
        await again.resume(paused.run_id, _payer(model), approvals={call: True})
    assert info.value.limit == 1.0 and info.value.spent == pytest.approx(1.5)


async def test_what_cannot_be_restored_is_refused_by_name() -> None:
    from tether import RunConfig, output_guardrail
    from tether.policies import ReActPolicy

    @output_guardrail
    def polite(ctx: object, output: object) -> object:
        from tether import GuardrailResult

        return GuardrailResult(tripwire_triggered=False)

    model = FakeModel().add_tool_call("pay", {"amount": 1}).add_response("done")
    store = MemoryStore()
    config = RunConfig(policy=ReActPolicy(), output_guardrails=[polite])
    paused = await Runner(store=store, telemetry=None).run(_payer(model), "pay", run_config=config)
    call = paused.pending_approvals[0].call_id
    again = Runner(store=store, telemetry=None)
    with pytest.raises(
        UserError, match=r"policy= \(a 'react' policy\).*output_guardrails=.*'polite'"
    ):
        await again.resume(paused.run_id, _payer(model), approvals={call: True})
    done = await again.resume(
        paused.run_id, _payer(model), approvals={call: True}, run_config=config
    )
    assert done.state == "completed"


async def test_a_model_object_and_a_callable_kept_by_name_are_refused_until_given_again() -> None:
    from tether import RunConfig

    model = FakeModel().add_tool_call("pay", {"amount": 1}).add_response("done")
    store = MemoryStore()
    config = RunConfig(model=model, handoff_input_filter=lambda messages: messages)
    paused = await Runner(store=store, telemetry=None).run(_payer(model), "pay", run_config=config)
    call = paused.pending_approvals[0].call_id
    again = Runner(store=store, telemetry=None)
    with pytest.raises(UserError, match=r"model='fake'.*handoff_input_filter= \(") as info:
        await again.resume(paused.run_id, _payer(model), approvals={call: True})
    assert "policy=" not in str(info.value)  # only what was recorded is asked for
    done = await again.resume(
        paused.run_id, _payer(model), approvals={call: True}, run_config=config
    )
    assert done.state == "completed"


async def test_resume_refuses_a_changed_agent_unless_told_and_uses_the_latest_instance() -> None:
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    first_ran: list[str] = []
    model = FakeModel().add_tool_call("pay", {"amount": 1}).add_response("done")
    paused = await runner.run(_payer(model, first_ran), "pay")
    call = paused.pending_approvals[0].call_id
    changed = _payer(model, instructions="Pay twice.")
    with pytest.raises(UserError, match=r"another version of agent 'payer'.*allow_agent_change"):
        await runner.resume(paused.run_id, changed, approvals={call: True})
    # the same definition built again (one agent per request): accepted, and its tools run
    rebuilt_ran: list[str] = []
    # (the runner remembers the latest instance it ran under a name)
    await runner.run(_payer(FakeModel().add_response("hi").add_response("done"), rebuilt_ran), "hi")
    done = await runner.resume(paused.run_id, approvals={call: True})
    assert done.state == "completed"
    assert (first_ran, rebuilt_ran) == ([], ["pay 1"])


async def test_a_changed_agent_may_resume_when_the_caller_says_so() -> None:
    store = MemoryStore()
    model = FakeModel().add_tool_call("pay", {"amount": 1}).add_response("done")
    paused = await Runner(store=store, telemetry=None).run(_payer(model), "pay")
    call = paused.pending_approvals[0].call_id
    changed = _payer(model, instructions="Pay twice.")
    done = await Runner(store=store, telemetry=None).resume(
        paused.run_id, changed, approvals={call: True}, allow_agent_change=True
    )
    assert done.state == "completed"


# -- summaries made outside the loop are events ----------------------------------------------


def _summarizing_agent(summarizer: FakeModel, cost: float = 0.01) -> Agent:
    from tether import HistorySummarize

    model = FakeModel(cost_per_call=cost).add_tool_call("look", {}).add_response("all seen")
    agent = Agent(
        "reader",
        model=model,
        history=HistorySummarize(summarizer, trigger_tokens=5, keep_last=1),
    )

    @agent.tool
    def look() -> str:
        """Look around."""
        return "a long description of everything in the room " * 3

    return agent


async def test_a_history_summary_counts_against_max_cost_and_is_in_the_log() -> None:
    from tether import BudgetExceeded, RunConfig

    summarizer = FakeModel(cost_per_call=4.0).add_response("they looked around")
    agent = _summarizing_agent(summarizer)
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    with pytest.raises(BudgetExceeded) as info:
        await runner.run(agent, "please look around the room", run_config=RunConfig(max_cost=0.5))
    result = info.value.result
    assert result.usage.cost == pytest.approx(4.01)  # the summary's $4 is the run's
    assert result.usage.requests == 2
    assert len(agent.model.requests) == 1  # type: ignore[union-attr]  # stopped before turn 2
    log = await store.load(result.run_id)
    summaries = [e for e in log if e.type == "history_summarized"]
    assert [(e.summary, e.model, e.usage.cost) for e in summaries] == [  # type: ignore[attr-defined]
        ("[Summary of the earlier conversation]\nthey looked around", "fake", 4.0)
    ]


async def test_a_history_summary_is_served_from_the_log_on_replay() -> None:
    summarizer = FakeModel(cost_per_call=0.02).add_response("they looked around")
    store = MemoryStore()
    capture: list[object] = []

    class Keep:
        def on_event(self, event: object) -> None:
            capture.append(event)

        async def flush(self, run_id: str) -> None:
            return None

    runner = Runner(store=store, telemetry=Keep())
    done = await runner.run(_summarizing_agent(summarizer), "please look around the room")
    assert done.state == "completed" and done.usage.cost == pytest.approx(0.04)
    assert len(summarizer.requests) == 1
    # the trace shows the summary as a model call, and its cost equals the Result's
    from tether.tracing.spans import build_trace

    trace = build_trace(capture)  # type: ignore[arg-type]
    assert any(s.name == "summary fake" for _, s in trace.walk())
    assert trace.cost == pytest.approx(done.usage.cost)
    # replayed: the summarizer (which has no answer left) is not asked again
    replayed = await runner.replay(done.run_id, agent=_summarizing_agent(summarizer))
    assert replayed.output == "all seen"
    assert len(summarizer.requests) == 1


# -- instruction files -------------------------------------------------------------------------


async def test_an_instructions_file_may_hold_json_with_braces(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "prompt.md"
    path.write_text(
        'Answer as JSON, e.g. {"city": {"name": "Lisbon"}}.\n'
        "The user is {deps[user]} ({ctx.agent.name})."
    )
    model = FakeModel().add_response("ok")
    await Agent("geo", model=model, instructions=path).run("hi", deps={"user": "Ada"})
    assert model.requests[0].instructions == (
        'Answer as JSON, e.g. {"city": {"name": "Lisbon"}}.\nThe user is Ada (geo).'
    )
    path.write_text("Hello {deps[nobody]}, see {ctx.nothing}.")
    with pytest.raises(UserError, match=r"prompt\.md'?: placeholder \{deps\[nobody\]\}"):
        await Agent("geo", model=FakeModel().add_response("x"), instructions=path).run(
            "hi", deps={"user": "Ada"}
        )


# -- subagent lineage ----------------------------------------------------------------------------


def _three_levels(leaf_fails: bool = False) -> Agent:
    leaf = Agent("leaf", model=FakeModel().add_tool_call("probe", {}).add_response("probed"))

    @leaf.tool
    def probe() -> str:
        """Probe."""
        if leaf_fails:
            raise ConnectionError("probe offline")
        return "ok"

    mid_model = FakeModel().add_tool_call("leaf", {"input": "go"}).add_response("mid done")
    mid = Agent("mid", model=mid_model, tools=[leaf.as_tool()])
    top_model = FakeModel().add_tool_call("mid", {"input": "go"}).add_response("top done")
    return Agent("top", model=top_model, tools=[mid.as_tool()])


async def test_every_tool_call_at_any_depth_is_in_the_top_result_with_its_lineage() -> None:
    result = await Runner(store=None, telemetry=None).run(_three_levels(), "go")
    lineage = sorted(
        (r.tool_name, r.agent_name, r.agent_depth, r.agent_path) for r in result.tool_executions
    )
    assert lineage == [
        ("leaf", "mid", 1, "top/mid"),
        ("mid", "top", 0, "top"),
        ("probe", "leaf", 2, "top/mid/leaf"),
    ]
    assert sorted(s.agent_name for s in result.subagent_executions) == ["leaf", "mid"]


async def test_a_degraded_child_makes_the_parent_degraded() -> None:
    result = await Runner(store=None, telemetry=None).run(_three_levels(leaf_fails=True), "go")
    assert result.state == "degraded"
    assert any("subagent 'mid' was degraded" in r for r in result.degraded_reasons)


async def test_a_subagent_spends_from_what_is_left_of_the_parent_budget() -> None:
    from tether import RunConfig

    child_model = FakeModel(cost_per_call=0.2).add_response("spent")
    child = Agent("child", model=child_model)
    top_model = FakeModel(cost_per_call=0.2).add_tool_call("child", {"input": "go"})
    top_model.add_response("done")
    top = Agent("top", model=top_model, tools=[child.as_tool()])
    from tether import BudgetExceeded

    with pytest.raises(BudgetExceeded) as info:  # the parent's own next answer passes it
        await Runner(store=None, telemetry=None).run(top, "go", run_config=RunConfig(max_cost=0.3))
    result = info.value.result
    [call] = [r for r in result.tool_executions if r.tool_name == "child"]
    assert call.error is not None and "BudgetExceeded" in call.error  # 0.2 spent of 0.1 left
    assert len(child_model.requests) == 1


async def test_a_subagent_makes_only_the_tool_calls_left_of_the_parent_limit() -> None:
    from tether import RunConfig

    leaf_model = FakeModel()
    for _ in range(3):
        leaf_model.add_tool_call("probe", {})
    leaf = Agent("leaf", model=leaf_model.add_response("probed thrice"))
    probes: list[int] = []

    @leaf.tool
    def probe() -> str:
        """Probe."""
        probes.append(1)
        return "ok"

    top_model = FakeModel().add_tool_call("leaf", {"input": "go"}).add_response("top done")
    top = Agent("top", model=top_model, tools=[leaf.as_tool()])
    result = await top.run("go", run_config=RunConfig(max_tool_calls=3))
    # the top's call to the leaf is one of the three: the leaf may make two, not three
    assert len(probes) == 2
    [call] = [r for r in result.tool_executions if r.tool_name == "leaf"]
    assert call.error is not None and "max_tool_calls exceeded: 3 > 2" in call.error
    assert [r.agent_path for r in result.tool_executions if r.tool_name == "probe"] == [
        "top/leaf",
        "top/leaf",
    ]


# -- thread compaction is a recorded model call --------------------------------------------------


async def test_a_thread_compaction_is_a_run_in_the_log_in_traces_and_under_max_cost() -> None:
    from tether import BudgetExceeded, RunConfig, RunState
    from tether.tracing.spans import build_trace

    captured: list[object] = []

    class Keep:
        def on_event(self, event: object) -> None:
            captured.append(event)

        async def flush(self, run_id: str) -> None:
            return None

    store = MemoryStore()
    runner = Runner(store=store, telemetry=Keep())
    chat = FakeModel().add_response("Hello Ann").add_response("Oslo is sunny")
    await runner.run(Agent("chat", model=chat), "I am Ann", thread_id="t")
    await runner.run(Agent("chat", model=chat), "Weather in Oslo?", thread_id="t")
    before = await store.load_thread("t")
    captured.clear()

    pricey = FakeModel(cost_per_call=0.3).add_response("Ann asked about Oslo")
    with pytest.raises(BudgetExceeded) as over:
        await runner.compact_thread(
            "t", keep_last=1, model=pricey, run_config=RunConfig(max_cost=0.1)
        )
    assert await store.load_thread("t") == before  # over its budget: the thread is kept
    failed = await store.run_info(over.value.run_id)  # type: ignore[arg-type]
    assert failed is not None and failed.status == "failed"

    summarizer = FakeModel(cost_per_call=0.02).add_response("Ann asked about Oslo")
    assert await runner.compact_thread("t", keep_last=1, model=summarizer) == 3
    runs = [i for i in await store.list_runs() if i.agent == "compact_thread"]
    assert sorted(i.status for i in runs) == ["completed", "failed"]
    [done] = [i for i in runs if i.status == "completed"]
    log = await store.load(done.run_id)
    assert [e.type for e in log] == ["run_started", "history_summarized", "run_finished"]
    state = RunState(done.run_id)
    for event in log:
        state.apply(event)
    assert state.usage.cost == pytest.approx(0.02) and state.thread_id == "t"
    assert [m.text for m in state.started_event.history] == [  # type: ignore[union-attr]
        "I am Ann",
        "Hello Ann",
        "Weather in Oslo?",
    ]
    # both compactions are in the traces, each with its cost
    costs = sorted(build_trace([e for e in captured if e.run_id == r.run_id]).cost for r in runs)  # type: ignore[attr-defined]
    assert costs == [pytest.approx(0.02), pytest.approx(0.3)]


async def test_a_resumed_run_keeps_its_fail_safe_and_asks_for_its_model_again() -> None:
    from tether import FailSafeConfig, RunConfig

    own = FakeModel()  # the agent's own model: the run was started with another one
    agent = Agent("payer", model=own)

    @agent.tool(needs_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        raise ConnectionError("bank offline")

    chosen = FakeModel().add_tool_call("pay", {"amount": 1}).add_response("done")
    config = RunConfig(model=chosen, fail_safe=FailSafeConfig(tool="fail_run"))
    store = MemoryStore()
    paused = await Runner(store=store, telemetry=None).run(agent, "pay", run_config=config)
    call = paused.pending_approvals[0].call_id
    again = Runner(store=store, telemetry=None)
    with pytest.raises(UserError, match=r"model='fake'"):
        await again.resume(paused.run_id, agent, approvals={call: True})
    # the model is given again; the fail-safe comes from the log: the tool's failure fails it
    with pytest.raises(ConnectionError, match="bank offline"):
        await again.resume(
            paused.run_id, agent, approvals={call: True}, run_config=RunConfig(model=chosen)
        )
    assert own.requests == []
