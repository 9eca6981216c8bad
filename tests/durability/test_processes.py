"""Runs continued by other processes (fresh interpreters) sharing only the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).with_name("approval_app.py")


def app(store_url: str, ledger: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(APP), store_url, str(ledger), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.allow_blocking
def test_approvals_are_decided_in_another_process(store_url: str, tmp_path: Path) -> None:
    ledger = tmp_path / "sent.log"
    started = app(store_url, ledger, "start", "mail-1")
    assert started["state"] == "awaiting_approval"
    assert started["pending"] == ["call_1_0", "call_1_1"]
    assert not ledger.exists()

    # One decision now: ann approved; bob still waits.
    partial = app(store_url, ledger, "resume", "mail-1", json.dumps({"call_1_0": True}))
    assert partial["state"] == "awaiting_approval" and partial["pending"] == ["call_1_1"]
    assert ledger.read_text() == "ann\n"

    done = app(store_url, ledger, "resume", "mail-1", json.dumps({"call_1_1": "not bob"}))
    assert done["state"] == "degraded"  # a denial ends the run degraded (docs/limits.md)
    assert done["final_text"] == "sent to ann; The call was rejected: not bob"
    assert ledger.read_text() == "ann\n"

    # Once completed, resuming again only returns the Result.
    again = app(store_url, ledger, "resume", "mail-1")
    assert again["state"] == "degraded" and again["final_text"] == done["final_text"]
    assert ledger.read_text() == "ann\n"
