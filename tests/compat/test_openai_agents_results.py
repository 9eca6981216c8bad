"""The OpenAI Agents SDK's RunResult and RunResultStreaming surface on the facade: the Agent as
``last_agent``, ``new_items``, ``raw_responses``, ``final_output_as``, the raw stream events of
tool calls and reasoning, and a ``cancel()`` that stops the run at once.

The shapes compared against are the SDK's documented ones (``agents.result``, ``agents.items``,
``docs/results.md``, ``docs/streaming.md`` and ``examples/basic`` of openai-agents-python).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from servers import ResponsesServer, Turn

from tests.compat._seed import printed_by, run_seed_async
from tether.compat import openai_agents as sdk
from tether.compat.openai_agents import Agent, Runner, function_tool
from tether.errors import UserError
from tether.models.base import ModelResponse
from tether.models.testing import FakeModel, FunctionModel

IMPORTS = {"from agents import": "from tether.compat.openai_agents import"}


@function_tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _triage() -> tuple[Agent, Agent]:
    """Triage hands off to Spanish, which adds with a tool and answers "hola, 3"."""
    spanish = Agent(
        name="Spanish",
        model=FakeModel().add_tool_call("add", {"a": 1, "b": 2}).add_response("hola, 3"),
        tools=[add],
    )
    triage = Agent(
        name="Triage", model=FakeModel().add_tool_call("transfer_to_spanish"), handoffs=[spanish]
    )
    return triage, spanish


SHAPE = [
    ("handoff_call_item", "Triage"),
    ("handoff_output_item", "Triage"),
    ("tool_call_item", "Spanish"),
    ("tool_call_output_item", "Spanish"),
    ("message_output_item", "Spanish"),
]


async def test_run_result_has_the_sdks_fields() -> None:
    """``result.last_agent`` is the Agent (it was its name), ``new_items`` the SDK's items with
    their classes, agents and raw items, ``raw_responses`` one per model answer; both were
    missing. The rest of tether's Result is there too."""
    from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

    triage, spanish = _triage()
    result = await Runner.run(triage, "hola!", context={"user": 7})
    assert isinstance(result, sdk.RunResult)
    assert result.last_agent is spanish and result.final_output == "hola, 3"
    assert [(i.type, i.agent.name) for i in result.new_items] == SHAPE
    call, handed, tool_call, tool_output, message = result.new_items
    assert isinstance(call, sdk.HandoffCallItem) and isinstance(handed, sdk.HandoffOutputItem)
    assert isinstance(tool_call, sdk.ToolCallItem)
    assert isinstance(tool_output, sdk.ToolCallOutputItem)
    assert isinstance(message, sdk.MessageOutputItem) and isinstance(message, sdk.RunItem)
    assert (handed.source_agent, handed.target_agent) == (triage, spanish)
    assert json.loads(handed.raw_item["output"]) == {"assistant": "Spanish"}
    assert isinstance(tool_call.raw_item, ResponseFunctionToolCall)
    assert json.loads(tool_call.raw_item.arguments) == {"a": 1, "b": 2}
    assert tool_output.output == 3 and tool_output.raw_item["output"] == "3"
    assert tool_output.raw_item["call_id"] == tool_call.raw_item.call_id
    assert isinstance(message.raw_item, ResponseOutputMessage)
    assert sdk.ItemHelpers.text_message_outputs(result.new_items) == "hola, 3"
    assert message.to_input_item()["content"][0]["text"] == "hola, 3"
    assert len(result.raw_responses) == 3  # Triage's call, Spanish's call, Spanish's answer
    assert [r.output[0].type for r in result.raw_responses] == [
        "function_call",
        "function_call",
        "message",
    ]
    assert result.input == "hola!" and result.context_wrapper.context == {"user": 7}
    assert result.to_input_list()[0] == {"role": "user", "content": "hola!"}
    assert result.usage.requests == 3 and result.state == "completed"  # tether's Result
    assert result.result.last_agent == "Spanish" and str(result) == "hola, 3"


