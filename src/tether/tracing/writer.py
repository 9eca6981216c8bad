"""One background thread that writes trace files, so exporters never block the event loop.

Exporters hand it batches of events; it serializes them (JSON, secrets scrubbed) and appends
them to files, in the order they were handed over. A run's last batch comes serialized and
scrubbed already (CPU work done by the run as it ends, see :meth:`TraceWriter._append_now`):
the thread then only writes it. :meth:`TraceWriter.drain` waits until
everything handed over so far is on disk; an ``atexit`` hook drains it when the process ends.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import itertools
import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from .._log_scrub import get_logger
from ..events import Event
from ._plain import plain_event
from .files import file_name_for
from .redact import env_secrets, scrub_secrets, scrub_secrets_bytes

__all__ = ["RunFile", "TraceWriter", "event_line", "trace_writer"]

logger = get_logger("tether.tracing")


def event_line(event: Event) -> bytes:
    """One event as a line of JSON, no newline (what :meth:`Event.to_dict` gives, plus the
    ``None`` fields of parts; :func:`~tether.events.event_from_dict` reads both alike).

    Serialized from a plain dict built by a function made once per event class
    (:func:`~._plain.plain_event`): the same bytes as serializing the dataclass, in a third of
    the time. What that refuses (lone surrogates, nesting deeper than pydantic goes) is written
    by :func:`json` with non-ASCII escaped (lossless), and a field even that cannot hold
    becomes a short ``"[unserializable ...]"`` string: a trace line is always written, never
    an exception.
    """
    try:
        return to_json(plain_event(event), fallback=repr)
    except (PydanticSerializationError, ValueError, RecursionError):
        return _careful_line(event)


def _careful_line(event: Event) -> bytes:
    try:
        return _ascii_dumps(event.to_dict()).encode()
    except (ValueError, TypeError, RecursionError):
        pass
    # Find the fields that cannot be serialized (each probed with the others emptied), and
    # write the event with those fields as a short placeholder.
    names = [f.name for f in fields(event) if f.name not in event.transient]
    heavy = [n for n in names if not isinstance(getattr(event, n), str | int | float | None)]
    bad = []
    for name in heavy:
        probe = copy.copy(event)
        for other in heavy:
            if other != name:
                object.__setattr__(probe, other, None)
        try:
            _ascii_dumps(probe.to_dict())
        except (ValueError, TypeError, RecursionError):
            bad.append(name)
    shown = copy.copy(event)
    for name in bad:
        value = getattr(event, name)
        object.__setattr__(shown, name, f"[unserializable {type(value).__name__}]")
    try:
        return _ascii_dumps(shown.to_dict()).encode()
    except (ValueError, TypeError, RecursionError):  # pragma: no cover - placeholders are text
        header = {"type": event.type, "run_id": event.run_id, "seq": event.seq, "at": event.at}
        return _ascii_dumps(header).encode()


_ascii_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, default=repr).encode


@dataclass(frozen=True, slots=True)
class RunFile:
    """The trace file of a run known only by its id, resolved in the writer thread through
    ``<dir>/.runs/<run_id>`` (written when the run started under another trace id)."""

    directory: Path
    run_id: str

    @property
    def pointer(self) -> Path:
        """Where the name of the run's trace file is kept."""
        return self.directory / ".runs" / file_name_for(self.run_id)

    def resolve(self) -> Path:
        """The trace file (``<run_id>.jsonl`` when no pointer says otherwise)."""
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except OSError:
            name = ""
        if not name or "/" in name or name.startswith("."):
            name = f"{file_name_for(self.run_id)}.jsonl"
        return self.directory / name


