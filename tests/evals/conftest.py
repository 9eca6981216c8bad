"""Evals fixtures: the bundled sample (examples/evals) and a trace directory per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether.evals import Dataset
from tether.evals._target import load_target

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_AGENT = ROOT / "examples" / "evals" / "capitals.py"
SAMPLE_DATA = ROOT / "examples" / "evals" / "capitals.jsonl"


@pytest.fixture
def sample_agent() -> Any:
    """The sample's capitals agent (FunctionModel, $0.001 a model call)."""
    return load_target(f"{SAMPLE_AGENT}:agent")


@pytest.fixture
def sample_data() -> Dataset:
    """The sample's six cases (five answerable, one the agent gets wrong, one greeting)."""
    return Dataset.load(SAMPLE_DATA)


@pytest.fixture(autouse=True)
def trace_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every run of a test traces into its own directory."""
    directory = tmp_path / "traces"
    monkeypatch.setenv("TETHER_TRACE_DIR", str(directory))
    return directory
