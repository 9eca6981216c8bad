"""The loopback model server that scripts the batch conversation, and the ledger."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers._base import Delay, RecordedRequest, Turn
from tests.servers.openai_chat import ChatCompletionsServer


def batch_responder(request: RecordedRequest) -> Turn | Delay:
    """user item -> record(item) -> crash_once(item) -> "done <item>" (items named "slow-..."
    wait 0.2 s per answer, so a test can kill a batch in the middle)."""
    messages = (request.body or {}).get("messages") or []
    item = next(m["content"] for m in messages if m["role"] == "user")
    tools_seen = [m for m in messages if m["role"] == "tool"]
    if not tools_seen:
        turn = Turn(tool_calls=[("record", {"item": item})])
    elif len(tools_seen) == 1:
        turn = Turn(tool_calls=[("crash_once", {"item": item})])
    else:
        turn = Turn(text=f"done {item}")
    return Delay(0.2, turn) if item.startswith("slow-") else turn


# A loaded 2-core machine starts Ray's agents slowly: give them time rather than fail.
RAY_SLOW_START = {
    "RAY_agent_register_timeout_ms": "180000",
    "RAY_raylet_start_wait_time_s": "180",
    "RAY_worker_register_timeout_seconds": "180",
    "RAY_USAGE_STATS_ENABLED": "0",
}
for _name, _value in RAY_SLOW_START.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatCompletionsServer]:
    """The server, with the environment the agents module (and Ray workers) read set to it."""
    ledger = tmp_path_factory.mktemp("batch") / "ledger.txt"
    with ChatCompletionsServer(batch_responder) as server:
        os.environ["TETHER_TEST_MODEL_URL"] = server.base_url
        os.environ["TETHER_TEST_LEDGER"] = str(ledger)
        os.environ["TETHER_TEST_CRASH"] = "crash-a,crash-b"
        yield server


def ledger_lines() -> list[str]:
    """The items recorded so far, one per real execution of the `record` tool."""
    path = Path(os.environ["TETHER_TEST_LEDGER"])
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def items_asked(server: Any, item: str) -> int:
    """How many model requests were made for one item."""
    count = 0
    for request in server.requests:
        messages = (request.body or {}).get("messages") or []
        if any(m["role"] == "user" and m["content"] == item for m in messages):
            count += 1
    return count
