"""An engine run's tether event log, kept in a tether Store (``DBOSDurability(store=...)``,
``TemporalDurability(..., store=...)``).

A run inside a DBOS or Temporal workflow is tether's own loop: it emits the same events as any
run. :class:`LogMirror` collects the durable ones per workflow (an Exporter) and writes them to
the store at step boundaries: before each model call and when the run ends, each write inside
an engine step of its own (a DBOS step ``tether.log``, a Temporal local activity
``tether.log``), so a recovered workflow does not write again what it wrote before.

A write is idempotent: the events' ``seq`` numbers are the loop's, the same on every recovery,
and only those past the last one the store holds are appended. A write retried after a crash
(its step ran but its result was not recorded) appends nothing twice. The log is then a log
like any other: ``tether runs``, the dashboard and ``Runner.replay`` read it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._log_scrub import get_logger
from ..errors import UserError
from ..models._wrapper import ModelWrapper
from ..models.base import ModelResponse
from ._errors import DurableEngineError
from ._setting import ENGINE_KEY

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..engine._wiring import CallSeam
    from ..events import Event
    from ..messages import Message
    from ..models.base import Model, ModelRequest, ModelStreamEvent
    from ..store import Store
    from ..tools import Tool

__all__ = [
    "ENGINE_KEY",
    "LOG_STEP",
    "WAIT_EVENTS",
    "LogMirror",
    "ObservedModel",
    "ObservedResponse",
    "SyncSeam",
    "SyncedModel",
    "log_failed",
    "refuse_thread",
]

#: The name of the step (DBOS) or local activity (Temporal) that writes the log.
LOG_STEP = "tether.log"
#: The events after which a run waits for a person (the log is written then, not later).
WAIT_EVENTS = frozenset({"approval_requested", "input_requested", "tool_call_deferred"})

logger = get_logger("tether.durable")

#: Runs ``fn(*args)`` as a named engine step and returns what it returned (or recorded).
StepRunner = Callable[..., Awaitable[Any]]


class LogMirror:
    """Keeps the event logs of an engine's runs in ``store`` (a Store or a store URL).

    ``engine`` names the engine (``"dbos"``, ``"temporal"``: recorded in each ``run_started``
    as ``metadata["tether.engine"]``); ``workflow_of`` gives the current workflow's key (the
    events of concurrent workflows are kept apart); ``step`` runs a write as an engine step.
    """

    def __init__(
        self,
        store: Store | str,
        engine: str,
        workflow_of: Callable[[], str | None],
        step: StepRunner,
    ) -> None:
        from ..store import Store as StoreProtocol

        if not isinstance(store, str | StoreProtocol):
            raise UserError(
                f"store= takes a tether Store or a store URL ('sqlite:///runs.db'), got {store!r}"
            )
        self._spec = store
        self._store: Store | None = None
        self.engine = engine
        self._workflow_of = workflow_of
        self._step = step
        self._pending: dict[str, list[Event]] = {}
        self._writing: dict[str, asyncio.Lock] = {}  # one write at a time, by workflow
        self._waits: dict[str, list[asyncio.Future[None]]] = {}
        self._runs_of: dict[str, set[str]] = {}  # the runs (a parent, its subagents) by workflow
        #: Whether the wait for a person starts a write by itself (Temporal: its workflow
        #: loop is deterministic; DBOS's decision pump writes before it waits instead).
        self.write_on_wait = False
        self._last: dict[str, int] = {}  # the last seq the store holds, by run (this process)
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def store(self) -> Store:
        """The store the logs are written to (opened on first use)."""
        if self._store is None:
            from ..store import open_store

            self._store = open_store(self._spec)
        return self._store

    # -- the Exporter side: collect ------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Keep a durable event for the next write of its workflow."""
        if not event.durable:
            return
        if event.type == "run_started":
            metadata = dict(getattr(event, "metadata", None) or {})
            metadata[ENGINE_KEY] = self.engine
            started: Any = event  # a copy: the stream's event is the caller's
            event = dataclasses.replace(started, metadata=metadata)
        key = self._workflow_of() or event.run_id
        self._pending.setdefault(key, []).append(event)
        self._runs_of.setdefault(key, set()).add(event.run_id)
        if self.write_on_wait and event.type in WAIT_EVENTS:
            # the run waits for a person: its log says so now (a write of its own, in order)
            self._waits.setdefault(key, []).append(asyncio.ensure_future(self.sync()))

    async def flush(self, run_id: str) -> None:
        """Nothing: the writes are the workflow's steps (:meth:`sync`)."""

    # -- the workflow side: write at step boundaries -------------------------------------------

    async def sync(self) -> None:
        """Write the current workflow's events collected so far, as an engine step (nothing
        when there are none: no step). Writes of one workflow happen one after another, in
        the order they were asked for."""
        key = self._workflow_of()
        if key is None:
            return
        lock = self._writing.get(key)
        if lock is None:
            lock = self._writing[key] = asyncio.Lock()
        async with lock:
            batch = self._pending.pop(key, None)
            if not batch:
                return
            try:
                await self._step(LOG_STEP, self.write, batch)
            except BaseException as exc:
                # never lost: the next write (the run's last, at the latest) tries them again
                self._pending[key] = [*batch, *self._pending.get(key, [])]
                if isinstance(exc, Exception) and not isinstance(exc, DurableEngineError):
                    raise log_failed(exc) from exc
                raise

    async def settle(self) -> None:
        """The run ended: finish the writes it started while waiting, then write the rest."""
        key = self._workflow_of()
        if key is None:
            return
        try:
            for started in self._waits.pop(key, []):
                await started
            await self.sync()
        finally:
            self._writing.pop(key, None)
            self._pending.pop(key, None)
            for run_id in self._runs_of.pop(key, ()):
                self._last.pop(run_id, None)

    async def write(self, events: Sequence[Event]) -> int:
        """Append the events the store does not hold yet (by run, in ``seq`` order); returns
        how many were appended. Idempotent: a write repeated after a crash appends nothing
        twice."""
        by_run: dict[str, list[Event]] = {}
        for event in events:
            by_run.setdefault(event.run_id, []).append(event)
        written = 0
        async with self._lock():
            for run_id, batch in by_run.items():
                written += await self._append_new(run_id, batch)
        return written

    def _lock(self) -> asyncio.Lock:
        loop = id(asyncio.get_running_loop())
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _append_new(self, run_id: str, batch: list[Event]) -> int:
        store = self.store
        last = self._last.get(run_id)
        if last is None:  # this process's first write of the run (maybe a recovered one)
            last = await self._stored_last(run_id, batch)
        fresh = [e for e in batch if e.seq > last]
        if not fresh:
            return 0
        try:
            await store.append(run_id, fresh)
        except UserError as exc:
            if "already has an event" not in str(exc):
                raise
            # another process wrote meanwhile (a retried step): append what is still missing
            last = await self._stored_last(run_id)
            fresh = [e for e in batch if e.seq > last]
            if fresh:
                await store.append(run_id, fresh)
        if fresh:
            self._last[run_id] = fresh[-1].seq
        return len(fresh)

    async def _stored_last(self, run_id: str, batch: Sequence[Event] = ()) -> int:
        """The last seq stored for the run; says so (a warning) when the stored events at the
        batch's seqs are other events: the recovered run did not repeat the first's events
        exactly, and its log would keep the first's."""
        stored = await self.store.load(run_id)
        kinds = {e.seq: e.type for e in stored}
        differ = next((e for e in batch if kinds.get(e.seq, e.type) != e.type), None)
        if differ is not None:
            logger.warning(
                "the tether log of run %s differs from its recovered run at seq %d (%s stored, "
                "%s now): the log keeps what was written first",
                run_id,
                differ.seq,
                kinds[differ.seq],
                differ.type,
            )
        return stored[-1].seq if stored else 0

    # -- threads -------------------------------------------------------------------------------

    async def load_thread(self, thread_id: str) -> list[Message]:
        """The thread's messages, read in an engine step (a recovered run gets the same)."""
        found: list[Message] = await self._step("tether.thread.load", self._load_thread, thread_id)
        return found

    async def save_thread(self, thread_id: str, messages: Sequence[Message]) -> None:
        """Replace the thread's messages, in an engine step (a repeated save is the same)."""
        await self._step("tether.thread.save", self._save_thread, thread_id, list(messages))

    async def _load_thread(self, thread_id: str) -> list[Message]:
        return await self.store.load_thread(thread_id)

    async def _save_thread(self, thread_id: str, messages: list[Message]) -> int:
        await self.store.save_thread(thread_id, messages)
        return len(messages)

    def seam(self, inner: CallSeam) -> SyncSeam:
        """``inner`` with the log written before every model call."""
        return SyncSeam(inner, self, observe=self.engine == "dbos")


