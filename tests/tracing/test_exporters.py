"""The exporters: JSONL files (the Runner default), JSON documents, the console tree; the
telemetry spec; tracing_disabled; trace_include_sensitive_data=False; no API key in any trace."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from tether import Agent, Message, ModelProviderError, Retry, RunConfig, Runner, UserError, handoff
from tether.models import FakeModel, FunctionModel
from tether.tracing.console import ConsoleExporter
from tether.tracing.files import load_trace, read_events
from tether.tracing.json import JsonExporter
from tether.tracing.jsonl import JsonlExporter
from tether.tracing.setup import exporters_from_spec
from tether.tracing.writer import trace_writer

from .conftest import Capture, calc_agent

AGENT_KEY = "sk-agent-0123456789abcdefSECRET"
ENV_KEY = "sk-env-9876543210fedcbaSECRET"


def read_all(directory: Path) -> list[str]:
    return [p.read_text() for p in sorted(directory.iterdir())]


def scripted() -> FakeModel:
    return (
        FakeModel(cost_per_call=0.001)
        .add_tool_call("add", {"a": 1, "b": 2})
        .add_response("the answer is 3")
    )


async def test_runner_default_is_jsonl_one_file_per_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_TRACE_DIR", str(tmp_path / "traces"))
    runner = Runner(store=None)
    [exporter] = runner.exporters
    assert isinstance(exporter, JsonlExporter)
    result = await runner.run(calc_agent(scripted()), "1+2?")
    await exporter.drain()
    path = tmp_path / "traces" / f"{result.trace_id}.jsonl"
    lines = await asyncio.to_thread(path.read_text)
    types = [json.loads(line)["type"] for line in lines.splitlines()]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert "text_delta" not in types  # stream deltas are not part of the durable trace
    trace = await asyncio.to_thread(load_trace, tmp_path / "traces", result.trace_id)
    assert trace.state == "completed" and trace.cost == pytest.approx(0.002)


async def test_jsonl_spills_a_long_run_while_it_goes(tmp_path: Path) -> None:
    exporter = JsonlExporter(tmp_path, live_interval=0.02)
    release = asyncio.Event()

    async def answer(messages: list, info: object) -> str:
        await release.wait()
        return "late"

    runner = Runner(store=None, telemetry=exporter)
    task = asyncio.create_task(
        runner.run(Agent("slow", model=FunctionModel(answer)), "hi", run_id="slowrun")
    )
    path = tmp_path / "slowrun.jsonl"
    for _ in range(200):
        await asyncio.sleep(0.02)
        await exporter.drain()
        if await asyncio.to_thread(path.exists):
            break
    events = await asyncio.to_thread(read_events, path)
    assert [e.type for e in events] == ["run_started", "turn_started"]  # in progress, on disk
    release.set()
    await task
    await exporter.drain()
    events = await asyncio.to_thread(read_events, path)
    assert events[-1].type == "run_finished" and len({e.seq for e in events}) == len(events)


async def test_json_exporter_writes_one_document_per_trace(tmp_path: Path) -> None:
    exporter = JsonExporter(tmp_path)
    child = Agent("helper", model=FakeModel().add_response("helped"))
    model = FakeModel().add_tool_call("helper", {"input": "x"}).add_response("done")
    result = await Runner(store=None, telemetry=exporter).run(
        Agent("boss", model=model, tools=[child.as_tool()]), "go"
    )
    await exporter.drain()
    files = sorted(await asyncio.to_thread(os.listdir, tmp_path))
    assert files == [f"{result.trace_id}.json"]
    doc = json.loads(await asyncio.to_thread((tmp_path / files[0]).read_text))
    assert doc["state"] == "completed" and len(doc["runs"]) == 2
    assert doc["spans"][0]["kind"] == "run"
    kept = JsonExporter(keep=True)
    await Runner(store=None, telemetry=kept).run(calc_agent(scripted()), "1+2?")
    [(trace_id, document)] = kept.documents.items()
    assert document["trace_id"] == trace_id and document["usage"]["requests"] == 2


async def test_console_exporter_prints_the_tree() -> None:
    out = io.StringIO()
    exporter = ConsoleExporter(Console(file=out, width=120, color_system=None))
    model = FakeModel(cost_per_call=0.001).add_tool_call("boom", {"reason": "x"})
    model.add_response("recovered")
    await Runner(store=None, telemetry=exporter).run(calc_agent(model), "go")
    text = out.getvalue()
    assert "run calc" in text and "tool boom" in text and "ValueError: boom: x" in text
    assert "$0.002000" in text and "degraded" in text


def test_telemetry_spec() -> None:
    capture = Capture()
    made = exporters_from_spec(["jsonl", "json", capture])
    assert [type(e).__name__ for e in made] == ["JsonlExporter", "JsonExporter", "Capture"]
    assert exporters_from_spec(None) == []
    with pytest.raises(UserError, match="unknown telemetry 'xml'"):
        exporters_from_spec("xml")
    with pytest.raises(UserError, match="got int"):
        exporters_from_spec([3])  # type: ignore[list-item]
    with pytest.raises(UserError, match=r"the class JsonlExporter.*JsonlExporter\(\)"):
        exporters_from_spec(JsonlExporter)  # type: ignore[arg-type]


async def test_tracing_disabled_exports_nothing_even_for_subagents() -> None:
    capture = Capture()
    child = Agent("helper", model=FakeModel().add_response("helped"))
    model = FakeModel().add_tool_call("helper", {"input": "x"}).add_response("done")
    runner = Runner(store=None, telemetry=capture)
    result = await runner.run(
        Agent("boss", model=model, tools=[child.as_tool()]),
        "go",
        run_config=RunConfig(tracing_disabled=True),
    )
    assert result.output == "done"
    assert capture.events == [] and capture.flushed == []


SENSITIVE = ("the secret prompt", "arg-value-42", "tool-result-xyz", "final words")


async def test_sensitive_data_is_kept_out_of_every_exporter(tmp_path: Path) -> None:
    agent = Agent(
        "s",
        model=FakeModel()
        .add_tool_call("echo", {"text": "arg-value-42"})
        .add_response("final words"),
    )

    @agent.tool
    def echo(text: str) -> str:
        """Echo."""
        return "tool-result-xyz"

    out = io.StringIO()
    capture = Capture()
    exporters = [
        JsonlExporter(tmp_path),
        JsonExporter(tmp_path),
        ConsoleExporter(Console(file=out, width=200)),
        capture,
    ]
    result = await Runner(store="memory://", telemetry=exporters).run(
        agent, "the secret prompt", run_config=RunConfig(trace_include_sensitive_data=False)
    )
    assert result.output == "final words"  # the run itself sees everything
    await trace_writer().drain()
    written = "".join(await asyncio.to_thread(read_all, tmp_path))
    dumped = json.dumps([e.to_dict() for e in capture.events])
    for text in (written, out.getvalue(), dumped):
        assert "[redacted]" in text or text is out.getvalue()
        for secret in SENSITIVE:
            assert secret not in text
    assert "echo" in written  # tool names, timings and usage stay
    trace = await asyncio.to_thread(load_trace, tmp_path, result.trace_id)
    assert trace.usage["requests"] == 2


NESTED = ("sub-arg-17", "sub-result-29", "candidate-SHOUT", "filtered-words")


async def test_sensitive_data_stays_out_of_subagents_retries_and_handoffs(
    tmp_path: Path,
) -> None:
    """Content a run's events carry besides its own messages and tool calls is redacted too:
    a subagent's records of its tool calls, an output a validator rejected, the transcript a
    handoff's input filter made."""
    helper = Agent(
        "helper",
        model=FakeModel().add_tool_call("look", {"q": "sub-arg-17"}).add_response("found"),
    )

    @helper.tool
    def look(q: str) -> str:
        """Look."""
        return "sub-result-29"

    target = Agent("billing", model=FakeModel().add_response("CANDIDATE-SHOUT").add_response("ok"))

    @target.output_validator
    def quiet(ctx: object, output: str) -> str:
        if output.isupper():
            raise Retry("no shouting")
        return output

    def keep_last(messages: list[Message]) -> list[Message]:
        return [Message.user("filtered-words")]

    front = Agent(
        "front",
        model=FakeModel()
        .add_tool_call("helper", {"input": "go"})
        .add_tool_call("transfer_to_billing"),
        tools=[helper.as_tool()],
        handoffs=[handoff(target, input_filter=keep_last)],
    )
    capture = Capture()
    result = await Runner(store=None, telemetry=[JsonlExporter(tmp_path), capture]).run(
        front, "hi", run_config=RunConfig(trace_include_sensitive_data=False)
    )
    assert result.output == "ok" and result.tool_executions[0].args == {"q": "sub-arg-17"}
    await trace_writer().drain()
    types = {e.type for e in capture.events}
    assert {"subagent_finished", "output_retry", "handoff_input"} <= types
    [path] = await asyncio.to_thread(lambda: list(tmp_path.glob("*.jsonl")))
    written = await asyncio.to_thread(path.read_text)
    dumped = json.dumps([e.to_dict() for e in capture.events])
    for text in (written, dumped):
        for secret in NESTED:
            assert secret.lower() not in text.lower()
    trace = await asyncio.to_thread(load_trace, tmp_path, result.trace_id)
    assert [s.name for _, s in trace.walk() if s.kind == "tool"] == ["tool look"]