def test_final_output_as() -> None:
    """The SDK's ``final_output_as(cls, raise_if_incorrect_type=False)``: a cast, checked when
    asked (a TypeError for another type, a UserError for a generic type)."""
    typed = Agent(name="T", model=FakeModel().add_output(7), output_type=int)
    result = Runner.run_sync(typed, "seven")
    assert result.final_output_as(int) == 7
    assert result.final_output_as(int, raise_if_incorrect_type=True) == 7
    assert result.final_output_as(str) == 7  # unchecked: only for the type checker
    with pytest.raises(TypeError, match="not of type str"):
        result.final_output_as(str, raise_if_incorrect_type=True)
    with pytest.raises(UserError, match="generic"):
        result.final_output_as(list[int], raise_if_incorrect_type=True)


# The SDK's results guide (docs/results.md) hands the next turn to ``result.last_agent``; with
# its name in there (the facade's old last_agent) the second run could not find the agent.
async def test_the_next_turn_goes_to_the_last_agent() -> None:
    triage, spanish = _triage()
    spanish.model.add_response("adiós")  # type: ignore[union-attr]
    result = await Runner.run(triage, "hola!")
    new_input = [*result.to_input_list(), {"role": "user", "content": "bye"}]
    second = await Runner.run(result.last_agent, new_input)
    assert second.final_output == "adiós" and second.last_agent is spanish
    assert second.input == new_input


async def test_a_streamed_run_has_the_same_items_and_responses() -> None:
    """``new_items`` grows as the stream goes (the SDK's), the same items as a plain run;
    ``raw_responses`` carry each answer's usage; ``last_agent`` and ``final_output_as`` too."""
    triage, spanish = _triage()
    result = Runner.run_streamed(triage, "hola!")
    seen = []
    async for event in result.stream_events():
        if event.type == "run_item_stream_event":
            assert result.new_items[-1] is event.item
            seen.append(event.item)
    assert [(i.type, i.agent.name) for i in result.new_items] == SHAPE
    assert result.new_items == seen
    assert result.last_agent is spanish and result.final_output_as(str) == "hola, 3"
    assert len(result.raw_responses) == 3
    assert all(r.usage.requests == 1 for r in result.raw_responses)
    assert result.input == "hola!"


async def test_reasoning_is_a_reasoning_item(openai_env: ResponsesServer) -> None:
    """The SDK's reasoning example (examples/basic/reasoning.py) reads the model's reasoning
    from ``result.new_items`` as a ``reasoning_item``; a streamed run also streams it as
    ``response.reasoning_summary_text.delta`` and a ``reasoning_item_created`` event. The
    facade had neither (the deltas were tether's events)."""
    from openai.types.responses import ResponseReasoningSummaryTextDeltaEvent

    openai_env.add(Turn(text="3", reasoning="Count the r's: three."))
    agent = Agent(name="Agent")
    result = await Runner.run(agent, "How many r are in strawberry?")
    thoughts = [
        summary.text
        for item in result.new_items
        if item.type == "reasoning_item"
        for key, value in item.raw_item
        if key == "summary"
        for summary in value
    ]
    assert thoughts == ["Count the r's: three."] and result.final_output == "3"

    openai_env.add(Turn(text="3", reasoning="Count the r's: three."))
    streamed = Runner.run_streamed(agent, "How many r are in strawberry?")
    deltas, names = "", []
    async for event in streamed.stream_events():
        if event.type == "raw_response_event":
            if isinstance(event.data, ResponseReasoningSummaryTextDeltaEvent):
                assert event.data.type == "response.reasoning_summary_text.delta"
                deltas += event.data.delta
        elif event.type == "run_item_stream_event":
            names.append(event.name)
    assert deltas == "Count the r's: three."
    assert names == ["reasoning_item_created", "message_output_created"]
    assert streamed.new_items[0].raw_item.summary[0].text == "Count the r's: three."


