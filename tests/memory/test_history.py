"""History policies: property-based tests (hypothesis) of what no policy may ever do, and runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether import Agent, Message, TextPart, ToolCallPart, ToolResultPart, UserError
from tether.context import Context
from tether.memory import HistorySlidingWindow, HistorySummarize, HistoryTokenBudget
from tether.memory._units import SUMMARY_PREFIX, estimate_tokens, split_units
from tether.models import FakeModel, FunctionModel
from tether.usage import Usage

AGENT = Agent("bot", model=FakeModel())


def new_ctx() -> Context[Any]:
    return Context(deps=None, run_id="r", agent=AGENT, usage=Usage(), messages=[])


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    """Conversations as the loop builds them: text turns, tool turns (calls then results, the
    results sometimes split over several tool messages), the odd system message."""
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message.system("be kind"))
    messages.append(Message.user("task " + "x" * draw(st.integers(0, 60))))
    counter = 0
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["user", "text", "tools", "system"]))
        size = draw(st.integers(0, 80))
        if kind == "user":
            messages.append(Message.user("u" * size))
        elif kind == "text":
            messages.append(Message.assistant("a" * size))
        elif kind == "system":
            messages.append(Message.system("s" * size))
        else:
            n = draw(st.integers(1, 3))
            calls = []
            for _ in range(n):
                counter += 1
                calls.append(ToolCallPart(f"c{counter}", "f", '{"x": "' + "y" * size + '"}'))
            lead = [TextPart("thinking")] if draw(st.booleans()) else []
            messages.append(Message("assistant", [*lead, *calls]))
            results = [ToolResultPart(c.call_id, "f", "r" * size) for c in calls]
            if draw(st.booleans()):
                messages.append(Message("tool", results))
            else:
                messages.extend(Message("tool", [r]) for r in results)
    return messages


def check_invariants(before: list[Message], after: list[Message]) -> None:
    """What every policy guarantees."""
    calls = {p.call_id for m in after for p in m.parts if isinstance(p, ToolCallPart)}
    results = {p.call_id for m in after for p in m.parts if isinstance(p, ToolResultPart)}
    assert calls == results, "a tool call was split from its result"
    systems = [m for m in before if m.role == "system"]
    assert [m for m in after if m.role == "system"] == systems, "a system message was dropped"
    assert after[-1] is before[-1], "the newest message must be sent"
    # a tool message never comes first after the system messages, nor after a non-call message
    for i, m in enumerate(after):
        if m.role == "tool":
            assert i > 0 and (after[i - 1].role == "tool" or after[i - 1].tool_calls)


def is_subsequence(small: list[Message], big: list[Message]) -> bool:
    it = iter(big)
    return all(any(x is y for y in it) for x in small)


def apply(policy: Any, messages: list[Message], ctx: Context[Any] | None = None) -> list[Message]:
    return asyncio.run(policy.apply(list(messages), ctx or new_ctx()))


@settings(max_examples=150, deadline=None)
@given(conversations(), st.integers(1, 12), st.booleans())
def test_sliding_window_properties(messages: list[Message], size: int, pin: bool) -> None:
    after = apply(HistorySlidingWindow(size, keep_first_user=pin), messages)
    check_invariants(messages, after)
    assert is_subsequence(after, messages)
    if len(messages) <= size:
        assert after == messages
    elif pin:
        first_user = next(m for m in messages if m.role == "user")
        assert any(m is first_user for m in after)
    # within the limit, unless the newest unit (or what is always kept) is larger on its own
    kept_always = sum(m.role == "system" for m in messages) + (2 if pin else 0)
    last_unit = 1 + sum(1 for m in reversed(messages) if m.role == "tool")
    assert len(after) <= max(size, kept_always + last_unit + 3)
    # the window is a contiguous tail once the always-kept messages are set aside
    tail = [
        m
        for m in after
        if m.role != "system" and not (pin and m is messages[_first_user(messages)])
    ]
    if tail:
        start = next(i for i, m in enumerate(messages) if m is tail[0])
        rest = [m for m in messages[start:] if m.role != "system"]
        rest = [m for m in rest if not (pin and m is messages[_first_user(messages)])]
        assert [id(m) for m in rest] == [id(m) for m in tail]


def _first_user(messages: list[Message]) -> int:
    return next(i for i, m in enumerate(messages) if m.role == "user")


@settings(max_examples=150, deadline=None)
@given(conversations(), st.integers(1, 400))
def test_token_budget_properties(messages: list[Message], budget: int) -> None:
    after = apply(HistoryTokenBudget(budget), messages)
    check_invariants(messages, after)
    assert is_subsequence(after, messages)
    total = sum(estimate_tokens(m) for m in messages)
    if total <= budget:
        assert after == messages
    else:
        # within budget, unless only what is always sent is left: the system messages, the
        # task, and the newest unit
        kept = sum(estimate_tokens(m) for m in after)
        task = messages[_first_user(messages)]
        minimal = [m for m in messages if m.role == "system" or m is task]
        others = [u for u in split_units(messages) if not any(u[0] is x for x in minimal)]
        minimal += others[-1] if others else []
        assert kept <= budget or {id(m) for m in after} == {id(m) for m in minimal}


def summarizer() -> tuple[FunctionModel, list[str]]:
    seen: list[str] = []

    def write(messages: list[Message], info: Any) -> str:
        seen.append(messages[0].text)
        return f"summary #{len(seen)}"

    return FunctionModel(write), seen


@settings(max_examples=100, deadline=None)
@given(conversations(), st.integers(20, 300), st.integers(1, 6))
def test_summarize_properties(messages: list[Message], trigger: int, keep_last: int) -> None:
    model, seen = summarizer()
    after = apply(HistorySummarize(model, trigger, keep_last=keep_last), messages)
    summaries = [m for m in after if m.text.startswith(SUMMARY_PREFIX)]
    if sum(estimate_tokens(m) for m in messages) <= trigger:
        assert after == messages and seen == []
        return
    check_invariants(messages, after)
    assert len(summaries) <= 1
    if summaries:
        assert len(seen) == 1
        # system messages, then the summary, then an untouched tail of the conversation
        position = after.index(summaries[0])
        assert all(m.role == "system" for m in after[:position])
        tail = after[position + 1 :]
        start = len(messages) - len(tail)
        assert all(a is b for a, b in zip(tail, messages[start:], strict=True))
        non_system_tail = [m for m in tail if m.role != "system"]
        assert len(non_system_tail) >= min(keep_last, len(non_system_tail))


def long_conversation(turns: int) -> list[Message]:
    messages = [Message.system("rules"), Message.user("start")]
    for i in range(turns):
        messages.append(Message("assistant", [ToolCallPart(f"c{i}", "f", "{}")]))
        messages.append(Message("tool", [ToolResultPart(f"c{i}", "f", "result " * 20)]))
    return messages


def test_summaries_are_reused_and_extended_not_redone() -> None:
    model, seen = summarizer()
    policy = HistorySummarize(model, trigger_tokens=200, keep_last=2)
    ctx = new_ctx()
    messages = long_conversation(8)
    first = apply(policy, messages, ctx)
    assert len(seen) == 1 and first[1].text == SUMMARY_PREFIX + "summary #1"
    assert first[0].text == "rules" and len(first) == 4
    # one more unit: still under the trigger with the summary, so no new call
    messages += long_conversation(9)[-2:]
    again = apply(policy, messages, ctx)
    assert len(seen) == 1 and again[1].text == SUMMARY_PREFIX + "summary #1"
    # keep growing: the next summary folds the previous one with what aged out
    for turn in range(10, 16):
        messages += long_conversation(turn)[-2:]
        apply(policy, messages, ctx)
    assert len(seen) >= 2
    assert "summary #1" in seen[1]


def test_policies_reject_bad_settings() -> None:
    with pytest.raises(UserError, match="max_messages must be a positive integer"):
        HistorySlidingWindow(0)
    with pytest.raises(UserError, match="max_tokens must be a positive integer"):
        HistoryTokenBudget(-5)
    with pytest.raises(UserError, match="trigger_tokens must be a positive integer"):
        HistorySummarize(FakeModel(), 0)
    with pytest.raises(UserError, match="keep_last must be a positive integer"):
        HistorySummarize(FakeModel(), 10, keep_last=0)
    assert repr(HistorySlidingWindow(3)) == "HistorySlidingWindow(max_messages=3)"


async def test_an_empty_summary_is_an_error() -> None:
    policy = HistorySummarize(FunctionModel(lambda m, i: "  "), trigger_tokens=10, keep_last=1)
    with pytest.raises(UserError, match="empty summary"):
        await policy.apply(long_conversation(5), new_ctx())


async def test_the_model_is_sent_the_window_and_the_run_keeps_everything() -> None:
    model = FakeModel()
    for _ in range(5):
        model.add_tool_call("ping")
    model.add_response("done")
    agent = Agent("bot", model=model, history=HistorySlidingWindow(4), instructions="be brief")

    @agent.tool
    def ping() -> str:
        """Ping."""
        return "pong"

    result = await agent.run("go")
    assert len(result.messages) == 12
    sent = [len(r.messages) for r in model.requests]
    assert sent == [1, 3, 3, 3, 3, 3]  # the task, then the newest whole units that fit
    assert all(r.messages[0].text == "go" for r in model.requests)
    assert all(r.instructions == "be brief" for r in model.requests)


async def test_summarize_in_a_run_with_a_model_name() -> None:
    agent = Agent(
        "bot",
        model=FakeModel().add_response("fine"),
        history=HistorySummarize("test", trigger_tokens=30, keep_last=1),
    )
    result = await agent.run(
        [
            {"role": "user", "content": "a" * 400},
            {"role": "assistant", "content": "b" * 400},
            {"role": "user", "content": "and now?"},
        ]
    )
    assert result.output == "fine"


def test_an_agent_refuses_a_history_that_is_not_a_policy() -> None:
    with pytest.raises(UserError, match="is not a history policy"):
        Agent("bot", history=20)
    with pytest.raises(UserError, match="HistorySlidingWindow"):
        Agent("bot", history=lambda messages: messages)
