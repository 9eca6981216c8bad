"""Runner: runs agents, persists their event logs, exports traces, resumes and replays runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, overload

from .._subagents import run_subagent, stored_state
from ..config import RunConfig, RunnerConfig
from ..config._record import RunArgs, start_settings
from ..durable._setting import refuse_without_engine
from ..durable._setting import run_durably as _durable
from ..engine._wiring import CallSeam, RunWiring
from ..engine.control import Control
from ..errors import TetherError, UserError
from ..events import Event, RunFinished, RunStarted
from ..governance.effects import ledger_of
from ..messages import Message, input_to_messages
from ..models.resolve import ModelResolver
from ..results import Result, RunState
from ..store import MemoryStore, Store, open_store
from ..store._ids import check_run_id, check_thread_id, new_run_id
from . import _resume
from ._drive import drive, last_event
from ._resume import ResumeOptions, Verdicts, interactive_config, resume_run
from ._start import agent_fingerprint, policy_of, redacted, refuse_inside_loop
from .handle import RunHandle

if TYPE_CHECKING:
    from typing import Unpack

    from .._spec import AgentSpec
    from ..debug import Breakpoint
    from ..governance.approval import Approval
    from ..governance.hooks import PolicyHooks
    from ..tracing.base import Exporter

__all__ = ["Runner", "default_runner"]

_new = object.__new__
DEFAULT_STORE = "sqlite:///.tether/tether.db"
RunInput = str | Message | Sequence[Any]


class Runner:
    """Runs agents with shared settings: a store, telemetry, defaults, registered agents.

    ``store`` is a Store or a URL (``"sqlite:///path"``, ``"postgresql://..."``,
    ``"memory://"``) or None for no persistence. ``telemetry`` is ``"jsonl"``, ``"console"``,
    ``"json"``, ``"otel"``, an Exporter, a list of those, or None.
    """

    def __init__(
        self,
        *,
        store: Store | str | None = DEFAULT_STORE,
        telemetry: str | Exporter | Sequence[str | Exporter] | None = "jsonl",
        policy_hooks: PolicyHooks | None = None,
        config: RunnerConfig | RunConfig | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        agents: Sequence[AgentSpec] = (),
    ) -> None:
        self._store_spec = store
        self._store: Store | None = None
        self._telemetry_spec = telemetry
        self._exporters: list[Exporter] | None = None
        from ..governance.hooks import PolicyHooks as Hooks

        if policy_hooks is not None and not isinstance(policy_hooks, Hooks):
            raise UserError("policy_hooks must be a tether.governance.PolicyHooks")
        self.policy_hooks: PolicyHooks | None = policy_hooks
        self._call_seam: CallSeam | None = None  # wraps every call (set by tether.durable)
        self.config = RunConfig(max_concurrency=max_concurrency, timeout=timeout).over(
            config or RunConfig()
        )
        self._agents: dict[str, AgentSpec] = {}
        self._registered: set[str] = set()
        self._models = ModelResolver()
        self._resolve_model = self._models.resolve
        self._run_child = partial(run_subagent, self)  # made once: every run is handed it
        self._active: set[str] = set()
        self._lease_resumes = True  # False in a Ray worker of a server (the server holds them)
        self._memory_threads = MemoryStore()  # where threads are kept without a store
        for agent in agents:
            self.register_agent(agent)

    def register_agent(self, agent: AgentSpec) -> AgentSpec:
        """Make ``agent`` known by name (for ``run("name", ...)``, handoffs and resume)."""
        known = self._agents.get(agent.name)
        if known is not None and known is not agent:
            raise UserError(f"another agent named {agent.name!r} is already registered")
        self._agents[agent.name] = agent
        self._registered.add(agent.name)
        return agent

    def get_agent(self, name: str) -> AgentSpec | None:
        """A registered agent by name."""
        return self._agents.get(name)

    @property
    def agents(self) -> dict[str, AgentSpec]:
        """The agents known by name, registered or run here (a copy): what a server serves."""
        return dict(self._agents)

    @property
    def store(self) -> Store | None:
        """The store (opened on first use), or None."""
        if self._store is None and self._store_spec is not None:
            self._store = open_store(self._store_spec)
        return self._store

    @property
    def exporters(self) -> list[Exporter]:
        """The telemetry exporters (built on first use)."""
        if self._exporters is None:
            from ..tracing.setup import exporters_from_spec

            self._exporters = exporters_from_spec(self._telemetry_spec)
        return self._exporters

    @property
    def _threads(self) -> Store:
        """Where the threads (``thread_id=``) are kept: the store, else in memory."""
        return self.store or self._memory_threads

    def _config(self, run_config: RunConfig | None) -> RunConfig:
        return run_config.over(self.config) if run_config is not None else self.config

    def _agent(self, agent: AgentSpec | str) -> AgentSpec:
        if isinstance(agent, str):
            found = self._agents.get(agent)
            if found is None:
                names = ", ".join(sorted(self._agents)) or "none"
                raise UserError(f"no agent named {agent!r} is registered (registered: {names})")
            return found
        # An agent this runner ran is known by name from then on, so resume() needs no setup;
        # the latest instance run under a name wins (an agent rebuilt per request), unless one
        # was registered explicitly.
        if agent.name not in self._registered:
            self._agents[agent.name] = agent
        return agent

    async def _session(
        self, args: RunArgs, *, interactive: bool = False, parent_run_id: str | None = None
    ) -> RunWiring:
        refuse_without_engine(args.run_config, handle=interactive)  # only run() hands a run over
        agent = self._agent(args.agent)
        config = interactive_config(self._config(args.run_config), interactive)
        if config.max_cost is not None or agent.max_cost is not None:  # else nothing to check
            await self._models.check_prices(agent, config)
        messages = input_to_messages(args.input)
        pii = self.policy_hooks.pii_redaction if self.policy_hooks is not None else None
        if pii is not None:
            messages = [redacted(m, pii.redact) for m in messages]
        thread_id = args.thread_id
        if args.run_id is not None:
            check_run_id(args.run_id)  # the same rules for every store, before anything is done
        if thread_id is not None:
            check_thread_id(thread_id)
        run_id = args.run_id or new_run_id()
        history = await self._threads.load_thread(thread_id) if thread_id is not None else []
        state = RunState(run_id)
        session = self._new_session(state, agent, config, args.deps, args.stream, interactive)
        policy = session.policy
        turns = config.max_turns or (policy.max_turns(agent) if policy is not None else None)
        # made as RunStarted(...) makes it, without the dict its keywords cost (engine._deltas)
        session.start_event = started = _new(RunStarted)
        RunStarted.__init__(
            started,
            agent=agent.name,
            input=messages,
            history=history,
            thread_id=thread_id,
            trace_id=config.trace_id,
            parent_run_id=parent_run_id,
            max_turns=turns or agent.max_turns,
            max_cost=config.max_cost if config.max_cost is not None else agent.max_cost,
            workflow_name=config.workflow_name,
            # the session id: the caller's, else the conversation (thread) the run continues
            group_id=config.group_id or thread_id,
            metadata=config.trace_metadata,
            settings=start_settings(config),
            agent_fingerprint=agent_fingerprint(agent),
        )
        # last: a failed setup frees the id (a fresh uuid cannot be in the store)
        if args.run_id is None:
            self._claim_new(run_id)
        else:
            await self._claim(run_id)
        return session

    def _new_session(
        self,
        state: RunState,
        agent: AgentSpec,
        config: RunConfig,
        deps: Any,
        stream: bool = False,
        interactive: bool = False,
    ) -> RunWiring:
        """A RunWiring for a new or resumed run: control channel, hooks, policy, resolvers."""
        control = Control() if (interactive or config.timeout is not None) else None
        if control is not None and config.timeout is not None:
            control.stop_after(config.timeout)
        store = self.store
        wiring = _new(RunWiring)  # (as RunWiring(...) makes it, without a dict of keywords)
        RunWiring.__init__(
            wiring,
            state=state,
            agent=agent,
            config=config,
            deps=deps,
            stream=stream,
            control=control,
            find_agent=self._agents.get,
            run_child=self._run_child,
            load_run=partial(stored_state, store) if store is not None else None,
            resolve_model=self._resolve_model,
            seq=state.seq,
            hooks=self.policy_hooks,
            calls=self._call_seam,
            policy=policy_of(agent, config),
            effects=ledger_of(store),
        )
        return wiring

    def _claim_new(self, run_id: str) -> None:
        """Claim a fresh run id (a new uuid cannot be in the store: only the runs going on are
        asked)."""
        if run_id in self._active:
            raise UserError(
                f"run id {run_id!r} belongs to a run still going on; use a new id, or "
                f"runner.resume({run_id!r}) once it has stopped"
            )
        self._active.add(run_id)

    async def _claim(self, run_id: str) -> None:
        """Claim a run id the caller chose: neither going on nor in the store."""
        store = self.store
        if store is not None and run_id not in self._active:
            info = await store.run_info(run_id)
            if info is not None:
                raise UserError(
                    f"run id {run_id!r} is already used by a run ({info.status}); continue it with "
                    f"runner.resume({run_id!r}), or start a new run with another id"
                )
        self._claim_new(run_id)

    def _events(
        self, session: RunWiring | Callable[[], Awaitable[RunWiring]], *, quiet: bool = False
    ) -> AsyncGenerator[Event, None]:
        """The loop's events, persisted at every checkpoint and handed to the exporters
        (``quiet``: only ``run_finished`` is yielded)."""
        return drive(
            session,
            store_of=lambda: self.store,
            exporters_of=lambda: self.exporters,
            save_thread=self._save_thread,
            release=self._active.discard,
            quiet=quiet,
        )

    async def _save_thread(self, run: RunWiring) -> None:
        """Save the thread of a run that stopped; not a replay's, nor one left with unanswered
        tool calls (that would break the thread's next run: it is saved when resumed and done)."""
        st = run.state
        if st.thread_id and run.saves_thread and not st.open_calls and st.status != "failed":
            await self._threads.save_thread(st.thread_id, list(st.messages))

    async def _finish(self, session: RunWiring) -> Result[Any]:
        """Drive the run to its end: its Result, or the error of a failed run raised."""
        last = await last_event(self._events(session, quiet=True))
        # run_finished carries the Result folded when the run ended: no second fold
        done = last.result if isinstance(last, RunFinished) else None
        result = done if done is not None else session.build_result()
        error = session.error
        if error is not None:
            if isinstance(error, TetherError):
                error.run_id = result.run_id
                error.result = result
            else:  # your code's own exception (a validator's, a hook's): the Result too
                with contextlib.suppress(AttributeError, TypeError):
                    error.run_id = result.run_id  # type: ignore[attr-defined]
                    error.result = result  # type: ignore[attr-defined]
            raise error
        return result

    async def run(
        self,
        agent: AgentSpec | str,
        input: RunInput,
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Run to the end; returns the Result, raises the error of a failed run."""
        if run_config is not None and run_config.durability is not None:  # an engine's run
            return await _durable(self._agent(agent), input, deps, (thread_id, run_id), run_config)
        args = RunArgs(agent, input, deps, thread_id, run_id, run_config)
        return await self._finish(await self._session(args))

    def run_sync(
        self,
        agent: AgentSpec | str,
        input: RunInput,
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Blocking twin of :meth:`run` (not inside a running event loop)."""
        refuse_inside_loop("run_sync")
        return asyncio.run(
            self.run(
                agent, input, deps=deps, thread_id=thread_id, run_id=run_id, run_config=run_config
            )
        )

    def run_stream(
        self,
        agent: AgentSpec | str,
        input: RunInput,
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Yield every event as it happens; the last, ``run_finished``, carries the Result.

        A failed run is reported by the state of that Result, not raised. Stopping the
        iteration early stops the run where it stands: it ends ``interrupted`` (resumable).
        """
        args = RunArgs(agent, input, deps, thread_id, run_id, run_config, stream=True)
        return self._events(lambda: self._session(args))

    async def start(
        self,
        agent: AgentSpec | str,
        input: RunInput,
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
        stream: bool = True,
        breakpoints: Sequence[str | Breakpoint] | None = None,
    ) -> RunHandle:
        """Start a run in the background and return its :class:`RunHandle`.

        ``breakpoints`` (``"tool:NAME"``, ``"event:TYPE"``, ``"turn:N"``) pause the run there;
        ``handle.debugger`` steers the pauses (see tether.debug).
        """
        debugger = None
        if breakpoints is not None:
            from ..debug import Debugger

            debugger = Debugger(breakpoints)  # a bad breakpoint fails before the run starts
        args = RunArgs(agent, input, deps, thread_id, run_id, run_config, stream)
        session = await self._session(args, interactive=True)
        assert session.control is not None
        if debugger is not None:
            debugger.bind(session)
        return RunHandle(session, self._events(session), session.control)

    #: Alias of :meth:`start`.
    run_handle = start

    async def load_state(self, run_id: str) -> RunState:
        """Fold a stored run's events into its state."""
        store = self.store
        if store is None:
            raise UserError("this Runner has no store: pass store='sqlite:///...' to resume runs")
        state = await stored_state(store, run_id)
        if state is None:
            raise UserError(f"no run {run_id!r} in the store")
        return state

    @overload
    async def resume(
        self,
        run_id: str,
        agent: AgentSpec | str | None = ...,
        approvals: Verdicts | None = ...,
        *,
        breakpoints: None = ...,
        **options: Unpack[ResumeOptions],
    ) -> Result[Any]: ...
    @overload
    async def resume(
        self,
        run_id: str,
        agent: AgentSpec | str | None = ...,
        approvals: Verdicts | None = ...,
        *,
        breakpoints: Sequence[str | Breakpoint],
        **options: Unpack[ResumeOptions],
    ) -> RunHandle: ...
    async def resume(
        self,
        run_id: str,
        agent: AgentSpec | str | None = None,
        approvals: Mapping[str, bool | str | Approval | Mapping[str, Any]] | None = None,
        *,
        inputs: dict[str, Any] | None = None,
        deps: Any = None,
        run_config: RunConfig | None = None,
        allow_agent_change: bool = False,
        breakpoints: Sequence[str | Breakpoint] | None = None,
    ) -> Result[Any] | RunHandle:
        """Continue a stored run from its last checkpoint, in this or another process.

        ``approvals`` decides pending approvals (and calls a crash cut short): ``True``
        approves, a string rejects with that reason, an :class:`~tether.governance.Approval`
        (or a mapping of its fields) approves with edited ``args`` and/or an expiry, bound to
        the digest of the arguments approved. ``inputs`` answers the questions tools asked with
        ``ctx.request_input``. A finished run returns its Result. The run keeps its start
        RunConfig (``run_config`` overrides it); what cannot be restored (a policy, guardrail,
        model object) is a UserError naming it. Another agent than the one that started the
        run is refused unless ``allow_agent_change=True``. ``breakpoints`` mean what they mean
        for :meth:`start`: the run goes on in the background, its RunHandle returned at once.
        """
        options = ResumeOptions(
            inputs=inputs, deps=deps, run_config=run_config, allow_agent_change=allow_agent_change
        )
        return await resume_run(self, run_id, agent, approvals, breakpoints, options)

    def resume_stream(
        self,
        run_id: str,
        agent: AgentSpec | str | None = None,
        approvals: Verdicts | None = None,
        *,
        inputs: dict[str, Any] | None = None,
        deps: Any = None,
        run_config: RunConfig | None = None,
        allow_agent_change: bool = False,
    ) -> AsyncGenerator[Event, None]:
        """Continue a stored run as :meth:`resume` does, yielding every event as it happens
        (text deltas included), as :meth:`run_stream` does: a UI streams on after an approval.

        The last event, ``run_finished``, carries the Result; a run that has ended yields only
        that. Stopping the iteration early stops the run where it stands (``interrupted``).
        """
        options = ResumeOptions(
            inputs=inputs, deps=deps, run_config=run_config, allow_agent_change=allow_agent_change
        )
        return _resume.resume_events(self, run_id, agent, approvals, options)

    async def _resume_session(self, *args: Any, **kwargs: Any) -> RunWiring:
        """A stored run's wiring, continued (see :func:`tether.run._resume.resumed_session`)."""
        return await _resume.resumed_session(self, *args, **kwargs)

    async def resolve_deferred(
        self,
        run_id: str,
        call_id: str,
        output: Any,
        *,
        agent: AgentSpec | str | None = None,
        deps: Any = None,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Deliver the result of a deferred tool call, from any process sharing the store.

        ``output`` may be an Exception, delivered as the tool's failure. When the run has other
        deferred calls still waiting, the result is recorded and the run stays suspended;
        delivering the last one continues the run, and its Result is returned.
        """
        return await _resume.resolve_deferred(
            self, run_id, call_id, output, agent, deps, run_config
        )

    async def compact_thread(
        self,
        thread_id: str,
        *,
        keep_last: int = 6,
        model: Any = None,
        run_config: RunConfig | None = None,
    ) -> int:
        """Summarize a thread's older messages with a model; returns how many were folded.
        The summary is recorded as a run of its own (store, traces, ``max_cost``)."""
        from ..memory.compaction import compact_thread

        config = self._config(run_config)
        return await compact_thread(
            self, thread_id, keep_last=keep_last, model=model, config=config
        )

    async def replay(
        self,
        trace_id: str,
        *,
        agent: AgentSpec | str | None = None,
        tools: Literal["live", "recorded"] = "live",
        run_config: RunConfig | None = None,
        deps: Any = None,
    ) -> Result[Any]:
        """Re-run a recorded run, model answers served from its log (docs/replay.md); ``deps``
        are the tools' and history policies' ``ctx.deps``, as in :meth:`run` (never logged)."""
        from ..replay import ReplaySeams, replay_run

        seams = ReplaySeams(self.get_agent, self.store, self.exporters, self._session, self._finish)
        return await replay_run(
            seams, trace_id, agent=agent, tools=tools, run_config=run_config, deps=deps
        )

    async def aclose(self) -> None:
        """Wait for the exporters to write what they hold, and close the store."""
        for exporter in self._exporters or ():
            drain = getattr(exporter, "drain", None)
            if drain is not None:
                await drain()
        if self._store is not None:
            await self._store.close()


_DEFAULT: Runner | None = None


def default_runner() -> Runner:
    """The Runner behind ``agent.run()``: no store and no telemetry, for speed."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Runner(store=None, telemetry=None)
    return _DEFAULT