def test_redacted_copies_of_answers_edits_and_summaries() -> None:
    """The events a person's answer, an edit of arguments, a deferred call or a summary make
    keep their names and ids, not their content."""
    from tether.events import (
        BreakpointHit,
        HistorySummarized,
        InputProvided,
        InputRequested,
        ToolArgsEdited,
        ToolCallDeferred,
    )
    from tether.tracing.redact import REDACTED, redact_event

    events = [
        InputRequested(run_id="r", call_id="c", tool_name="t", prompt="iban DE-private?"),
        InputProvided(run_id="r", call_id="c", value={"iban": "DE-private"}),
        ToolArgsEdited(
            run_id="r",
            call_id="c",
            tool_name="t",
            args={"x": "private-new"},
            previous={"x": "private-old"},
        ),
        ToolCallDeferred(
            run_id="r",
            call_id="c",
            tool_name="t",
            ticket="T1",
            args={"x": "private-arg"},
            message="private note",
        ),
        HistorySummarized(run_id="r", key="k", summary="the private story", model="m"),
        BreakpointHit(run_id="r", breakpoint="b", trigger="tool", args={"x": "private"}),
    ]
    for event in events:
        copy = redact_event(event)
        assert "private" not in json.dumps(copy.to_dict()), copy
        assert REDACTED in json.dumps(copy.to_dict()) and copy.type == event.type
    assert redact_event(events[3]).ticket == "T1"  # type: ignore[attr-defined]


