"""The bench server scripts the conversation every framework is measured on."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SERVER = Path(__file__).resolve().parents[2] / "bench" / "server.py"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--latency", "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().split()[1]
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()


def _post(base: str, body: dict[str, Any], path: str = "/v1/chat/completions") -> tuple[str, bytes]:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["content-type"], response.read()


def _get(base: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


ASK = {"model": "m", "messages": [{"role": "user", "content": "What is 1 + 2?"}]}
ANSWERED = {
    "model": "m",
    "messages": [
        {"role": "user", "content": "What is 1 + 2?"},
        {"role": "tool", "tool_call_id": "call_add_1", "content": "3"},
    ],
}


def test_first_call_asks_for_add_then_answers(base: str) -> None:
    kind, raw = _post(base, ASK)
    assert kind == "application/json"
    call = json.loads(raw)["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call == {"name": "add", "arguments": '{"a": 1, "b": 2}'}
    _, raw = _post(base, ANSWERED)
    assert json.loads(raw)["choices"][0]["message"]["content"] == "The answer is 3"


def test_streams_the_same_conversation_as_sse(base: str) -> None:
    kind, raw = _post(base, {**ANSWERED, "stream": True})
    assert kind.startswith("text/event-stream")
    events = [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in map(json.loads, events[:-1])
        if c["choices"]
    )
    assert text == "The answer is 3"


def test_unknown_path_is_404(base: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        _post(base, ASK, "/v1/nope")
    caught.value.close()
    assert caught.value.code == 404


def test_barrier_opens_when_requests_stop_coming(base: str) -> None:
    # A barrier for 5 requests that only ever gets 2 (a client bounding its requests in flight)
    # must still answer them: it opens once no new request came for a moment, long before its
    # 30 s timeout.
    _get(base, "/barrier?n=5&timeout=30")
    answers: list[bytes] = []

    def ask() -> None:
        answers.append(_post(base, ASK)[1])

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(answers) == 2
    assert all(b'"name": "add"' in a for a in answers)
