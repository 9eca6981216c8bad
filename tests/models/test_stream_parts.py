"""The stream accumulator the three providers share: keys in, tether deltas and parts out."""

from __future__ import annotations

from tether.messages import ReasoningPart, RefusalPart, TextPart, ToolCallPart
from tether.models._stream import StreamParts, stream_cut_short, stream_error
from tether.models.base import ReasoningDelta, TextDelta, ToolCallDelta


def test_parts_in_first_appearance_order_with_tool_calls_numbered() -> None:
    acc = StreamParts()
    assert acc.reasoning("r", "hm") == ReasoningDelta("hm")
    assert acc.text(7, "Hel") == TextDelta("Hel")
    assert acc.tool_call(("call", 3), call_id="c1", name="get_") == ToolCallDelta(0, "c1", "get_")
    assert acc.tool_call(("call", 3), name="weather", arguments='{"a"') == ToolCallDelta(
        0, arguments='{"a"'
    )
    assert acc.tool_call(("call", 3), arguments="") is None  # nothing new to report
    assert acc.tool_call(("call", 9), call_id="c2", name="b", arguments="{}") == ToolCallDelta(
        1, "c2", "b", "{}"
    )
    acc.text(7, "lo")
    acc.tool_call(("call", 3), arguments=": 1}")
    acc.refusal("x", "no")
    acc.signature("r", "sig")
    assert acc.call_index(("call", 9)) == 1 and acc.call_index(7) is None
    assert acc.parts() == [
        ReasoningPart("hm", signature="sig"),
        TextPart("Hello"),
        ToolCallPart("c1", "get_weather", '{"a": 1}'),
        ToolCallPart("c2", "b", "{}"),
        RefusalPart("no"),
    ]
    assert [p.kind for p in acc.parts(("refusal", "tool_call"))] == [
        "refusal",
        "tool_call",
        "tool_call",
        "reasoning",
        "text",
    ]


def test_empty_arguments_and_opaque_reasoning() -> None:
    acc = StreamParts(empty_arguments="{}")
    acc.tool_call(0, call_id="t", name="ping")
    acc.opaque_reasoning(1, {"type": "redacted_thinking", "data": "x"})
    assert acc.parts() == [
        ToolCallPart("t", "ping", "{}"),
        ReasoningPart("", provider_data={"type": "redacted_thinking", "data": "x"}),
    ]


def test_stream_errors_are_retryable_and_say_where() -> None:
    cut = stream_cut_short("openai-chat:m")
    assert cut.retryable and "openai-chat:m: the stream ended" in str(cut)
    error = stream_error("anthropic:m", "overloaded", {"type": "error"})
    assert error.retryable and error.body == {"type": "error"} and "overloaded" in str(error)
