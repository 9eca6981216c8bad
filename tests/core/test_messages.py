"""Provider-neutral messages: parts, JSON round trip, conversion from input items and back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tether import (
    Agent,
    Message,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    UserError,
)
from tether.messages import (
    input_to_messages,
    message_from_dict,
    message_to_dict,
    messages_to_input_list,
)
from tether.models import FakeModel

CONVERSATION = [
    Message.system("Be brief."),
    Message.user("Weather in Paris?"),
    Message(
        "assistant",
        [
            ReasoningPart("need the tool", signature="sig", provider_data={"id": "r1"}),
            TextPart("Let me check."),
            ToolCallPart("c1", "weather", '{"city": "Paris"}'),
        ],
        agent="forecaster",
    ),
    Message("tool", [ToolResultPart("c1", "weather", "18C", is_error=False)]),
    Message("tool", [ToolResultPart("c2", "weather", "boom", is_error=True)]),
    Message("assistant", [RefusalPart("I won't say.")]),
    Message.assistant("18C and sunny."),
]


def test_json_round_trip() -> None:
    dumped = json.dumps([message_to_dict(m) for m in CONVERSATION])
    loaded = [message_from_dict(d) for d in json.loads(dumped)]
    assert loaded == CONVERSATION


def test_dict_shape_is_stable() -> None:
    assert message_to_dict(CONVERSATION[2]) == {
        "role": "assistant",
        "parts": [
            {
                "text": "need the tool",
                "signature": "sig",
                "provider_data": {"id": "r1"},
                "kind": "reasoning",
            },
            {"text": "Let me check.", "kind": "text"},
            {
                "call_id": "c1",
                "name": "weather",
                "arguments": '{"city": "Paris"}',
                "kind": "tool_call",
            },
        ],
        "agent": "forecaster",
    }
    # None fields are left out
    assert message_to_dict(Message("assistant", [ReasoningPart("r")])) == {
        "role": "assistant",
        "parts": [{"text": "r", "kind": "reasoning"}],
    }


def test_unknown_part_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown message part"):
        message_from_dict({"role": "user", "parts": [{"kind": "video", "url": "x"}]})


def test_message_helpers() -> None:
    message = CONVERSATION[2]
    assert message.text == "Let me check."
    assert [c.call_id for c in message.tool_calls] == ["c1"]
    assert message.tool_calls[0].args_dict() == {"city": "Paris"}
    assert CONVERSATION[3].tool_results[0].content == "18C"
    assert ToolCallPart("x", "t", "  ").args_dict() == {}
    with pytest.raises(ValueError, match="must be a JSON object"):
        ToolCallPart("x", "t", "[1]").args_dict()


def test_string_input() -> None:
    assert input_to_messages("hi") == [Message.user("hi")]


def test_chat_completions_items() -> None:
    items = [
        {"role": "developer", "content": "Rules."},
        {"role": "user", "content": "2+2?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "mul", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "4"},
        {
            "role": "tool",
            "tool_call_id": "c2",
            "name": "mul",
            "content": [{"type": "text", "text": "4"}],
        },
        {"role": "assistant", "content": "4"},
    ]
    messages = input_to_messages(items)
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert [c.name for c in messages[2].tool_calls] == ["add", "mul"]
    # consecutive tool results merge into one tool message
    assert [(r.call_id, r.content) for r in messages[3].tool_results] == [("c1", "4"), ("c2", "4")]


def test_responses_api_items() -> None:
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"c": 1}'},
        {"type": "function_call", "call_id": "c2", "name": "weather", "arguments": '{"c": 2}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sun"},
        {"type": "function_call_output", "call_id": "c2", "output": "rain"},
    ]
    messages = input_to_messages(items)
    assert [m.role for m in messages] == ["user", "assistant", "tool"]
    assert [c.call_id for c in messages[1].tool_calls] == ["c1", "c2"]
    assert [r.content for r in messages[2].tool_results] == ["sun", "rain"]


def test_tether_message_dicts_and_messages_are_accepted() -> None:
    items = [message_to_dict(Message.user("a")), Message.assistant("b")]
    assert input_to_messages(items) == [Message.user("a"), Message.assistant("b")]


def test_input_list_round_trip() -> None:
    messages = [m for m in CONVERSATION if m.role != "system"]
    items = messages_to_input_list(messages)
    back = input_to_messages(items)
    assert [(m.role, m.text) for m in back] == [
        ("user", "Weather in Paris?"),
        ("assistant", "Let me check."),
        ("tool", ""),
        ("assistant", ""),
        ("assistant", "18C and sunny."),
    ]
    assert back[1].tool_calls == [ToolCallPart("c1", "weather", '{"city": "Paris"}')]
    assert [r.call_id for r in back[2].tool_results] == ["c1", "c2"]


def test_bad_items_name_the_index() -> None:
    with pytest.raises(UserError, match="input item 1"):
        input_to_messages([{"role": "user", "content": "ok"}, {"role": "robot", "content": "x"}])


@pytest.mark.parametrize(
    ("item", "said"),
    [
        ({"role": "tool", "content": "x"}, "'tool_call_id' must be a non-empty string"),
        ({"type": "function_call", "name": "f"}, "'call_id' must be a non-empty string"),
        ({"type": "function_call", "call_id": "c"}, "a tool call needs a 'name' string"),
        ({"type": "function_call_output", "output": "y"}, "'call_id' must be a non-empty string"),
        ({"role": "assistant", "tool_calls": [{"id": "c"}]}, "needs a 'function' object"),
        ({"role": "assistant", "tool_calls": ["c"]}, "needs a 'function' object"),
        (
            {"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]},
            "'id' must be a non-empty string",
        ),
        (
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": [1]},
            "arguments must be JSON text",
        ),
    ],
)
def test_items_missing_a_field_are_a_user_error_naming_it(item: dict[str, Any], said: str) -> None:
    # They raised KeyError (or built a call with a None id) before.
    with pytest.raises(UserError, match=f"input item 1: .*{re.escape(said)}"):
        input_to_messages([{"role": "user", "content": "hi"}, item])


def test_tool_call_arguments_given_as_an_object_become_json_text() -> None:
    [call] = input_to_messages(
        [
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {"a": 1}}}],
            }
        ]
    )[0].tool_calls
    assert call == ToolCallPart("c", "f", '{"a": 1}')


async def test_result_messages_round_trip_through_json() -> None:
    def weather(city: str) -> str:
        return "sunny"

    model = FakeModel().add_tool_call("weather", {"city": "Oslo"}).add_response("Sunny in Oslo.")
    result = await Agent("w", model=model, tools=[weather]).run("Oslo?")
    dumped = json.dumps([message_to_dict(m) for m in result.messages])
    assert [message_from_dict(d) for d in json.loads(dumped)] == result.messages
    assert result.messages[1].agent == "w"


def test_text_of_one_part_and_of_several() -> None:
    assert Message("assistant", [TextPart("only")]).text == "only"
    assert Message("assistant", [ToolCallPart("c1", "add", "{}")]).text == ""
    assert Message("assistant", []).text == ""
    parts = [TextPart("a "), ToolCallPart("c1", "add", "{}"), TextPart("b")]
    assert Message("assistant", parts).text == "a b"
