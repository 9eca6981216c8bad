"""`tether batch` through the real entry point: order, resume after a kill, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.distributed.conftest import items_asked, ledger_lines

ROOT = Path(__file__).resolve().parents[2]
AGENT = "tests.distributed.agents:batcher"


def _batch(tmp: Path, *args: str, wait: bool = True) -> Any:
    cmd = [sys.executable, "-m", "tether.cli", "batch", AGENT, *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not wait:
        return subprocess.Popen(
            cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    return subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=120)


def _write_inputs(tmp: Path, items: list[Any]) -> Path:
    path = tmp / "inputs.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


def _out(tmp: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp / "out.jsonl").read_text().splitlines()]


def test_batch_writes_one_line_per_input_in_order(model_server: Any, tmp_path: Path) -> None:
    items = [f"cli-{n}" for n in range(12)]
    _write_inputs(tmp_path, [*items[:11], {"id": "last", "input": items[11]}])
    done = _batch(tmp_path, "inputs.jsonl", "--out", "out.jsonl", "--concurrency", "4")
    assert done.returncode == 0, done.stderr
    lines = _out(tmp_path)
    assert [line["index"] for line in lines] == list(range(12))
    assert [line["output"] for line in lines] == [f"done {i}" for i in items]
    assert lines[-1]["id"] == "last" and {line["state"] for line in lines} == {"completed"}
    assert "12 inputs: 0 already done, 12 run" in done.stdout
    again = _batch(tmp_path, "inputs.jsonl", "--out", "out.jsonl")
    assert again.returncode == 0 and "12 already done, 0 run" in again.stdout
    assert all(ledger_lines().count(i) == 1 for i in items)


def test_a_killed_batch_resumes_and_no_tool_runs_twice(model_server: Any, tmp_path: Path) -> None:
    items = [f"slow-{n}" for n in range(10)]
    _write_inputs(tmp_path, items)
    proc = _batch(tmp_path, "inputs.jsonl", "--out", "out.jsonl", "--concurrency", "2", wait=False)
    deadline = time.monotonic() + 60
    out = tmp_path / "out.jsonl"
    while time.monotonic() < deadline:
        if out.exists() and len(out.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    first = len(_out(tmp_path))
    assert 3 <= first < 10
    done = _batch(tmp_path, "inputs.jsonl", "--out", "out.jsonl", "--concurrency", "2")
    assert done.returncode in (0, 1), done.stderr
    lines = _out(tmp_path)
    assert [line["index"] for line in lines] == list(range(10))
    states = [line["state"] for line in lines]
    # A run killed inside its (non-idempotent) tool resumes `interrupted` rather than run twice.
    assert set(states) <= {"completed", "interrupted"} and states.count("completed") >= 8
    recorded = ledger_lines()
    assert all(recorded.count(i) <= 1 for i in items)
    assert all(items_asked(model_server, i) <= 3 for i in items[:first])  # resumed, not redone


def test_bad_inputs_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('"fine"\n{not json\n')
    done = _batch(tmp_path, "bad.jsonl", "--out", "out.jsonl")
    assert done.returncode == 2
    assert "bad.jsonl:2: not JSON" in done.stderr and "Traceback" not in done.stderr
    missing = _batch(tmp_path, "nowhere.jsonl", "--out", "out.jsonl")
    assert missing.returncode == 2 and "cannot read the inputs file" in missing.stderr
    (tmp_path / "obj.jsonl").write_text('{"prompt": "x"}\n')
    wrong = _batch(tmp_path, "obj.jsonl", "--out", "out.jsonl")
    assert wrong.returncode == 2 and "needs an 'input' field" in wrong.stderr


def test_an_address_where_no_cluster_answers_is_one_clear_line(tmp_path: Path) -> None:
    from tests._ports import refused_port

    _write_inputs(tmp_path, ["x"])
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with refused_port() as port:  # held: nothing can start listening there meanwhile
        for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
            done = _batch(
                tmp_path, "inputs.jsonl", "--out", "out.jsonl", "--engine", "ray",
                "--address", address, "--store", store,
            )  # fmt: skip
            assert done.returncode == 2, done.stderr
            assert f"no Ray cluster answers at {address!r} (Connection refused)" in done.stderr
            assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.jsonl").exists() or _out(tmp_path) == []