async def test_api_keys_never_reach_any_exporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tether.tracing.otel import OtelExporter

    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)

    def provider_echoes_the_key(messages: list, info: object) -> str:
        # As providers do in auth errors: the message quotes the key it was given.
        raise ModelProviderError(
            f"invalid key {AGENT_KEY}, env had {ENV_KEY}", status=401, retryable=False
        )

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    out = io.StringIO()
    exporters = [
        JsonlExporter(tmp_path),
        JsonExporter(tmp_path),
        ConsoleExporter(Console(file=out, width=300)),
        OtelExporter(provider),
    ]
    agent = Agent("keyed", model=FunctionModel(provider_echoes_the_key), api_key=AGENT_KEY)
    with pytest.raises(ModelProviderError):
        await Runner(store=None, telemetry=exporters).run(
            agent, "hello", run_config=RunConfig(trace_metadata={"token": ENV_KEY})
        )
    await trace_writer().drain()
    outputs = await asyncio.to_thread(read_all, tmp_path)
    outputs.append(out.getvalue())
    outputs.append(json.dumps([span.to_json() for span in memory.get_finished_spans()]))
    assert len(outputs) == 4 and all("invalid key" in text for text in outputs)
    for text in outputs:
        assert AGENT_KEY not in text and ENV_KEY not in text
        assert "[secret]" in text


async def test_console_live_tree_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system=None)
    exporter = ConsoleExporter(console)
    release = asyncio.Event()

    async def answer(messages: list, info: object) -> str:
        await release.wait()
        return "done"

    task = asyncio.create_task(
        Runner(store=None, telemetry=exporter).run(
            Agent("live", model=FunctionModel(answer, name="m")), "hi"
        )
    )
    for _ in range(100):  # the Live thread redraws the running tree
        await asyncio.sleep(0.05)
        if "running" in out.getvalue() and "model m" in out.getvalue():
            break
    assert "running" in out.getvalue() and "turn 1" in out.getvalue()
    release.set()
    await task
    assert exporter._live is None  # stopped with the last running trace
    assert "completed" in out.getvalue()


async def test_runner_aclose_waits_for_trace_files(tmp_path: Path) -> None:
    runner = Runner(store=None, telemetry=JsonlExporter(tmp_path))
    result = await runner.run(calc_agent(scripted()), "1+2?")
    await runner.aclose()
    assert await asyncio.to_thread((tmp_path / f"{result.trace_id}.jsonl").is_file)