# The SDK's example of streamed tool-call arguments (examples/basic/stream_function_call_args.py,
# its first demo), as written but for the model: the facade's default (the Responses API) is the
# loopback server, where the example builds an OpenAIChatCompletionsModel for its own server.
STREAM_FUNCTION_CALL_ARGS = """
from openai.types.responses import ResponseFunctionCallArgumentsDeltaEvent

from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled

async def demo_single_function_call():
    @function_tool
    def write_file(filename: str, content: str) -> str:
        \"\"\"Write content to a file.\"\"\"
        print(f"⚡ write_file: {filename}, {content}")
        return f"File {filename} written successfully"

    agent = Agent(
        name="CodeGenerator",
        instructions=\"\"\"You are a helpful coding assistant. When asked to create files,
        use the write_file tool with appropriate filenames and content.\"\"\",
        model=OpenAIChatCompletionsModel(model=MODEL_NAME, openai_client=client),
        tools=[write_file],
    )

    result = Runner.run_streamed(
        agent,
        input="Create a Python script that prints 'Hello, World!' and saves it as hello.py"
    )

    function_name = None
    current_arguments = ""

    async for event in result.stream_events():
        if event.type == "raw_response_event":
            # Function call started
            if event.data.type == "response.output_item.added":
                if getattr(event.data.item, "type", None) == "function_call":
                    function_name = getattr(event.data.item, "name", "unknown")
                    print(f"📞 Function call streaming started: {function_name}()")
                    print("📝 Arguments building...")

            # Real-time argument streaming
            elif isinstance(event.data, ResponseFunctionCallArgumentsDeltaEvent):
                current_arguments += event.data.delta
                print(f"   + {event.data.delta}", end="", flush=True)

            # Function call completed
            elif event.data.type == "response.output_item.done":
                if hasattr(event.data.item, 'name'):
                    print(f"\\n✅ Function call streaming completed: {function_name}")
                    print(f"🔧 Final arguments: {current_arguments}")
                    print()

    print(f"🎉 Result: {result.final_output}\\n")
"""


async def test_the_sdks_function_call_arguments_streaming_example(
    openai_env: ResponsesServer,
) -> None:
    """Tool calls stream as the SDK's raw events: ``response.output_item.added`` (its item the
    ``ResponseFunctionToolCall``), ``response.function_call_arguments.delta`` per piece, and
    ``response.output_item.done``. They streamed as tether's ``tool_call_delta`` events."""
    arguments = {"filename": "hello.py", "content": "print('Hello, World!')"}
    openai_env.add_tool_calls(("write_file", arguments)).add_text("Saved hello.py.")
    changes = {
        "from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, "
        "set_tracing_disabled": "from tether.compat.openai_agents import Agent, Runner, "
        "function_tool",
        "model=OpenAIChatCompletionsModel(model=MODEL_NAME, openai_client=client),": "",
    }
    ns: dict[str, Any] = {}
    await run_seed_async(STREAM_FUNCTION_CALL_ARGS, changes, ns)
    lines = (await printed_by(ns["demo_single_function_call"])).splitlines()
    text = json.dumps(arguments)
    assert lines[:2] == [
        "📞 Function call streaming started: write_file()",
        "📝 Arguments building...",
    ]
    assert lines[2].count("   + ") == 3 and lines[2].replace("   + ", "") == text
    assert lines[3:6] == [
        "✅ Function call streaming completed: write_file",
        f"🔧 Final arguments: {text}",
        "",
    ]
    assert lines[6] == "⚡ write_file: hello.py, print('Hello, World!')"
    assert lines[7:] == ["🎉 Result: Saved hello.py.", ""]


async def _consume(result: Any, names: list[str]) -> None:
    async for event in result.stream_events():
        names.append(getattr(event, "name", event.type))


def _run_ends(folder: Path) -> list[str]:
    lines = [
        json.loads(line) for f in folder.glob("*.jsonl") for line in f.read_text().splitlines()
    ]
    return [line["state"] for line in lines if line["type"] == "run_finished"]