@dataclasses.dataclass(slots=True)
class ObservedResponse(ModelResponse):
    """A model response with the events the model runtime reported during its call (retries,
    fallbacks, cache hits): recorded with it by the engine's step, so a recovered run, which
    gets the recorded response, reports them again, in the same place."""

    observed: list[Event] = dataclasses.field(default_factory=list)


def _with(response: ModelResponse, observed: list[Event]) -> ModelResponse:
    if not observed:
        return response
    fields = {f.name: getattr(response, f.name) for f in dataclasses.fields(ModelResponse)}
    return ObservedResponse(**fields, observed=observed)


def _delivered(item: Any, request: ModelRequest) -> Any:
    """``item`` as the loop knows it, its recorded runtime events reported to the run."""
    if not isinstance(item, ObservedResponse):
        return item
    for event in item.observed:
        request.notify(event)
    fields = {f.name: getattr(item, f.name) for f in dataclasses.fields(ModelResponse)}
    return ModelResponse(**fields)


class ObservedModel(ModelWrapper):
    """Inside the engine's step: the model runtime's events of a call kept with its response
    (:class:`ObservedResponse`) instead of reported at once."""

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the wrapped model, keeping what its runtime reports."""
        seen: list[Event] = []
        response = await self.model.request(dataclasses.replace(request, observer=seen.append))
        return _with(response, seen)

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream the wrapped model, the runtime's reports kept with the final response."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        seen: list[Event] = []
        async for item in self.model.stream(dataclasses.replace(request, observer=seen.append)):
            yield _with(item, seen) if isinstance(item, ModelResponse) else item


class SyncedModel(ModelWrapper):
    """A model whose every call is preceded by a write of the run's log so far (and whose
    recorded runtime events, if any, are reported to the run when the call returns)."""

    def __init__(self, model: Model, mirror: LogMirror) -> None:
        super().__init__(model)
        self._mirror = mirror

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Write the log, then ask the wrapped model."""
        await self._mirror.sync()
        response: ModelResponse = _delivered(await self.model.request(request), request)
        return response

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Write the log, then stream the wrapped model."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        await self._mirror.sync()
        async for item in self.model.stream(request):
            yield _delivered(item, request)