async def test_a_run_resumed_by_another_runner_joins_its_trace_file(tmp_path: Path) -> None:
    def bank(resumed: bool = False) -> Agent:
        model = FakeModel()
        if not resumed:
            model.add_tool_call("pay", {"amount": 5})
        agent = Agent("bank", model=model.add_response("paid"))

        @agent.tool(needs_approval=True)
        def pay(amount: int) -> str:
            """Pay."""
            return "ok"

        return agent

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    first = Runner(store=store, telemetry=JsonlExporter(tmp_path / "traces"))
    paused = await first.run(bank(), "pay 5", run_config=RunConfig(trace_id="checkout-42"))
    assert paused.state == "awaiting_approval"
    await first.aclose()
    # another process would have a new Runner and exporter: only the run id is known there
    second = Runner(
        store=store, telemetry=JsonlExporter(tmp_path / "traces"), agents=[bank(resumed=True)]
    )
    [pending] = paused.pending_approvals
    done = await second.resume(paused.run_id, approvals={pending.call_id: True})
    assert done.state == "completed"
    await second.aclose()
    names = sorted(await asyncio.to_thread(os.listdir, tmp_path / "traces"))
    assert names == [".runs", "checkout-42.jsonl"]
    trace = await asyncio.to_thread(load_trace, tmp_path / "traces", "checkout-42")
    assert trace.state == "completed" and trace.run_ids == [paused.run_id]


async def test_json_documents_of_a_resumed_run_do_not_overwrite(tmp_path: Path) -> None:
    def agent(resumed: bool) -> Agent:
        model = FakeModel()
        if not resumed:
            model.add_tool_call("pay", {"amount": 5})
        made = Agent("bank", model=model.add_response("paid"))

        @made.tool(needs_approval=True)
        def pay(amount: int) -> str:
            """Pay."""
            return "ok"

        return made

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    first = Runner(store=store, telemetry=JsonExporter(tmp_path / "docs"))
    paused = await first.run(agent(False), "pay", run_id="pay-1")
    await first.aclose()
    second = Runner(store=store, telemetry=JsonExporter(tmp_path / "docs"), agents=[agent(True)])
    [pending] = paused.pending_approvals
    await second.resume("pay-1", approvals={pending.call_id: True})
    await second.aclose()
    names = sorted(await asyncio.to_thread(os.listdir, tmp_path / "docs"))
    assert names[0] == "pay-1.json" and names[1].startswith("pay-1.resumed-")
    docs = [json.loads(text) for text in await asyncio.to_thread(read_all, tmp_path / "docs")]
    assert [d["state"] for d in docs] == ["awaiting_approval", "completed"]


async def test_a_key_given_as_api_key_never_reaches_a_trace_nor_the_store(
    tmp_path: Path,
) -> None:
    """A gateway's key has no provider's shape and lives in no environment variable: given as
    ``api_key=`` and quoted back by the provider's 401, it is scrubbed all the same."""
    from tests.servers import HTTPError
    from tests.servers.openai_chat import ChatCompletionsServer

    key = "gateway_plain_key_7Q2w9"
    with ChatCompletionsServer() as server:
        message = f"Incorrect API key provided: {key}"
        server.add(HTTPError(401, {"error": {"message": message, "code": "invalid_api_key"}}))
        agent = Agent(
            "gated", model="openai-chat:gpt-4o-mini", base_url=server.base_url, api_key=key
        )
        out = io.StringIO()
        store = f"sqlite:///{tmp_path / 'runs.db'}"
        runner = Runner(
            store=store,
            telemetry=[
                JsonlExporter(tmp_path / "traces"),
                JsonExporter(tmp_path / "traces"),
                ConsoleExporter(Console(file=out, width=300)),
            ],
        )
        with pytest.raises(ModelProviderError) as raised:
            await runner.run(agent, "hello", run_id="gated-run")
        assert server.requests[0].headers["authorization"] == f"Bearer {key}"  # it was sent
    await trace_writer().drain()
    assert raised.value.result is not None and key not in (raised.value.result.error or "")
    written = await asyncio.to_thread(
        lambda: [p.read_text() for p in (tmp_path / "traces").glob("*.json*")]
    )
    stored = json.dumps([e.to_dict() for e in await runner.store.load("gated-run")])
    assert len(written) == 2 and all("Incorrect API key" in text for text in written)
    for text in (*written, out.getvalue(), stored):
        assert key not in text
    assert "[secret]" in stored
