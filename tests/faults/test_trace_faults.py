"""A trace never changes a run's outcome, and is on disk when the run returns."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tether import Agent, Runner, UserError
from tether.events import Event, ToolCallFinished, event_from_dict
from tether.models import FakeModel
from tether.store.errors import StoreError
from tether.store.sqlite import SQLiteStore
from tether.tracing._safe import export_errors
from tether.tracing.files import read_events
from tether.tracing.json import JsonExporter
from tether.tracing.jsonl import JsonlExporter
from tether.tracing.writer import event_line

SPLIT_EMOJI = "half an emoji \ud83d here"


class Broken:
    """An exporter that fails at everything it is asked."""

    def __init__(self, where: str) -> None:
        self.where = where

    def on_event(self, event: Event) -> None:
        if self.where == "on_event":
            raise RuntimeError("exporter bug near sk-live-0123456789abcdefghij")

    async def flush(self, run_id: str) -> None:
        raise OSError(28, "No space left on device")


def agent() -> Agent:
    model = FakeModel().add_tool_call("ls", {"path": "."}).add_response(f"done {SPLIT_EMOJI}")
    bot = Agent("bot", model=model)

    @bot.tool
    def ls(path: str) -> list[str]:
        """List a folder."""
        return ["caf\udce9.txt", "notes.md"]  # what os.listdir gives for a Latin-1 name

    return bot


async def test_failing_exporters_change_nothing_and_the_others_still_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jsonl = JsonlExporter(tmp_path)
    before = export_errors().get("Broken", 0)
    document = JsonExporter(tmp_path)
    runner = Runner(store=None, telemetry=[Broken("on_event"), Broken("flush"), jsonl, document])
    with caplog.at_level(logging.ERROR, logger="tether.tracing"):
        result = await runner.run(agent(), f"list it {SPLIT_EMOJI}")
    assert result.state == "completed" and result.final_text == f"done {SPLIT_EMOJI}"
    assert export_errors()["Broken"] - before >= 3  # on_event (several) and two flushes
    assert "trace exporter Broken failed" in caplog.text and "exporter bug" in caplog.text
    assert "0123456789abcdefghij" not in caplog.text  # secrets are scrubbed from the log too
    # The JSONL trace is complete and lossless, surrogates and all, without a drain.
    events = await asyncio.to_thread(read_events, tmp_path / f"{result.trace_id}.jsonl")
    assert events[0].type == "run_started" and events[-1].type == "run_finished"
    assert events[0].input[0].parts[0].text == f"list it {SPLIT_EMOJI}"
    finished = next(e for e in events if e.type == "tool_call_finished")
    assert finished.output == ["caf\udce9.txt", "notes.md"]
    # The JSON document is whole too, surrogates escaped.
    text = await asyncio.to_thread((tmp_path / f"{result.trace_id}.json").read_text)
    assert json.loads(text)["state"] == "completed" and "caf\\udce9.txt" in text


async def test_a_result_nested_too_deep_is_noted_and_the_run_goes_on(tmp_path: Path) -> None:
    model = FakeModel().add_tool_call("nest", {}).add_response("ok")
    bot = Agent("bot", model=model)

    @bot.tool
    def nest() -> list:
        """Something deeply nested."""
        return deep_list(300)

    runner = Runner(store=SQLiteStore(tmp_path / "runs.db"), telemetry=JsonlExporter(tmp_path))
    result = await runner.run(bot, "go", run_id="deep")
    assert result.state == "completed"
    assert "nested more than 200 levels deep" in result.tool_executions[0].output
    events = await asyncio.to_thread(read_events, tmp_path / f"{result.trace_id}.jsonl")
    assert events[-1].type == "run_finished"
    assert (await runner.store.run_info("deep")).status == "completed"  # type: ignore[union-attr]
    await runner.aclose()


def deep_list(depth: int) -> list:
    deep: list = []
    inner = deep
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return deep


def test_an_event_no_json_can_hold_still_makes_a_readable_line() -> None:
    event = ToolCallFinished(
        call_id="c1", tool_name="nest", args={"k": "caf\udce9"}, content="x", output=deep_list(300)
    )
    event.run_id, event.seq, event.at = "r1", 6, 1.0
    back = event_from_dict(json.loads(event_line(event)))
    assert back.output == "[unserializable list]"
    assert back.args == {"k": "caf\udce9"} and back.seq == 6


_KILLED_AFTER_RETURN = """
import os, signal, sys
from tether import Agent, Runner, UserError
from tether.models import FakeModel
from tether.store.sqlite import SQLiteStore
from tether.tracing.json import JsonExporter
from tether.tracing.jsonl import JsonlExporter
from tether.tracing.writer import event_line
runner = Runner(store=None, telemetry=JsonlExporter(sys.argv[1], live_interval=0))
for i in range(int(sys.argv[2])):
    result = runner.run_sync(Agent("bot", model=FakeModel().add_response(f"answer {i}")), "hi")
    print(result.trace_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # right after run_sync returned: no atexit, nothing
"""


@pytest.mark.allow_blocking
def test_a_sigkill_after_run_sync_returned_loses_no_trace(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_AFTER_RETURN), str(tmp_path), "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    trace_ids = done.stdout.split()
    assert len(trace_ids) == 3
    for i, trace_id in enumerate(trace_ids):
        lines = (tmp_path / f"{trace_id}.jsonl").read_text().splitlines()
        last = json.loads(lines[-1])
        assert last["type"] == "run_finished" and last["final_text"] == f"answer {i}"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@pytest.mark.allow_blocking
def test_a_corrupt_trace_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    good = '{"type": "run_started", "run_id": "r", "seq": 1, "at": 1.0, "agent": "a", "input": []}'
    path.write_text(good + '\n{"type": "run_fini\n{"type": "no_such_event", "run_id": "r"}\n')
    with pytest.raises(UserError, match=r"t.jsonl:3: not an event .*no_such_event"):
        read_events(path)


async def test_distinct_run_ids_never_share_a_trace_file(tmp_path: Path) -> None:
    runner = Runner(store=None, telemetry=JsonlExporter(tmp_path))
    long_a, long_b = "p" * 250 + "a", "p" * 250 + "b"
    ids = ["tenant/a", "tenant_a", long_a, long_b, "plain-id"]
    for run_id in ids:
        bot = Agent("bot", model=FakeModel().add_response(f"answer for {run_id[-8:]}"))
        await runner.run(bot, "hi", run_id=run_id)
    files = sorted(await asyncio.to_thread(lambda: [p.name for p in tmp_path.glob("*.jsonl")]))
    assert len(files) == 5 and "plain-id.jsonl" in files and "tenant_a.jsonl" in files
    for name in files:
        events = await asyncio.to_thread(read_events, tmp_path / name)
        assert [e.type for e in events].count("run_started") == 1
        assert len(name) < 255


async def test_a_failing_exporter_never_hides_the_stores_real_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db" / "runs.db")
    model = FakeModel().add_tool_call("wipe", {}).add_response("done")
    bot = Agent("bot", model=model)

    @bot.tool
    def wipe() -> str:
        """Delete the store's file under the running process."""
        for leftover in (tmp_path / "db").iterdir():
            leftover.unlink()
        return "wiped"

    runner = Runner(store=store, telemetry=[Broken("flush"), JsonlExporter(tmp_path / "t")])
    with pytest.raises(StoreError, match="deleted or replaced"):
        await runner.run(bot, "go", run_id="wiped")
    await store.close()
