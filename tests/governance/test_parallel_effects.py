"""Parallel external calls cut short by a crash: each resumes interrupted under its own key."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from parallel_effect_app import build

from tether import Runner
from tether.context import idempotency_key

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_parallel_external_calls_killed_in_flight_each_keep_their_key(
    store: str, tmp_path: Path
) -> None:
    schema = None
    if store == "sqlite":
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        from durability.conftest import pg_schema_url
        from store.conftest import postgres_url

        schema, url = await pg_schema_url(postgres_url())
    keys = tmp_path / "keys.log"
    try:
        killed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(HERE / "parallel_effect_app.py"), url, "par-1", str(keys)],
            capture_output=True,
            timeout=60,
        )
        assert killed.returncode == -9, killed.stderr
        expected = {c: idempotency_key("par-1", c) for c in ("r1", "r2")}
        assert sorted(keys.read_text().split("\n")[:2]) == [
            f"1 {expected['r1']}",
            f"2 {expected['r2']}",
        ]
        runner = Runner(store=url, telemetry=None)
        agent = build(keys, kill=False)
        cut = await runner.resume("par-1", agent)
        assert cut.state == "interrupted" and sorted(cut.interrupted_calls) == ["r1", "r2"]
        assert cut.interrupted_keys == expected  # each call its own key, as the tool saw it
        assert runner.store is not None
        rows = {r.call_id: (r.key, r.status) for r in await runner.store.effects("par-1")}  # type: ignore[attr-defined]
        assert rows == {c: (k, "started") for c, k in expected.items()}

        # r1 never reached the service: run it again; r2 did: it must not run again
        done = await runner.resume("par-1", agent, approvals={"r1": True, "r2": "went through"})
        rows = {r.call_id: (r.status, r.attempts) for r in await runner.store.effects("par-1")}  # type: ignore[attr-defined]
        await runner.aclose()
        assert done.state == "completed"
        assert rows == {"r1": ("finished", 2), "r2": ("rejected", 1)}  # r2 ended, not run
        lines = keys.read_text().splitlines()
        assert len(lines) == 3 and lines[2] == f"1 {expected['r1']}"  # the same key again
    finally:
        if schema is not None:
            from store.conftest import drop_schema, postgres_url

            await drop_schema(postgres_url(), schema)
