"""Where sync tools run: tether's own bounded pool of daemon threads, and killable processes.

A sync tool cannot be stopped from outside its thread. When its call times out (or its run is
cancelled) the run goes on without it, and the thread is *abandoned*: it is left to finish on
its own, no longer counts against the pool's bound, and nothing waits for it, neither
``asyncio.run`` nor the interpreter at exit (the threads are daemons). :func:`tool_threads`
reports how many are busy and how many are abandoned; past ``max_abandoned`` a new sync call
fails at once with :class:`ToolThreadsExhausted` instead of piling up threads.

Tools that must really stop on timeout run in a child process with :func:`isolated`: the
process is killed when the call times out or is cancelled.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .context import InputRequired
from .errors import TetherError

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "ThreadStats",
    "ToolProcessDied",
    "ToolRaisedExit",
    "ToolThreads",
    "ToolThreadsExhausted",
    "contain_exits",
    "contained_call",
    "isolated",
    "run_in_process",
    "run_sync",
    "tool_threads",
]

T = TypeVar("T")


class ToolThreadsExhausted(TetherError):
    """Too many sync tool calls timed out and are still running in their threads."""


class ToolProcessDied(TetherError):
    """An isolated tool's process ended without answering (it crashed or was killed)."""


class ToolRaisedExit(TetherError):
    """A tool raised ``SystemExit``, ``KeyboardInterrupt`` or another ``BaseException`` (not a
    cancellation): that call fails, nothing else.

    Let through, either would end the event loop and strand every run sharing it.
    """


def _contained(exc: BaseException, *, foreign: bool = False) -> BaseException:
    import asyncio  # not at import: `from tether import Agent` need not load asyncio

    # From a pool thread or a child process (foreign) nothing is a cancellation of this task
    # or the close of this coroutine: there a GeneratorExit is the tool's own, contained too.
    passes = Exception if foreign else Exception | asyncio.CancelledError | GeneratorExit
    if not isinstance(exc, passes):
        error = ToolRaisedExit(
            f"the tool raised {type(exc).__name__}({', '.join(map(repr, exc.args))}): a tool "
            "may not end the process, so only this call failed"
        )
        error.__cause__ = exc
        return error
    return exc


async def contain_exits(awaitable: Awaitable[T]) -> T:
    """Await a tool's coroutine; a ``BaseException`` it raises (``SystemExit``,
    ``KeyboardInterrupt``...) becomes :class:`ToolRaisedExit`; cancellation passes through."""
    import asyncio

    try:
        return await awaitable
    except (Exception, asyncio.CancelledError, GeneratorExit):
        raise
    except BaseException as exc:  # SystemExit, KeyboardInterrupt, a BaseException of its own
        raise _contained(exc) from exc


async def contained_call(awaitable: Awaitable[T]) -> T:
    """Await a tool's call (every tool call runs through it): a ``BaseException`` the tool
    raises (``SystemExit``, ``KeyboardInterrupt``, one of its own) becomes
    :class:`ToolRaisedExit`, so only that call fails. Passing as they are: the engine's
    ``InputRequired`` (``ctx.request_input``; from a sync tool it arrives as the cause of the
    pool's ToolRaisedExit), cancellation, and the GeneratorExit of a coroutine being closed."""
    try:
        return await awaitable
    except Exception as exc:
        if isinstance(exc.__cause__, InputRequired):
            raise exc.__cause__ from None
        raise
    except BaseException as exc:
        contained = _contained(exc)
        if contained is exc or isinstance(exc, InputRequired):
            raise
        raise contained from exc


@dataclass(frozen=True, slots=True)
class ThreadStats:
    """What the sync-tool pool holds now."""

    #: Threads alive (busy or idle).
    threads: int
    #: Calls running whose caller still waits.
    busy: int
    #: Calls still running whose caller gave up (timed out, cancelled).
    abandoned: int
    #: Calls waiting for a thread.
    queued: int