async def test_cancel_stops_a_tool_in_flight_at_once() -> None:
    """``result.cancel()`` from another task while a tool runs: the tool is cancelled, the
    stream ends at once, the run ends cancelled. It took effect only at the next event (here:
    never, as the tool waits for ever)."""
    started, stopped = asyncio.Event(), []

    @function_tool
    async def wait_forever() -> str:
        """Wait."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append("cancelled")
            raise
        return "never"

    exporter = sdk._runner().exporters[0]
    await exporter.drain()
    before = _run_ends(exporter.path)
    model = FakeModel().add_tool_call("wait_forever").add_response("done")
    result = Runner.run_streamed(Agent(name="A", model=model, tools=[wait_forever]), "go")
    names: list[str] = []
    consumer = asyncio.create_task(_consume(result, names))
    await started.wait()
    result.cancel()
    await asyncio.wait_for(consumer, 30)  # a guard: without the fix the stream never ends
    assert stopped == ["cancelled"] and names[-1] == "tool_called"
    assert result.is_complete and result.final_output is None and len(model.requests) == 1
    assert not consumer.cancelled() and consumer.exception() is None
    await exporter.drain()  # the run's end, in its trace
    assert _run_ends(exporter.path).count("cancelled") == before.count("cancelled") + 1


async def test_cancel_stops_a_model_call_in_flight() -> None:
    """The same while the model is being asked."""
    asked, stopped = asyncio.Event(), []

    async def slow(messages: Any, info: Any) -> ModelResponse:
        asked.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append("cancelled")
            raise
        return FunctionModel.text("never")

    result = Runner.run_streamed(Agent(name="A", model=FunctionModel(slow)), "go")
    names: list[str] = []
    consumer = asyncio.create_task(_consume(result, names))
    await asyncio.wait_for(asked.wait(), 30)
    result.cancel()
    await asyncio.wait_for(consumer, 30)
    assert stopped == ["cancelled"] and names == ["agent_updated_stream_event"]
    assert result.is_complete and result.final_output is None


async def test_a_cancel_of_someone_else_still_cancels_the_consumer() -> None:
    """Only the facade's own cancellation is absorbed: a cancel of the consumer's task by its
    owner goes on as a CancelledError."""
    started = asyncio.Event()

    @function_tool
    async def wait_forever() -> str:
        """Wait."""
        started.set()
        await asyncio.Event().wait()
        return "never"

    model = FakeModel().add_tool_call("wait_forever")
    result = Runner.run_streamed(Agent(name="A", model=model, tools=[wait_forever]), "go")
    consumer = asyncio.create_task(_consume(result, []))
    await started.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert result.is_complete


async def test_cancel_after_turn_lets_the_turn_finish() -> None:
    """The SDK's ``cancel(mode="after_turn")``: the turn under way finishes (its tool runs and
    its output streams), the next one does not start (the model is not asked again)."""
    ran: list[int] = []

    @function_tool
    def count(n: int) -> int:
        """Count."""
        ran.append(n)
        return n

    model = FakeModel().add_tool_call("count", {"n": 1}).add_response("done")
    result = Runner.run_streamed(Agent(name="A", model=model, tools=[count]), "go")
    names = []
    async for event in result.stream_events():
        names.append(getattr(event, "name", event.type))
        if names[-1] == "tool_called":
            result.cancel(mode="after_turn")
    assert ran == [1] and names[-1] == "tool_output" and len(model.requests) == 1
    assert result.is_complete and result.final_output is None
    # the SDK's to_input_list() of the run stopped early: the input and the items streamed,
    # which a next run continues from (it had no to_input_list before the run completed)
    history = result.to_input_list()
    assert [item.get("type", item.get("role")) for item in history] == [
        "user",
        "function_call",
        "function_call_output",
    ]
    again = await Runner.run(result.last_agent, [*history, {"role": "user", "content": "and?"}])
    assert again.final_output == "done"  # the answer the cancelled run did not ask for
    assert [m.role for m in model.requests[-1].messages] == ["user", "assistant", "tool", "user"]
    with pytest.raises(UserError, match="mode"):
        result.cancel(mode="later")  # type: ignore[arg-type]
