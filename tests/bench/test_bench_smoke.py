"""The benchmark harness runs end to end (tether and the bare client only, tiny counts).

Benchmarks print times; nothing here asserts a timing. This only keeps the harness from rotting:
the server answers the scripted conversation, every worker runs every scenario, the table and
the markdown are written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

pytestmark = pytest.mark.timeout(180)  # the harness is one subprocess of several workers


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    out = tmp_path_factory.mktemp("bench") / "smoke.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke", "--no-peers", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=150,  # 8 s on an idle 2-core machine; a loaded one can be several times slower
        cwd=str(ROOT),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, out.read_text()


def _row(text: str, label: str) -> list[str]:
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{text}")


def test_every_scenario_gives_tether_a_figure(smoke: tuple[str, str]) -> None:
    stdout, _ = smoke
    for label, unit in [
        ("run, median", "µs"),
        ("streamed / plain", "x"),
        ("client CPU per run", "ms"),
        ("first text delta in user code", "ms"),
        ("wall time", "s"),
        ("memory per in-flight run", "KiB"),
        ("`import` of the package", "ms"),
        ("spawn to first answer", "ms"),
    ]:
        tether, bare = _row(stdout, label)[1:3]
        assert tether.endswith(unit), (label, tether)
        assert bare.endswith(unit), (label, bare)


def test_no_worker_failed(smoke: tuple[str, str]) -> None:
    stdout, _ = smoke
    assert "| error |" not in stdout
    notes = [line for line in stdout.splitlines() if line.startswith("note:")]
    assert all("not there yet" in n or "failed" not in n for n in notes), notes


def test_markdown_names_machine_versions_and_server_headroom(smoke: tuple[str, str]) -> None:
    _, markdown = smoke
    assert "# Benchmark results" in markdown
    assert "- machine: " in markdown and "- versions: tether " in markdown
    assert "server capacity (raw client" in markdown
    assert "requests/s" in markdown


def test_http_split_prints_every_variant() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "http_split.py"), "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(ROOT),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    rows = {line.split("|")[1].strip() for line in lines if line.startswith("| ")}
    assert {"floor", "run", "provider", "transport", "in-process"} <= rows
    assert {"in-process + provider", "in-process + floor"} <= rows
    assert {"run, streamed", "provider, streamed", "in-process, streamed"} <= rows
    for name in ("run", "provider", "in-process"):
        assert any(line.startswith(f"{name}: streamed / plain ") for line in lines)
    assert "beside the floor's HTTP run" in lines[-1]
