"""Nothing secret reaches a log: every record a tether logger makes has its message, arguments,
exception text and stack scrubbed before any handler sees it. Through real logging: a handler
on the root logger writing to a file (records propagate to it) and pytest's caplog, for real
places that log (episodic memory, the server's sweeper, a failing trace exporter)."""

from __future__ import annotations

import ast
import asyncio
import importlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tether
from tests.server.conftest import serve
from tether import Agent, Runner
from tether._log_scrub import get_logger
from tether.memory import EpisodicMemory, HashEmbedder, VectorMemory
from tether.models import FakeModel
from tether.server import ServerConfig
from tether.store.memory import MemoryStore
from tether.tracing.base import Exporter

KEY = "sk-proj-logLeak0123456789abcdefgh"
TOKEN = "eyJlog.leaked-bearer.0123456789"
LEAK = f"upstream said: Authorization: Bearer {TOKEN}; key={KEY}"
SRC = Path(tether.__file__).parent


class _FileHandler(logging.FileHandler):
    """Writes to a file like any user's handler; ``seen`` is set once a record has the mark."""

    def __init__(self, path: Path, mark: str) -> None:
        super().__init__(path, encoding="utf-8")
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.mark, self.seen = mark, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        self.flush()
        if self.mark in record.getMessage():
            self.seen.set()


@pytest.fixture
def log_file(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[_FileHandler]:
    """A handler on the root logger (the path every tether record takes), DEBUG and up."""
    handler = _FileHandler(tmp_path / "app.log", getattr(request, "param", ""))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def _logged(handler: _FileHandler, caplog: pytest.LogCaptureFixture) -> str:
    return Path(handler.baseFilename).read_text(encoding="utf-8") + caplog.text


def _assert_clean(text: str) -> None:
    assert "[secret]" in text
    assert KEY not in text and TOKEN not in text


def test_message_arguments_exception_and_stack_are_scrubbed(
    log_file: _FileHandler, caplog: pytest.LogCaptureFixture
) -> None:
    log = get_logger("tether.test_scrub")
    try:
        raise RuntimeError(LEAK)
    except RuntimeError:
        log.exception("failed with key %s and %r", KEY, {"auth": f"Bearer {TOKEN}"})
    log.warning(f"inline {KEY}", stack_info=True)
    log.error("a count of %d", KEY)  # arguments that do not fit: dropped, not printed raw
    text = _logged(log_file, caplog)
    assert "RuntimeError: upstream said" in text and "Traceback" in text and "Stack" in text
    assert "a count of %d (arguments dropped" in text
    _assert_clean(text)
    assert all(r.exc_info is None and r.args is None for r in caplog.records)
    assert all(KEY not in r.getMessage() + (r.exc_text or "") for r in caplog.records)


def test_every_tether_logger_is_made_scrubbing() -> None:
    """No module makes a logger with logging.getLogger (it would escape the filter), and the
    logger of every get_logger call in src/tether, its module imported, has the filter."""
    makers, names = [], {}
    for path in SRC.rglob("*.py"):
        if path.name == "_log_scrub.py":
            continue
        module = ".".join(("tether", *path.relative_to(SRC).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "getLogger":
                makers.append(f"{path.relative_to(SRC)}:{node.lineno}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "get_logger":
                arg = node.args[0]
                name = arg.value if isinstance(arg, ast.Constant) else module  # or __name__
                names[name] = module
    assert makers == []
    assert {"tether.server", "tether.tracing", "tether.memory.episodic"} <= set(names)
    for name, module in sorted(names.items()):
        importlib.import_module(module)
        if name in logging.Logger.manager.loggerDict:  # made at import (else made when used)
            assert logging.getLogger(name).filters, name
        assert get_logger(name).filters == logging.getLogger(name).filters != []


class _LeakingEmbedder(HashEmbedder):
    """An embedder whose endpoint fails quoting the key it was sent."""

    async def embed(self, texts: Any) -> Any:
        raise RuntimeError(LEAK)


async def test_episodic_memory_failure_log(
    tmp_path: Path, log_file: _FileHandler, caplog: pytest.LogCaptureFixture
) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=_LeakingEmbedder())
    runner = Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=[EpisodicMemory(memory)])
    result = await runner.run(Agent("a", model=FakeModel().add_response("hi")), "hello")
    await runner.aclose()
    await memory.close()
    assert result.final_text == "hi"  # a memory failure does not change the run
    text = _logged(log_file, caplog)
    assert "episodic memory: could not record run" in text and "RuntimeError" in text
    _assert_clean(text)


class _LeakingExporter(Exporter):
    """A user's exporter that fails quoting a key, on every event."""

    def on_event(self, event: Any) -> None:
        raise RuntimeError(LEAK)


async def test_failing_exporter_log_first_and_repeated(
    tmp_path: Path, log_file: _FileHandler, caplog: pytest.LogCaptureFixture
) -> None:
    runner = Runner(store=None, telemetry=[_LeakingExporter()])
    await runner.run(Agent("a", model=FakeModel().add_response("hi")), "hello")
    await runner.aclose()
    text = _logged(log_file, caplog)
    assert "trace exporter _LeakingExporter failed" in text
    assert "failed in on_event again" in text  # the repeated failure, logged with its repr
    _assert_clean(text)


class _SweepFails(MemoryStore):
    """A store whose lease scan fails quoting a connection secret."""

    async def expired_leases(self, *, limit: int = 100) -> list[Any]:
        raise ConnectionError(LEAK)


@pytest.mark.parametrize("log_file", ["abandoned runs failed"], indirect=True)
async def test_server_sweeper_failure_log(
    log_file: _FileHandler, caplog: pytest.LogCaptureFixture
) -> None:
    agent = Agent("a", model=FakeModel())
    runner = Runner(store=_SweepFails(), telemetry=None, agents=[agent])
    server = serve(runner, ServerConfig(sweep_interval=0.01, a2a=False))
    try:
        seen = await asyncio.to_thread(log_file.seen.wait, 20)
    finally:
        server.stop()
    assert seen
    text = _logged(log_file, caplog)
    assert "ConnectionError: upstream said" in text
    _assert_clean(text)
