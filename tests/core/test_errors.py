"""The error hierarchy: every error is a TetherError and carries the fields DESIGN.md names."""

from __future__ import annotations

from typing import Any

import pytest

import tether
from tether import (
    Agent,
    AgentsException,
    ApprovalDenied,
    BudgetExceeded,
    CircuitOpen,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    ModelProviderError,
    OutputGuardrailTripwireTriggered,
    ReplayDivergence,
    Retry,
    RunCancelled,
    RunInterrupted,
    TetherError,
    ToolTimeout,
    UserError,
)
from tether.models import FakeModel

ALL_ERRORS = [
    UserError("x"),
    ModelBehaviorError("x"),
    MaxTurnsExceeded(11, 10),
    BudgetExceeded(1.5, 1.0),
    ToolTimeout("slow", 2.0),
    ApprovalDenied("rm", "c1", "too risky"),
    InputGuardrailTripwireTriggered("no_pii", {"found": "email"}),
    OutputGuardrailTripwireTriggered("no_secrets", None),
    ModelProviderError("bad gateway", status=502, body={"error": "x"}),
    CircuitOpen("openai:gpt", 3.0),
    RunCancelled("cancelled"),
    RunInterrupted("interrupted"),
    ReplayDivergence(2, "- a\n+ b"),
]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_is_a_tether_error(error: TetherError) -> None:
    assert isinstance(error, TetherError)
    assert isinstance(error, AgentsException)
    assert error.run_id is None and error.result is None  # set when a run raises it
    assert str(error)


def test_retry_is_a_signal_not_an_error() -> None:
    assert not issubclass(Retry, TetherError)
    assert Retry("hint").message == "hint"


def test_one_retry_signal_under_every_try_again() -> None:
    from tether.output import OutputValidationError
    from tether.tools import ToolArgumentsError

    for signal in (ToolArgumentsError("bad args"), OutputValidationError("bad output")):
        assert isinstance(signal, Retry)
        assert not isinstance(signal, TetherError)
        assert signal.message == str(signal)


async def test_a_tool_arguments_error_raised_by_a_tool_is_a_retry_for_the_model() -> None:
    from tether import Agent
    from tether.models import FakeModel
    from tether.tools import ToolArgumentsError

    model = FakeModel().add_tool_call("pick", {"n": 1}).add_response("done")
    agent = Agent("picker", model=model)

    @agent.tool
    def pick(n: int) -> str:
        """Pick."""
        raise ToolArgumentsError("n must be even")

    result = await agent.run("pick one")
    assert result.output == "done"
    record = result.tool_executions[0]
    assert record.error == "n must be even"
    assert model.requests[1].messages[-1].parts[0].content == "n must be even"


def test_fields_and_messages() -> None:
    turns = MaxTurnsExceeded(11, 10)
    assert (turns.turn, turns.limit) == (11, 10)
    budget = BudgetExceeded(1.5, 1.0)
    assert (budget.spent, budget.limit) == (1.5, 1.0)
    assert str(budget) == "budget exceeded: spent $1.500000 > limit $1.000000"
    timeout = ToolTimeout("slow", 2.0)
    assert (timeout.tool_name, timeout.timeout) == ("slow", 2.0)
    assert str(timeout) == "tool 'slow' timed out after 2s"
    denied = ApprovalDenied("rm", "c1", "too risky")
    assert (denied.tool_name, denied.call_id, denied.reason) == ("rm", "c1", "too risky")
    assert "no reason" in str(ApprovalDenied("rm", "c1"))
    tripped = InputGuardrailTripwireTriggered("no_pii", {"found": "email"})
    assert (tripped.guardrail, tripped.info) == ("no_pii", {"found": "email"})
    out = OutputGuardrailTripwireTriggered("no_secrets", 1)
    assert (out.guardrail, out.info) == ("no_secrets", 1)
    replay = ReplayDivergence(2, "diff")
    assert (replay.turn, replay.diff) == (2, "diff")


def test_provider_error_status_body_and_retryable() -> None:
    error = ModelProviderError("bad gateway", status=502, body={"error": "x"})
    assert (error.status, error.body, error.retryable) == (502, {"error": "x"}, True)
    assert str(error) == "bad gateway (HTTP 502)"
    assert ModelProviderError("bad request", status=400).retryable is False
    assert ModelProviderError("rate limited", status=429, retry_after=2.0).retry_after == 2.0
    assert ModelProviderError("connection reset").retryable is True  # no status: network
    assert ModelProviderError("x", status=500, retryable=False).retryable is False
    circuit = CircuitOpen("openai:gpt", 3.0)
    assert isinstance(circuit, ModelProviderError)
    assert (circuit.endpoint, circuit.retry_in, circuit.retryable) == ("openai:gpt", 3.0, False)


def test_errors_are_exported_from_tether() -> None:
    for error in ALL_ERRORS:
        assert getattr(tether, type(error).__name__) is type(error)


async def test_model_error_fails_the_run_and_is_raised_with_the_result() -> None:
    model = FakeModel().add_error(ModelProviderError("overloaded", status=529))
    with pytest.raises(ModelProviderError) as info:
        await Agent("a", model=model).run("go")
    assert info.value.status == 529
    assert info.value.result.state == "failed"
    assert info.value.result.error == "overloaded (HTTP 529)"
    assert info.value.result.error_type == "ModelProviderError"


async def test_non_tether_errors_from_a_model_propagate_unchanged() -> None:
    model = FakeModel().add_error(ZeroDivisionError("oops"))
    with pytest.raises(ZeroDivisionError, match="oops"):
        await Agent("a", model=model).run("go")


def test_your_own_exception_that_fails_a_run_carries_its_result() -> None:
    # An output validator raising something other than Retry ends the run failed; run()
    # raises that exception, with the Result attached as a TetherError would have it.
    agent = Agent("a", model=FakeModel().add_response("draft"))

    @agent.output_validator
    def check(ctx: Any, output: str) -> str:
        raise KeyError("no such section")

    with pytest.raises(KeyError) as caught:
        agent.run_sync("write")
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.state == "failed" and result.error_type == "KeyError"
    assert caught.value.run_id == result.run_id  # type: ignore[attr-defined]
