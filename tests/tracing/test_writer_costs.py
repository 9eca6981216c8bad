"""What the trace writer's cheaper paths must still do: the secret scrubber sees every change of
the environment and, on bytes, catches every key shape the text scrubber does; a run waiting for
its trace wakes the thread once; and a writer that hangs makes the wait give up (logged) rather
than hang the run."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether import Agent, Runner
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter
from tether.tracing.redact import env_secrets, scrub_secrets, scrub_secrets_bytes
from tether.tracing.writer import TraceWriter


def test_env_secrets_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = env_secrets()
    monkeypatch.setenv("BENCH_SERVICE_TOKEN", "tok-1234567890-secret")
    assert "tok-1234567890-secret" in env_secrets()
    assert b"tok-1234567890-secret" not in scrub_secrets_bytes(b'{"x":"tok-1234567890-secret"}')
    monkeypatch.setenv("BENCH_SERVICE_TOKEN", "tok-other-value-0987")  # changed in place
    assert "tok-other-value-0987" in env_secrets()
    assert "tok-1234567890-secret" not in env_secrets()
    monkeypatch.delenv("BENCH_SERVICE_TOKEN")
    assert env_secrets() == before


async def test_a_traced_run_leaves_no_delayed_wakeup_behind(tmp_path: Path) -> None:
    agent = Agent("calc", model=FakeModel())
    model = agent.model
    assert isinstance(model, FakeModel)
    model.add_response("done")
    exporter = JsonlExporter(tmp_path)
    from tether.tracing.writer import trace_writer

    writer = trace_writer()
    result = await Runner(store=None, telemetry=exporter).run(agent, "hi")
    assert (tmp_path / f"{result.trace_id}.jsonl").read_text().count("\n") >= 3
    # the run's own drain served the wake-up its append had scheduled
    assert writer._kick_handle is None


@pytest.mark.allow_blocking
async def test_a_hung_writer_makes_the_wait_give_up(caplog: pytest.LogCaptureFixture) -> None:
    writer = TraceWriter()
    release = threading.Event()
    writer.replace(Path("/nonexistent-dir-for-test/x.json"), lambda: release.wait(5) or {})
    with caplog.at_level(logging.ERROR, logger="tether.tracing"):
        await asyncio.wait_for(writer.drain(0.2), 3)
    release.set()
    assert "has not caught up after 0.2 s" in caplog.text
    await asyncio.wait_for(writer.drain(3), 5)  # and it still serves later waits


_KEYS = [
    "sk-abcdefghijklmnop1234",
    "sk-ant-api03-abcdefghijkl",
    "Bearer abcdefghijklmnop.qr",
    "BEARER abcdefghijklmnopqr",
    "bearer   abcdefghijklmnopqr",
    "bEaReR abcdefXYZ0123456789",  # any case, as the key shape matches it (no "gh" in it)
    "beaRER\tabcdefXYZ0123456789",
    "AIza" + "x" * 30,
    "ghp_" + "a" * 24,
    "gho_" + "B1" * 12,
    "xoxb-1234567890-abc",
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "postgresql://user:hunter22pass@db:5432/x",
    "redis://:s3cretpassw0rd@cache:6379/0",
]


@pytest.mark.parametrize("key", _KEYS)
def test_the_byte_scrubber_catches_every_key_shape(key: str) -> None:
    line = ('{"type":"tool_call_finished","output":"' + key + '","n":1}').encode()
    scrubbed = scrub_secrets_bytes(line, ())
    assert scrubbed == scrub_secrets(line.decode(), ()).encode()
    assert scrubbed != line and b"[secret]" in scrubbed


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='sk-bBeaErRAIzKghpxo_:/@ 0123456789abcdefXYZ"\\é', max_size=80))
def test_the_byte_scrubber_agrees_with_the_text_one(text: str) -> None:
    # the one-byte gates only skip the searches that could not find anything
    data = text.encode()
    assert scrub_secrets_bytes(data, ()) == scrub_secrets(text, ()).encode()


@pytest.mark.allow_blocking
async def test_one_watchdog_gives_up_on_each_wait_at_its_own_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = TraceWriter()
    release = threading.Event()
    writer.replace(Path("/nonexistent-dir-for-test/y.json"), lambda: release.wait(5) or {})
    loop = asyncio.get_running_loop()
    started = loop.time()
    long_wait = asyncio.ensure_future(writer.drain(4.0))
    await asyncio.sleep(0)  # the long wait set the watchdog first; the short one moves it
    with caplog.at_level(logging.ERROR, logger="tether.tracing"):
        await asyncio.wait_for(writer.drain(0.2), 3)
    assert loop.time() - started < 2.0 and not long_wait.done()
    assert "has not caught up after 0.2 s" in caplog.text
    release.set()
    await asyncio.wait_for(long_wait, 5)  # answered by the writer, not given up on
    assert "after 4.0 s" not in caplog.text
    assert not writer._waits  # nothing kept once the waits end
