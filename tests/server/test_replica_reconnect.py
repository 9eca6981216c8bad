"""Reconnecting with ``Last-Event-ID`` to another replica after the replica streaming the run
died (two real `tether serve` processes on one store, the first SIGKILLed mid-stream).

The dead replica streamed events the store never got (text and tool-call deltas, events after
its last checkpoint); the replica that takes the run over continues it from that checkpoint.
The client's Last-Event-ID is a position the dead replica streamed: the events stored after the
takeover must still reach it, none of them hidden under an id it had already seen.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import ChatCompletionsServer

from .test_replicas import _HTTP, Replica, Script, _ledger, _wait
from .test_replicas import model as model  # the module's loopback model server
from .test_replicas import pg_store as pg_store
from .test_replicas import store_url as store_url
from .test_replicas import two_replicas as two_replicas


def _messages(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    current: dict[str, Any] = {}
    for line in lines:
        if not line:
            if current:
                yield {**current, "data": json.loads(current["data"])}
                current = {}
            continue
        name, _, value = line.partition(": ")
        current[name] = value
    if current:
        yield {**current, "data": json.loads(current["data"])}


def _key(message: dict[str, Any]) -> tuple[str, str]:
    return message["id"], json.dumps(message["data"], sort_keys=True)


@pytest.mark.allow_blocking
@pytest.mark.timeout(120)
def test_a_reconnect_to_another_replica_resumes_from_the_store(
    model: tuple[ChatCompletionsServer, Script],
    two_replicas: tuple[Replica, Replica],
    tmp_path: Path,
) -> None:
    _, script = model
    a, b = two_replicas
    prompt = f"slow {uuid.uuid4().hex[:8]}"
    run_id = f"stream-{uuid.uuid4().hex[:8]}"
    body = {"agent": "worker", "input": prompt, "stream": True, "run_id": run_id}
    seen: list[dict[str, Any]] = []
    with _HTTP.stream("POST", f"{a.url}/v1/runs", json=body) as answer:
        for message in _messages(answer.iter_lines()):
            seen.append(message)
            if message["event"] == "turn_started" and message["data"]["turn"] == 2:
                break  # the second model call is asked for (and delayed 3 s)
    _wait(lambda: script.asked.get(f"{prompt}|1", 0) == 1, 20, "the second model call")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(10)
    last = seen[-1]["id"]
    headers = {"Last-Event-ID": last}
    url = f"{b.url}/v1/runs/{run_id}/events"
    with _HTTP.stream("GET", url, headers=headers, timeout=60) as answer:
        assert answer.status_code == 200
        after = list(_messages(answer.iter_lines()))
    ids = [int(m["id"]) for m in after]
    assert ids and ids == sorted(set(ids)) and ids[0] > int(last)  # no id twice, in order
    assert after[-1]["event"] == "run_finished"
    assert after[-1]["data"]["state"] == "completed"
    assert after[-1]["data"]["final_text"] == f"done with {prompt}"
    # every event the store holds reached the client once: from A before it died, or
    # from B after the reconnect
    with _HTTP.stream("GET", url, timeout=60) as answer:
        stored = list(_messages(answer.iter_lines()))
    got = {_key(m) for m in seen} | {_key(m) for m in after}
    assert [m["event"] for m in stored if _key(m) not in got] == []
    assert not {_key(m) for m in seen} & {_key(m) for m in after}
    assert "run_resumed" in [m["event"] for m in after]  # B went on from the checkpoint
    assert [line for line in _ledger(tmp_path) if prompt in line] == [f"{a.proc.pid} {prompt}"]
