"""afk's API on tether: ``from tether.compat.afk import Agent, Runner, RunnerConfig``.

afk's Runner is an object you make once and hand agents to, with the message as
``user_message=``. Differences from :class:`tether.Runner`, all from afk's documentation:

- ``runner.run(agent, user_message=...)`` / ``run_sync`` / ``run_handle`` (a
  :class:`~tether.RunHandle`: ``handle.events``, ``pause``/``resume``/``cancel``/``interrupt``,
  ``await_result()``); ``runner.resume(agent, run_id=..., thread_id=...)``;
  ``runner.compact_thread(thread_id=...)`` summarizes with the thread's agent's model;
- :class:`RunnerConfig` sanitizes tool output by default (``sanitize_tool_output=True``);
- ``Runner(policy_engine=...)`` takes a :class:`~tether.governance.PolicyEngine`;
- the result is tether's :class:`~tether.Result`: ``final_text``, ``state``, ``run_id``,
  ``thread_id``, ``tool_executions``, ``subagent_executions``, ``usage_aggregate``,
  ``state_snapshot``; events carry a human-readable ``event.message``;
- a run that ends ``failed``, ``cancelled`` or ``interrupted`` is returned, not raised: its
  ``state`` says so and a failed run's ``final_text`` is the error message (afk's state
  table). Errors before a run starts (bad configuration) are raised as UserError.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...agent import Agent
from ...config import FailSafeConfig
from ...config import RunnerConfig as _TetherRunnerConfig
from ...errors import TetherError, UserError
from ...governance import PolicyEngine, PolicyHooks, PolicyRule, PolicyVerdict
from ...results import Result, SubagentExecutionRecord, ToolExecutionRecord
from ...run.handle import RunHandle
from ...run.runner import DEFAULT_STORE
from ...run.runner import Runner as _TetherRunner
from ...usage import Usage

__all__ = [
    "Agent",
    "AgentResult",
    "FailSafeConfig",
    "PolicyEngine",
    "PolicyRule",
    "PolicyVerdict",
    "RunHandle",
    "Runner",
    "RunnerConfig",
    "SubagentExecutionRecord",
    "ToolExecutionRecord",
    "UsageAggregate",
]

#: afk's result class is tether's Result.
AgentResult = Result
#: afk's name of :class:`tether.Usage`.
UsageAggregate = Usage


@dataclass(frozen=True, kw_only=True)
class RunnerConfig(_TetherRunnerConfig):
    """tether's RunnerConfig with afk's safety default: tool output sanitized."""

    sanitize_tool_output: bool | None = True


class Runner:
    """afk's Runner over a :class:`tether.Runner` (reachable as :attr:`engine`)."""

    def __init__(
        self,
        *,
        config: _TetherRunnerConfig | None = None,
        telemetry: Any = "jsonl",
        policy_engine: PolicyEngine | None = None,
        policy_hooks: PolicyHooks | None = None,
        store: Any = DEFAULT_STORE,
        agents: Sequence[Agent] = (),
    ) -> None:
        if policy_engine is not None:
            if not isinstance(policy_engine, PolicyEngine):
                raise UserError("policy_engine must be a tether.governance.PolicyEngine")
            if policy_hooks is not None and policy_hooks.policy_engine is not None:
                raise UserError("give policy_engine= or PolicyHooks(policy_engine=...), not both")
            base = policy_hooks or PolicyHooks()
            policy_hooks = PolicyHooks(
                pii_redaction=base.pii_redaction,
                tool_filter=base.tool_filter,
                approval_gate=base.approval_gate,
                policy_engine=policy_engine,
            )
        #: The tether Runner doing the work.
        self.engine = _TetherRunner(
            store=store,
            telemetry=telemetry,
            policy_hooks=policy_hooks,
            config=config if config is not None else RunnerConfig(),
            agents=agents,
        )
        self._thread_models: dict[str, Any] = {}

    def _remember(self, agent: Agent, thread_id: str | None) -> None:
        if thread_id is not None and agent.model is not None:
            self._thread_models[thread_id] = agent.model

    async def run(
        self,
        agent: Agent,
        *,
        user_message: Any = None,
        context: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
    ) -> Result[Any]:
        """Run ``agent`` on ``user_message`` to the end (``context`` is the tools' ``ctx.deps``)."""
        self._remember(agent, thread_id)
        return await _settled(
            lambda: self.engine.run(
                agent, _message(user_message), deps=context, thread_id=thread_id, run_id=run_id
            )
        )

    def run_sync(
        self,
        agent: Agent,
        *,
        user_message: Any = None,
        context: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
    ) -> Result[Any]:
        """Blocking twin of :meth:`run` (UserError inside a running event loop)."""
        self._remember(agent, thread_id)
        try:
            return self.engine.run_sync(
                agent, _message(user_message), deps=context, thread_id=thread_id, run_id=run_id
            )
        except TetherError as exc:
            return _ended(exc)

    async def run_handle(
        self,
        agent: Agent,
        *,
        user_message: Any = None,
        context: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
    ) -> RunHandle:
        """Start the run in the background; returns its handle (events and lifecycle controls)."""
        self._remember(agent, thread_id)
        return await self.engine.start(
            agent, _message(user_message), deps=context, thread_id=thread_id, run_id=run_id
        )

    async def resume(
        self,
        agent: Agent,
        *,
        run_id: str,
        thread_id: str | None = None,
        approvals: dict[str, bool | str] | None = None,
    ) -> Result[Any]:
        """Continue a stored run from its checkpoint (a finished run returns its Result).

        ``thread_id`` is checked against the run's own thread: the run keeps its thread.
        """
        if thread_id is not None:
            state = await self.engine.load_state(run_id)
            if state.thread_id != thread_id:
                raise UserError(
                    f"run {run_id!r} belongs to thread {state.thread_id!r}, not {thread_id!r}"
                )
        return await _settled(lambda: self.engine.resume(run_id, agent, approvals))

    async def compact_thread(self, *, thread_id: str, keep_last: int = 6, model: Any = None) -> int:
        """Summarize a thread's older messages (with ``model``, else the model of the agent
        that last ran on the thread here); returns how many messages were folded."""
        chosen = model if model is not None else self._thread_models.get(thread_id)
        return await self.engine.compact_thread(thread_id, keep_last=keep_last, model=chosen)

    async def aclose(self) -> None:
        """Write out the traces and close the store."""
        await self.engine.aclose()


def _message(user_message: Any) -> Any:
    if user_message is None:
        raise UserError("the run needs user_message=... (the text, or a list of input items)")
    return user_message


def _ended(exc: TetherError) -> Result[Any]:
    """The Result of a run that ended with ``exc``; errors outside a run are raised."""
    result = exc.result
    if not isinstance(result, Result):
        raise exc
    if result.state == "failed" and not result.final_text:
        return replace(result, final_text=str(exc))
    return result


async def _settled(start: Callable[[], Awaitable[Result[Any]]]) -> Result[Any]:
    try:
        return await start()
    except TetherError as exc:
        return _ended(exc)