class TraceWriter:
    """Batches of file writes served by one daemon thread (started on first use).

    Writes handed over on an event loop are gathered for ``delay`` seconds before the thread is
    woken, so a burst of short runs costs one wake-up rather than one each: waking a thread for
    every run costs more CPU (in GIL hand-overs) than writing the trace.
    """

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        # (number, op, path, payload): numbered in hand-over order, so a drain knows when
        # everything handed over before it is written (``_written`` reached its number)
        self._pending: deque[tuple[int, str, Any, Any]] = deque()
        self._numbers = itertools.count(1)
        self._numbering = threading.Lock()
        #: A run's last lines may be written by the run itself when the thread is idle (see
        #: :meth:`_write_here`); False after one such write was slow, or to keep I/O off it.
        self.write_here = True
        self._slow = 0  # writes here in a row that took longer than HERE_BUDGET
        self._handed = 0  # the number of the last write handed over
        self._written = 0  # the highest number written (every lower one is written too)
        self._wakeups: queue.SimpleQueue[None] = queue.SimpleQueue()
        # True from a wake-up's hand-over until the thread takes it (then takes the batch):
        # a drain finding its writes pending and a wake-up on its way adds none of its own.
        self._kicked = False
        self._thread: threading.Thread | None = None
        self._kick_loop: asyncio.AbstractEventLoop | None = None
        self._kick_handle: asyncio.TimerHandle | None = None
        # taken by the writer thread and atexit; by the loop only without waiting (_write_here)
        self._lock = threading.Lock()
        # The drains waiting, by loop: (number to reach, future), answered by the thread with
        # one call into each loop per batch written (not one per drain).
        self._waiting: dict[asyncio.AbstractEventLoop, list[tuple[int, asyncio.Future[None]]]]
        self._waiting = {}
        # The give-up timer of the drains that wait with a timeout (one per loop, see _watch_on).
        self._waits: dict[asyncio.Future[None], tuple[float, float]] = {}
        self._watch: asyncio.TimerHandle | None = None
        self._watch_at = 0.0
        self._watch_loop: asyncio.AbstractEventLoop | None = None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._serve, name="tether-trace-writer", daemon=True
            )
            self._thread.start()

    def _hand(self, op: str, path: Any, payload: Any) -> None:
        with self._numbering:  # numbers in the order of the queue, whatever thread hands over
            number = next(self._numbers)
            self._pending.append((number, op, path, payload))
            self._handed = number

    def _submit(self, op: str, path: Any, payload: Any) -> None:
        self._hand(op, path, payload)
        if self._woken():
            return  # the thread is woken already and takes this with the rest
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._kick()
            return
        if self._kick_loop is loop:
            return  # a wake-up is already scheduled on this loop
        self._kick_loop = loop
        self._kick_handle = loop.call_later(self.delay, self._kick)

    def _woken(self) -> bool:
        """A wake-up is on its way to a live thread (not one a fork left behind)."""
        return self._kicked and self._thread is not None and self._thread.is_alive()

    def _kick(self) -> None:
        handle, self._kick_handle = self._kick_handle, None
        if handle is not None and self._kick_loop is not None:
            # this wake-up serves what the scheduled one was for: a run that waits for its
            # trace (drain) costs one wake-up of the thread, not two
            with contextlib.suppress(RuntimeError):
                if asyncio.get_running_loop() is self._kick_loop:
                    handle.cancel()
        self._kick_loop = None
        if self._woken():
            return  # one wake-up on its way serves every write handed over before it is taken
        self._ensure_thread()
        self._kicked = True
        self._wakeups.put(None)

    def append(self, path: str | Path | RunFile, events: Sequence[Event]) -> None:
        """Append ``events`` to the JSONL file at ``path`` (non-blocking; they are serialized
        in the writer thread, so a costly or failing event never holds up the event loop)."""
        self._submit("append", path, events)

    def _append_now(self, path: str | Path | RunFile, events: Sequence[Event]) -> None:
        """A run's last events, written before its flush waits for them: here, in the caller,
        when the thread is idle, nothing handed over waits and the loop may write (see
        :meth:`_write_here`); else handed over with the thread woken at once (not after
        ``delay``, and no timer set for it), so they are written while the run still
        checkpoints and ends, and the run's drain adds no hand-over of its own. Either way the
        lines are made and scrubbed here, by the caller (CPU only; never raises): the thread is
        left the write alone, so it does not hold the GIL serializing while the run makes its
        last checkpoint."""
        chunk = b"\n".join([event_line(event) for event in events])
        data = scrub_secrets_bytes(chunk)
        if self.write_here and type(path) is str and self._write_here(path, data):
            return
        self._hand("scrubbed", path, data)
        self._kick()

    def _write_here(self, path: str, data: bytes) -> bool:
        """Append ``data`` and a newline to the existing folder's file at ``path`` in the
        calling thread (the event loop): True when written (or failed, logged), False when
        the thread must do it. Only while the writer thread is idle with nothing pending, so
        every write handed over before is on disk first. A bounded exception to "no I/O on
        the loop" (docs/decisions.md, "JSONL tracing, round six"): an ``open``/``write``/
        ``close`` into the page cache, no sync, no folder made; a few in a row that each take
        longer than :data:`HERE_BUDGET` seconds (a network or stalled disk) send every later
        write of this writer to the thread."""
        if self._pending or not self._lock.acquire(blocking=False):
            return False
        try:
            if self._pending:
                return False
            started = time.perf_counter()
            try:
                fd = os.open(path, _APPEND_FLAGS, 0o644)
            except FileNotFoundError:  # no folder yet: the thread makes it
                return False
            except OSError:
                logger.exception("tether could not write trace file %s", path)
                return True
            try:
                _write_all(fd, data + b"\n")
            except OSError:
                logger.exception("tether could not write trace file %s", path)
            finally:
                os.close(fd)
                if time.perf_counter() - started <= HERE_BUDGET:
                    self._slow = 0
                else:  # several in a row: the disk, not a preemption of this thread
                    self._slow += 1
                    if self._slow >= _SLOW_IN_A_ROW:
                        self.write_here = False
                        logger.info(
                            "trace file writes are slow here (%s): the writer thread makes them",
                            path,
                        )
            return True
        finally:
            self._lock.release()

    def fill(self, path: str | Path | RunFile, events: Sequence[Event]) -> None:
        """Append those of ``events`` (one run's) that the file at ``path`` does not hold yet,
        by their ``seq``, after everything handed over before (non-blocking)."""
        self._submit("fill", path, events)

    def pointer(self, path: Path, target: str) -> None:
        """Write ``target`` (a file name) to ``path``: where a run's trace lives."""
        self._submit("pointer", path, target)

    def append_lines(self, path: str | Path | RunFile, lines: list[bytes]) -> None:
        """Append lines already serialized with :func:`event_line` (non-blocking)."""
        self._submit("lines", path, lines)

    def replace(self, path: Path, document: Callable[[], Any]) -> None:
        """Write ``document()`` as JSON to ``path``, atomically (non-blocking)."""
        self._submit("replace", path, document)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every write handed over so far is done (at most ``timeout`` seconds:
        a disk that hangs must not hang the run that waits for its trace)."""
        target = self._handed
        if self._written >= target:
            return  # all written already (a run's trace, while the run ended): no hand-over
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        waiting = self._waiting.get(loop)
        if waiting is None:
            waiting = self._waiting[loop] = []
        waiting.append((target, done))
        # Registered before this second look, and the thread looks at the waiters after it
        # counts a batch written: one of the two sees the other.
        if self._written >= target:
            self._answer(loop)
            return
        if self._pending:
            self._kick()  # unless a wake-up is on its way already (a run's last append's)
        if timeout is None:
            await done
            return
        if not self._watch_on(loop, loop.time() + timeout, timeout, done):

            def give_up() -> None:  # a timer, not wait_for: no task per drain
                self._give_up(done, timeout)

            timer = loop.call_later(timeout, give_up)
            try:
                await done
            finally:
                timer.cancel()
            return
        try:
            await done
        finally:
            self._waits.pop(done, None)

    def _answer(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: wake its drains whose writes are all done (and forget those given up)."""
        waiting = self._waiting.get(loop)
        if not waiting:
            return
        written = self._written
        still = []
        for target, done in waiting:
            if done.done():
                continue
            if target <= written:
                done.set_result(None)
            else:
                still.append((target, done))
        if still:
            self._waiting[loop] = still
        else:
            del self._waiting[loop]

    def _signal(self) -> None:
        """In the thread, after a batch: one call into each loop that has a drain it serves."""
        written = self._written
        for loop, waiting in list(self._waiting.items()):
            if loop.is_closed():  # its drains were cancelled or gave up: nothing to answer
                self._waiting.pop(loop, None)
            elif waiting and min(target for target, _ in waiting) <= written:
                with contextlib.suppress(RuntimeError):  # the loop may have closed meanwhile
                    loop.call_soon_threadsafe(self._answer, loop)

    def _give_up(self, done: asyncio.Future[None], timeout: float) -> None:
        if not done.done():
            logger.error("tether's trace writer has not caught up after %s s", timeout)
            done.set_result(None)

    def _watch_on(
        self,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
        timeout: float,
        done: asyncio.Future[None],
    ) -> bool:
        """Let the loop's one watchdog timer give up on ``done`` at ``deadline`` (False when
        the watchdog serves another loop's waits: then the drain sets a timer of its own).
        One timer for the drains of many runs, not one set and cancelled per run."""
        if self._watch_loop is not loop:
            if self._waits:
                return False
            self._watch_loop, self._watch = loop, None
        self._waits[done] = (deadline, timeout)
        if self._watch is None or deadline < self._watch_at:
            if self._watch is not None:
                self._watch.cancel()
            self._watch_at = deadline
            self._watch = loop.call_at(deadline, self._on_watch)
        return True

    def _on_watch(self) -> None:
        self._watch = None
        loop = self._watch_loop
        if loop is None:  # pragma: no cover - set before the timer
            return
        now = loop.time()
        for done, (deadline, timeout) in list(self._waits.items()):
            if done.done():
                del self._waits[done]
            elif deadline <= now:
                del self._waits[done]
                self._give_up(done, timeout)
        if self._waits:
            self._watch_at = min(deadline for deadline, _ in self._waits.values())
            self._watch = loop.call_at(self._watch_at, self._on_watch)

    def drain_sync(self) -> None:
        """Write everything pending now, in the calling thread (for ``atexit``)."""
        self._write_pending()

    def _serve(self) -> None:
        while True:
            self._wakeups.get()
            self._kicked = False  # before the batch is taken (see __init__)
            try:
                self._write_pending()
            except Exception:  # the thread lives on: a trace must never break the program
                logger.exception("tether could not write traces")
            if self._waiting:
                self._signal()

    def _write_pending(self) -> None:
        with self._lock:
            batch = []
            while True:
                try:
                    batch.append(self._pending.popleft())
                except IndexError:
                    break
            if batch:
                try:
                    self._write(batch)
                finally:  # written or failed (logged): either way nothing to wait for
                    self._written = batch[-1][0]

    def _write(self, batch: list[Any]) -> None:
        secrets = env_secrets()
        appends: dict[str, list[bytes]] = {}  # by the file's path as text: one key per file
        raw: set[str] = set()  # the files some of whose lines are not scrubbed yet
        for _, *item in batch:
            op = item[0]
            try:
                if op == "append" or op == "lines" or op == "scrubbed":
                    where = item[1]
                    path = os.fspath(where.resolve() if isinstance(where, RunFile) else where)
                    lines = appends.get(path)
                    if lines is None:
                        lines = appends[path] = []
                    if op == "scrubbed":  # lines made (and scrubbed) by the caller, joined
                        lines.append(item[2])
                        continue
                    raw.add(path)
                    if op == "append":
                        lines.extend([event_line(ev) for ev in item[2]])
                    else:
                        lines.extend(item[2])
                    continue
                if op == "fill":
                    where = item[1]
                    path = os.fspath(where.resolve() if isinstance(where, RunFile) else where)
                    self._flush_appends(appends, secrets, raw)  # what came before is on disk first
                    lines = appends[path] = [b""]  # a line torn by a crash stays on its own
                    raw.add(path)
                    held = _seqs_in(path, item[2][0].run_id) if item[2] else set()
                    lines.extend([event_line(ev) for ev in item[2] if ev.seq not in held])
                    continue
                if op == "pointer":
                    item[1].parent.mkdir(parents=True, exist_ok=True)
                    item[1].write_text(item[2], encoding="utf-8")
                    continue
                self._flush_appends(appends, secrets, raw)
                if op == "replace":
                    self._replace(item[1], item[2](), secrets)
            except Exception:  # a trace must never break the program
                logger.exception("tether could not write a trace")
        self._flush_appends(appends, secrets, raw)

    def _flush_appends(
        self, appends: dict[str, list[bytes]], secrets: tuple[str, ...], raw: set[str]
    ) -> None:
        for path, lines in appends.items():
            lines.append(b"")
            data = b"\n".join(lines)
            if path in raw:
                data = scrub_secrets_bytes(data, secrets)
            try:
                _append_bytes(path, data)
            except OSError:
                logger.exception("tether could not write trace file %s", path)
        appends.clear()
        raw.clear()

    def _replace(self, path: Path, document: Any, secrets: tuple[str, ...]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, ensure_ascii=False, indent=1, default=repr)
        try:
            data = scrub_secrets(text, secrets).encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: escaped, so the document is still whole
            text = json.dumps(document, ensure_ascii=True, indent=1, default=repr)
            data = scrub_secrets(text, secrets).encode("utf-8")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def _seqs_in(path: str, run_id: str) -> set[int]:
    """The ``seq`` of each event of ``run_id`` in the JSONL file at ``path`` (torn lines and
    other runs' events skipped; empty when there is no file)."""
    held: set[int] = set()
    marker = f'"run_id":"{run_id}"'.encode()
    try:
        with open(path, "rb") as f:
            for line in f:
                if marker not in line:
                    continue
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                if isinstance(data, dict) and data.get("run_id") == run_id:
                    seq = data.get("seq")
                    if isinstance(seq, int):
                        held.add(seq)
    except FileNotFoundError:
        pass
    return held


#: How long a write in the caller's thread may take before they all go to the writer thread.
HERE_BUDGET = 0.005
_SLOW_IN_A_ROW = 3
# os.open/os.write: no text layer, about half the cost of open() for one small append.
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def _append_bytes(path: str, data: bytes) -> None:
    try:
        fd = os.open(path, _APPEND_FLAGS, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(path, _APPEND_FLAGS, 0o644)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


_WRITER: TraceWriter | None = None


def trace_writer() -> TraceWriter:
    """The process's trace writer."""
    global _WRITER
    if _WRITER is None:
        _WRITER = TraceWriter()
        atexit.register(_WRITER.drain_sync)
    return _WRITER
