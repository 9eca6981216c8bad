"""``tether trace ls`` on big folders: it reads only what the listing needs, and keeps an index
of summaries (``.ls-index.json``) that is never trusted for a file that changed."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tether import Agent, Runner
from tether.cli import main
from tether.cli._trace_list import INDEX_NAME, list_summaries
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter

#: When the synthetic traces start (a fixed past moment; each file is written 0.5 s after).
_T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """The events of one real recorded run (a tool call and an answer)."""
    directory = tmp_path_factory.mktemp("template")
    agent = Agent("calc", model=FakeModel())

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    async def record() -> None:
        exporter = JsonlExporter(directory)
        runner = Runner(store=None, telemetry=exporter)
        model = agent.model
        assert isinstance(model, FakeModel)
        model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
        await runner.run(agent, "1+2?", run_id="template")
        await exporter.drain()

    asyncio.run(record())
    text = (directory / "template.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _write(
    directory: Path,
    events: list[dict[str, object]],
    name: str,
    started: float,
    written: float,
    agent: str = "calc",
) -> Path:
    """A copy of the template as trace ``name``, started at ``started``, written at ``written``."""
    directory.mkdir(parents=True, exist_ok=True)
    first = float(events[0]["at"])  # type: ignore[arg-type]
    lines = []
    for event in events:
        moved = {**event, "run_id": name, "at": started + float(event["at"]) - first}  # type: ignore[arg-type]
        if "agent" in moved and isinstance(moved["agent"], str):
            moved["agent"] = agent
        lines.append(json.dumps(moved))
    path = directory / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (written, written))
    return path


def _folder(directory: Path, events: list[dict[str, object]], n: int) -> None:
    for i in range(n):
        _write(directory, events, f"run-{i:04d}", _T0 + i, _T0 + i + 0.5)


def test_a_short_listing_reads_only_the_newest_files(
    tmp_path: Path, template: list[dict[str, object]]
) -> None:
    _folder(tmp_path, template, 300)
    looked: list[int] = []
    kept, count = list_summaries(tmp_path, limit=5, on_file=lambda: looked.append(1))
    assert [s.trace_id for s in kept] == [f"run-{i:04d}" for i in range(299, 294, -1)]
    assert count == 300
    assert len(looked) <= 6  # not 300: older files cannot start later than the 5 kept
    everything, _ = list_summaries(tmp_path, limit=None)
    assert len(everything) == 300
    assert [s.trace_id for s in everything] == sorted(
        (s.trace_id for s in everything), reverse=True
    )


def test_a_long_run_written_last_does_not_hide_a_later_start(
    tmp_path: Path, template: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    _folder(tmp_path, template, 20)
    # started first of all, but its file was written after every other one (a long run)
    _write(tmp_path, template, "long-run", _T0 - 100, _T0 + 1000)
    kept, _ = list_summaries(tmp_path, limit=2)
    assert [s.trace_id for s in kept] == ["run-0019", "run-0018"]
    kept, _ = list_summaries(tmp_path, limit=21)
    assert kept[-1].trace_id == "long-run"
    assert main(["trace", "ls", "--dir", str(tmp_path), "--limit", "1"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:] if line.strip()]
    assert rows == ["run-0019"]


def test_filters_go_through_older_files_until_enough_match(
    tmp_path: Path, template: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    _folder(tmp_path, template, 30)
    _write(tmp_path, template, "old-billing", _T0 - 50, _T0 - 49.5, agent="billing")
    assert main(["trace", "ls", "--dir", str(tmp_path), "--agent", "billing"]) == 0
    out = capsys.readouterr().out
    assert "old-billing" in out and "run-0029" not in out
    assert main(["trace", "ls", "--dir", str(tmp_path), "--state", "failed"]) == 0
    assert capsys.readouterr().out.strip() == f"no trace matches (of 31 in {tmp_path})"


def test_the_index_serves_unchanged_files_and_rereads_changed_ones(
    tmp_path: Path, template: list[dict[str, object]]
) -> None:
    _folder(tmp_path, template, 3)
    first, _ = list_summaries(tmp_path)
    assert (tmp_path / INDEX_NAME).is_file()
    # same size and mtime, other content: the index answers (the file is not read again)
    path = tmp_path / "run-0001.jsonl"
    stat = path.stat()
    path.write_text(path.read_text().replace('"calc"', '"CALC"'))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again, _ = list_summaries(tmp_path)
    assert [s.agents for s in again] == [s.agents for s in first]
    # a file that grew (a run that went on) is read again
    _write(tmp_path, template, "run-0001", _T0 + 1, _T0 + 7, agent="billing")
    changed, _ = list_summaries(tmp_path)
    assert {s.trace_id: s.agents for s in changed}["run-0001"] == ["billing"]
    # a deleted file leaves the index
    (tmp_path / "run-0002.jsonl").unlink()
    left, count = list_summaries(tmp_path)
    assert count == 2 and [s.trace_id for s in left] == ["run-0001", "run-0000"]
    index = json.loads((tmp_path / INDEX_NAME).read_text())
    assert sorted(index["entries"]) == ["run-0000.jsonl", "run-0001.jsonl"]


def test_a_corrupt_index_or_a_junk_file_is_no_trouble(
    tmp_path: Path, template: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    _folder(tmp_path, template, 2)
    (tmp_path / INDEX_NAME).write_text("{not json")
    (tmp_path / "notes.jsonl").write_text("hello\n{}\n")
    kept, count = list_summaries(tmp_path)
    assert [s.trace_id for s in kept] == ["run-0001", "run-0000"]
    assert count == 2  # the junk file is not a trace
    assert json.loads((tmp_path / INDEX_NAME).read_text())["version"] == 1
    (tmp_path / INDEX_NAME).write_text(json.dumps({"version": 1, "entries": {"x": 3}}))
    assert main(["trace", "ls", "--dir", str(tmp_path)]) == 0
    assert "run-0001" in capsys.readouterr().out


def test_a_folder_of_junk_only_has_no_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.jsonl").write_text('{"not": "an event"}\n')
    assert main(["trace", "ls", "--dir", str(tmp_path)]) == 0
    assert "no traces" in capsys.readouterr().out