class _Job:
    __slots__ = (
        "abandoned",
        "args",
        "context",
        "finished",
        "fn",
        "future",
        "kwargs",
        "loop",
        "started",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.loop = loop
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.context = contextvars.copy_context()
        self.abandoned = False
        self.started = False
        self.finished = False


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class ToolThreads:
    """A bounded pool of daemon threads for sync tool calls.

    At most ``max_workers`` calls run at once (more wait in a queue); a call whose caller gave
    up stops counting against that bound. ``idle_timeout``: seconds an idle thread lingers.
    """

    def __init__(
        self, max_workers: int = 32, *, max_abandoned: int = 64, idle_timeout: float = 30.0
    ) -> None:
        if max_workers < 1 or max_abandoned < 1:
            raise ValueError("max_workers and max_abandoned must be at least 1")
        self.max_workers = max_workers
        self.max_abandoned = max_abandoned
        self.idle_timeout = idle_timeout
        import queue  # here, not at the top: `from tether import Agent` loads no queue

        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._busy = 0
        self._abandoned = 0
        self._queued = 0

    def stats(self) -> ThreadStats:
        """Counts of threads and calls, now."""
        with self._lock:
            return ThreadStats(
                self._threads, self._busy - self._abandoned, self._abandoned, self._queued
            )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a pool thread, with this task's context variables.

        Cancelling the caller (a timeout) abandons the call: its thread finishes on its own.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        job = _Job(loop, future, fn, args, kwargs)
        with self._lock:
            if self._abandoned >= self.max_abandoned:
                raise ToolThreadsExhausted(
                    f"{self._abandoned} sync tool calls timed out and are still running in "
                    "their threads: no new one is started. Make the tools return sooner, or "
                    "run them killable in a process (tether._threads.isolated)"
                )
            self._queued += 1
            spawn = self._queued > self._idle and self._threads - self._abandoned < self.max_workers
            if spawn:
                self._threads += 1
        self._jobs.put(job)
        if spawn:
            threading.Thread(target=self._serve, name="tether-tool", daemon=True).start()
        try:
            return await future
        except BaseException:
            if future.cancelled() or not future.done():
                self._abandon(job)
            raise

    def _abandon(self, job: _Job) -> None:
        with self._lock:
            if job.abandoned:
                return
            job.abandoned = True
            if not (job.started and not job.finished):
                return
            self._abandoned += 1  # still running: counted until it ends
            count = self._abandoned
        name = getattr(job.fn, "__qualname__", repr(job.fn))
        from ._log_scrub import get_logger

        get_logger("tether.tools").warning(
            "sync tool %s was given up on (timeout or cancellation); its thread runs on until it "
            "returns (%d such threads now)",
            name,
            count,
        )

    def _serve(self) -> None:
        import queue

        while True:
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self.idle_timeout)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._queued <= self._idle:  # no queued call needs this thread
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
                self._queued -= 1
                if job.abandoned:  # given up before it started: nothing to run
                    continue
                job.started = True
                self._busy += 1
            try:
                result, error = job.context.run(job.fn, *job.args, **job.kwargs), None
            except BaseException as exc:  # handed to the caller, whatever it is
                result, error = None, _contained(exc, foreign=True)
            with self._lock:
                self._busy -= 1
                job.finished = True
                abandoned = job.abandoned
                if abandoned:
                    self._abandoned -= 1
            if not abandoned:
                with contextlib.suppress(RuntimeError):  # the caller's loop has closed
                    job.loop.call_soon_threadsafe(_settle, job.future, result, error)
            del job, result, error


_POOL: ToolThreads | None = None


def tool_threads() -> ToolThreads:
    """The process's pool for sync tools (``tool_threads().stats()`` for its counts)."""
    global _POOL
    if _POOL is None:
        _POOL = ToolThreads()
    return _POOL


async def run_sync(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a sync tool function in the process's tool pool (see :class:`ToolThreads`)."""
    return await tool_threads().run(fn, *args, **kwargs)


# -- process isolation ---------------------------------------------------------------------


def _child(ref: Any, args: tuple[Any, ...], kwargs: dict[str, Any], conn: Any) -> None:
    try:
        if isinstance(ref, tuple):
            module, qualname = ref
            target: Any = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
            target = getattr(target, "__isolated__", target)
        else:
            target = ref
        answer: tuple[str, Any] = ("ok", target(*args, **kwargs))
    except BaseException as exc:
        answer = ("error", exc)
    try:
        conn.send(answer)
    except Exception as exc:  # the result or error cannot be pickled
        conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc} ({answer[1]!r:.200})")))
    conn.close()


def _start(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], start_method: str
) -> tuple[Any, Any]:
    # In a pool thread: importing multiprocessing and starting a process touch the disk.
    import multiprocessing

    ctx: Any = multiprocessing.get_context(start_method)
    ref: Any = fn
    if start_method != "fork":
        ref = (fn.__module__, fn.__qualname__)
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(ref, args, kwargs, send), daemon=True)
    process.start()
    send.close()
    return process, receive


def _wait(conn: Any) -> Any:
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


async def run_in_process(
    fn: Callable[..., T], /, *args: Any, start_method: str = "spawn", **kwargs: Any
) -> T:
    """``fn(*args, **kwargs)`` in a child process, killed if the caller is cancelled or times
    out. With ``spawn`` (the default) ``fn`` must be importable by module and name, and its
    arguments and result picklable; ``fork`` also takes closures (POSIX only)."""
    pool = tool_threads()
    process, receive = await pool.run(_start, fn, args, kwargs, start_method)
    try:
        answer = await pool.run(_wait, receive)
    except BaseException:
        process.kill()  # timed out or cancelled: the tool stops now
        threading.Thread(target=process.join, args=(10,), daemon=True).start()  # reap it
        raise
    finally:
        receive.close()
    await pool.run(process.join, 5)
    if answer is None:
        raise ToolProcessDied(
            f"the isolated tool {getattr(fn, '__name__', fn)!r} ended without answering "
            f"(exit code {process.exitcode})"
        )
    kind, value = answer
    if kind == "error":
        raise _contained(value, foreign=True)
    result: T = value
    return result


@overload
def isolated(function: Callable[..., T], /) -> Callable[..., Awaitable[T]]: ...
@overload
def isolated(
    *, start_method: str = "spawn"
) -> Callable[[Callable[..., T]], Callable[..., Awaitable[T]]]: ...


def isolated(function: Callable[..., T] | None = None, /, *, start_method: str = "spawn") -> Any:
    """Make a sync tool function killable: each call runs in a child process, killed when the
    call times out or its run is cancelled. Put it under ``@agent.tool(timeout=...)``::

        @agent.tool(timeout=5)
        @isolated
        def crunch(n: int) -> int: ...

    The function keeps its signature and docstring (the tool's schema); with the default
    ``spawn`` it must be defined at module level, and its arguments and result picklable.
    """

    def wrap(fn: Callable[..., T]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(fn)
        async def call(*args: Any, **kwargs: Any) -> T:
            return await run_in_process(fn, *args, start_method=start_method, **kwargs)

        call.__isolated__ = fn  # type: ignore[attr-defined]  # what the child process runs
        return call

    return wrap(function) if function is not None else wrap
