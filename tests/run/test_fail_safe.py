"""Failure policies per component (FailSafeConfig): model calls, tools, subagents, approvals."""

from __future__ import annotations

import pytest

from tether import Agent, ApprovalDenied, ModelProviderError, RunConfig, Runner, UserError
from tether.models import FakeModel
from tether.run.config import FailSafeConfig
from tether.store import MemoryStore


def _flaky_agent(model: FakeModel, failures: int, calls: list[int]) -> Agent:
    agent = Agent("flaky", model=model)

    @agent.tool
    def fetch() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError(f"attempt {len(calls)} failed")
        return "data"

    return agent


async def test_tool_retry_then_fail_recovers() -> None:
    model = FakeModel().add_tool_call("fetch", {}).add_response("got data")
    calls: list[int] = []
    config = RunConfig(fail_safe=FailSafeConfig(tool="retry_then_fail", max_retries=2))
    result = await _flaky_agent(model, 2, calls).run("go", run_config=config)
    assert (result.state, len(calls)) == ("completed", 3)
    assert result.tool_executions[0].output == "data"


async def test_tool_retry_then_fail_fails_the_run() -> None:
    model = FakeModel().add_tool_call("fetch", {}).add_response("never")
    calls: list[int] = []
    config = RunConfig(fail_safe=FailSafeConfig(tool="retry_then_fail", max_retries=1))
    with pytest.raises(ConnectionError, match="attempt 2 failed"):
        await _flaky_agent(model, 5, calls).run("go", run_config=config)
    assert len(calls) == 2


async def test_tool_retry_then_degrade_tells_the_model() -> None:
    model = FakeModel().add_tool_call("fetch", {}).add_response("worked around it")
    calls: list[int] = []
    config = RunConfig(fail_safe=FailSafeConfig(tool="retry_then_degrade", max_retries=1))
    result = await _flaky_agent(model, 5, calls).run("go", run_config=config)
    assert result.state == "degraded" and len(calls) == 2
    assert result.degraded_reasons == ["tool 'fetch' failed: ConnectionError: attempt 2 failed"]


async def test_tool_fail_run_and_skip_action() -> None:
    model = FakeModel().add_tool_call("fetch", {})
    with pytest.raises(ConnectionError):
        await _flaky_agent(model, 1, []).run(
            "go", run_config=RunConfig(fail_safe=FailSafeConfig(tool="fail_run"))
        )
    model = FakeModel().add_tool_call("fetch", {}).add_response("skipped it")
    result = await _flaky_agent(model, 1, []).run(
        "go", run_config=RunConfig(fail_safe=FailSafeConfig(tool="skip_action"))
    )
    assert result.state == "degraded"
    assert model.requests[1].messages[-1].tool_results[0].content == (
        "Tool 'fetch' was skipped after it failed (ConnectionError: attempt 1 failed); "
        "do without it."
    )


async def test_model_retry_then_fail_asks_again() -> None:
    model = FakeModel()
    model.add_error(ModelProviderError("overloaded", status=529)).add_response("second try")
    config = RunConfig(fail_safe=FailSafeConfig(model="retry_then_fail"))
    events = [ev async for ev in Agent("m", model=model).run_stream("hi", run_config=config)]
    assert events[-1].result.output == "second try"
    retries = [ev for ev in events if ev.type == "model_retry"]
    assert [(r.attempt, r.status) for r in retries] == [(1, 529)]


async def test_model_failure_degrades_with_partial_output() -> None:
    model = FakeModel().add_response("first answer is rejected")
    model.add_error(ModelProviderError("down", status=503))
    agent = Agent("m", model=model)

    @agent.output_validator
    def once_more(ctx, output: str) -> str:  # type: ignore[no-untyped-def]
        from tether import Retry

        raise Retry("again")

    config = RunConfig(fail_safe=FailSafeConfig(model="continue_with_error"))
    result = await agent.run("hi", run_config=config)
    assert result.state == "degraded"
    assert result.final_text == "first answer is rejected"
    assert result.degraded_reasons == [
        "model call failed (continue_with_error): ModelProviderError: down (HTTP 503)"
    ]


async def test_default_model_policy_fails_the_run() -> None:
    model = FakeModel().add_error(ModelProviderError("down", status=503))
    with pytest.raises(ModelProviderError):
        await Agent("m", model=model).run("hi")


async def test_approval_denied_fail_run_raises() -> None:
    model = FakeModel().add_tool_call("wire", {"amount": 9})
    agent = Agent("bank", model=model)

    @agent.tool(needs_approval=True)
    def wire(amount: int) -> str:
        return "sent"

    config = RunConfig(fail_safe=FailSafeConfig(approval_denied="fail_run"))
    handle = await agent.start("pay", run_config=config)
    async for event in handle.events:
        if event.type == "approval_requested":
            await handle.reject(event.call_id, "too much")
    result = await handle.result()
    assert result.state == "failed"
    assert result.error_type == "ApprovalDenied"
    assert ApprovalDenied("wire", "c", "too much").reason == "too much"


def test_bad_fail_safe_values() -> None:
    with pytest.raises(UserError, match=r"FailSafeConfig\.tool must be one of"):
        FailSafeConfig(tool="shrug")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="max_retries must be >= 0"):
        FailSafeConfig(max_retries=-1)


@pytest.mark.parametrize("action", ["continue_with_error", "skip_action"])
async def test_a_denial_that_the_run_goes_past_ends_it_degraded(action: str) -> None:
    model = FakeModel().add_tool_call("wire", {"amount": 9}).add_response("not sent")
    agent = Agent("bank", model=model)

    @agent.tool(needs_approval=True)
    def wire(amount: int) -> str:
        return "sent"

    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    config = RunConfig(fail_safe=FailSafeConfig(approval_denied=action))  # type: ignore[arg-type]
    paused = await runner.run(agent, "pay", run_config=config)
    call_id = paused.pending_approvals[0].call_id
    done = await Runner(store=store, telemetry=None).resume(  # the policy comes from the log
        paused.run_id, agent, approvals={call_id: "too much"}
    )
    assert (done.state, done.output) == ("degraded", "not sent")
    assert done.degraded_reasons == ["tool 'wire' was not approved: too much"]
    told = model.requests[1].messages[-1].tool_results[0].content
    expected = "Skipped" if action == "skip_action" else "The call was rejected: too much"
    assert told.startswith(expected)


@pytest.mark.parametrize(
    ("action", "attempt", "retryable", "decision"),
    [
        ("fail_run", 0, True, "fail"),
        ("retry_then_fail", 0, True, "retry"),
        ("retry_then_fail", 1, True, "retry"),
        ("retry_then_fail", 2, True, "fail"),  # max_retries=2 used up
        ("retry_then_fail", 0, False, "fail"),  # a stream that showed text, a denial
        ("retry_then_degrade", 0, True, "retry"),
        ("retry_then_degrade", 2, True, "continue"),
        ("continue_with_error", 0, True, "continue"),
        ("skip_action", 0, True, "skip"),
    ],
)
def test_fail_safe_decides_every_failure(
    action: str, attempt: int, retryable: bool, decision: str
) -> None:
    from tether.run.config import FailSafeConfig

    for component in ("model", "tool", "subagent", "approval_denied"):
        config = FailSafeConfig(**{component: action})  # type: ignore[arg-type]
        assert config.decide(component, attempt, retryable=retryable) == decision  # type: ignore[arg-type]
    assert FailSafeConfig(max_retries=0, tool="retry_then_fail").decide("tool") == "fail"