class SyncSeam:
    """The engine's CallSeam with the log written at each model call (a turn's boundary).
    With ``observe`` (DBOS, where the model runs inside the step), the model runtime's events
    are recorded with the step's response (:class:`ObservedModel`)."""

    def __init__(self, inner: CallSeam, mirror: LogMirror, observe: bool = False) -> None:
        self._inner = inner
        self._mirror = mirror
        self._observe = observe
        self._models: dict[int, tuple[Model, SyncedModel]] = {}
        self._observed: dict[int, tuple[Model, ObservedModel]] = {}

    def model(self, agent: AgentSpec, model: Model) -> Model:
        """``agent``'s model step, the log written before each call."""
        if isinstance(model, SyncedModel):
            return model
        if self._observe and not isinstance(model, ObservedModel):
            seen = self._observed.get(id(model))
            if seen is None or seen[0] is not model:
                seen = self._observed[id(model)] = (model, ObservedModel(model))
            model = seen[1]
        stepped = self._inner.model(agent, model)
        known = self._models.get(id(stepped))
        if known is None or known[0] is not stepped:
            known = (stepped, SyncedModel(stepped, self._mirror))
            self._models[id(stepped)] = known
        return known[1]

    def tool(self, agent: AgentSpec, tool: Tool[Any]) -> Tool[Any]:
        """The engine's tool step, as is."""
        return self._inner.tool(agent, tool)


def log_failed(exc: BaseException) -> DurableEngineError:
    """The error of a log write that failed (the store's own message, secrets scrubbed)."""
    from ..tracing.redact import scrub_secrets

    return DurableEngineError(
        "the run's tether log could not be written to its store (store=): "
        + scrub_secrets(f"{type(exc).__name__}: {exc}")
    )


def refuse_thread(mirror: LogMirror | None, thread_id: str | None, engine: str) -> None:
    """A ``thread_id=`` needs the engine's store, where the thread is kept durably."""
    if thread_id is not None and mirror is None:
        raise DurableEngineError(
            f"thread_id= under {engine} needs a store for the thread ({engine}Durability("
            "store='sqlite:///runs.db') or a PostgreSQL URL): without one the thread would live "
            "in one process's memory, lost or repeated when the workflow is recovered"
        )
