"""routekitai's API on tether: ``from tether.compat.routekitai import Agent, Runtime``.

Differences from :class:`tether.Agent`, all from routekitai's documentation:

- ``await agent.run(prompt)`` returns a :class:`RunResult`: ``output`` is the final
  :class:`Message` (``.content``), with ``trace_id``, ``messages`` and ``final_state``;
- ``agent.run_stream(prompt)`` yields dicts: ``{"type": "trace_event", "data": {...}}`` for
  each event of the log (tether's ``turn_started`` and ``tool_call_started`` under routekitai's
  names ``step_started`` and ``tool_called``, with tether's name in ``data["tether_type"]``),
  ``{"type": "progress_update", "data": {"progress_percent": ...}}`` for progress, and last
  ``{"type": "result", "result": RunResult}``;
- an agent writes its traces (JSONL, one file per trace) to ``.routekit/traces/`` unless
  ``trace_dir=`` names another folder; it runs on an internal :class:`Runtime`;
- :class:`Runtime` (``trace_dir``, ``policy_hooks``, ``timeout``, ``max_concurrency``) runs
  registered agents by name with an optional ``policy=``, and replays traces (with the policy
  the run was given);
- routekitai's module paths work as written: ``tether.compat.routekitai.core.runtime``,
  ``.core.agent``, ``.core.hooks``, ``.core.policies`` and ``.providers.local``.

The policies, governance hooks and FakeModel are tether's own, under routekitai's names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import PrivateAttr

from ...agent import Agent as _TetherAgent
from ...config import RunConfig
from ...errors import UserError
from ...events import Event
from ...governance import ApprovalGateHook, PIIRedactionHook, PolicyHooks, ToolFilterHook
from ...models.testing import FakeModel
from ...policies import (
    FunctionCallingPolicy,
    GraphPolicy,
    PlanExecutePolicy,
    ReActPolicy,
    SupervisorPolicy,
)
from ...results import Result
from ...tools import Tool, tool
from .._openai_stream import error_of

__all__ = [
    "DEFAULT_TRACE_DIR",
    "ROUTEKIT_EVENT_NAMES",
    "Agent",
    "ApprovalGateHook",
    "FakeModel",
    "FunctionCallingPolicy",
    "GraphPolicy",
    "Message",
    "PIIRedactionHook",
    "PlanExecutePolicy",
    "PolicyHooks",
    "ReActPolicy",
    "RunResult",
    "Runtime",
    "SupervisorPolicy",
    "Tool",
    "ToolFilterHook",
    "tool",
]

#: Where an Agent writes its traces unless given ``trace_dir=``.
DEFAULT_TRACE_DIR = Path(".routekit/traces")
_POLICIES_KEPT = 1024


@dataclass(slots=True)
class Message:
    """A message of the conversation: ``role`` and its text ``content`` (for a ``tool`` message,
    the results sent back to the model)."""

    role: str
    content: str
    #: The tool calls of an assistant message, as ``{"id", "name", "arguments"}`` dicts.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class RunResult:
    """routekitai's result: the final message, the trace id, the conversation, the end state.

    Every other field of tether's :class:`~tether.Result` (``usage``, ``state``, ``run_id``,
    ``tool_executions``, ...) is read through, and ``result`` is the Result itself.
    """

    output: Message
    trace_id: str
    messages: list[Message]
    final_state: dict[str, Any]
    result: Result[Any]

    @classmethod
    def of(cls, result: Result[Any]) -> RunResult:
        """Wrap a tether Result."""
        messages = [
            Message(
                m.role,
                m.text or "\n".join(r.content for r in m.tool_results),
                [{"id": c.call_id, "name": c.name, "arguments": c.arguments} for c in m.tool_calls],
            )
            for m in result.messages
        ]
        return cls(
            Message("assistant", result.final_text),
            result.trace_id or result.run_id,
            messages,
            result.final_state,
            result,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.result, name)


#: routekitai's names of the trace events its documentation names (tether's name -> theirs).
ROUTEKIT_EVENT_NAMES = {"turn_started": "step_started", "tool_call_started": "tool_called"}


def _stream_item(event: Event) -> dict[str, Any]:
    if event.type == "progress":
        return {"type": "progress_update", "data": event.to_dict()}
    data = event.to_dict()
    renamed = ROUTEKIT_EVENT_NAMES.get(event.type)
    if renamed is not None:
        data["type"], data["tether_type"] = renamed, event.type
    return {"type": "trace_event", "data": data}


class Runtime:
    """Runs registered agents by name, with shared hooks, traces and limits."""

    def __init__(
        self,
        trace_dir: Path | str | None = None,
        *,
        policy_hooks: PolicyHooks | None = None,
        timeout: float | None = None,
        max_concurrency: int | None = None,
        store: Any = None,
    ) -> None:
        from ...run.runner import Runner

        self.trace_dir = Path(trace_dir) if trace_dir is not None else None
        telemetry: Any = None
        if self.trace_dir is not None:
            from ...tracing.jsonl import JsonlExporter

            telemetry = JsonlExporter(self.trace_dir)
        #: The tether Runner doing the work.
        self.engine = Runner(
            store=store,
            telemetry=telemetry,
            policy_hooks=policy_hooks,
            timeout=timeout,
            max_concurrency=max_concurrency,
        )
        # The policy each run was given (by run and trace id), so replay() can pass it again.
        self._policies: dict[str, Any] = {}

    def register_agent(self, agent: _TetherAgent) -> _TetherAgent:
        """Make ``agent`` runnable by its name."""
        self.engine.register_agent(agent)
        return agent

    def _target(self, agent_name: str | _TetherAgent) -> _TetherAgent:
        if not isinstance(agent_name, str):
            return agent_name
        found = self.engine.get_agent(agent_name)
        if found is None:
            raise UserError(f"no agent named {agent_name!r} is registered with this Runtime")
        return cast("_TetherAgent", found)  # the Runner types agents by the engine's AgentSpec

    @staticmethod
    def _config(policy: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        config = kwargs.pop("run_config", None)
        if policy is not None:
            config = RunConfig(policy=policy).over(config)
        return {"run_config": config, **kwargs}

    async def run(
        self, agent_name: str | _TetherAgent, prompt: Any, policy: Any = None, **kwargs: Any
    ) -> RunResult:
        """Run the named agent on ``prompt`` (``kwargs``: deps, thread_id, run_id, run_config)."""
        target = self._target(agent_name)
        result = await self.engine.run(target, prompt, **self._config(policy, kwargs))
        self._remember(policy, result)
        return RunResult.of(result)

    def _remember(self, policy: Any, result: Result[Any]) -> None:
        if policy is None:
            return
        while len(self._policies) >= _POLICIES_KEPT:  # oldest first: dicts keep insertion order
            del self._policies[next(iter(self._policies))]
        for key in {result.run_id, result.trace_id or result.run_id}:
            self._policies[key] = policy

    async def run_stream(
        self, agent_name: str | _TetherAgent, prompt: Any, policy: Any = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """The run as routekitai's dict events; a failed run raises its error at the end."""
        target = self._target(agent_name)
        stream = self.engine.run_stream(target, prompt, **self._config(policy, kwargs))
        result: Result[Any] | None = None
        async for event in stream:
            yield _stream_item(event)
            if event.type == "run_finished":
                result = getattr(event, "result", None)
        if result is None:  # pragma: no cover - the log always ends with run_finished
            raise UserError("the run ended without a result")
        self._remember(policy, result)
        if result.state == "failed":
            raise error_of(result)
        yield {"type": "result", "result": RunResult.of(result)}

    async def replay(
        self,
        trace_id: str,
        agent_name: str | None = None,
        *,
        policy: Any = None,
        run_config: RunConfig | None = None,
    ) -> RunResult:
        """Re-run a recorded trace with the model's answers served from it (needs trace_dir).

        A run started here with ``policy=`` is replayed with the same policy; a trace recorded
        by another process needs ``policy=`` again (a policy object is not kept in a trace).
        """
        if self.trace_dir is None:
            raise UserError("replay needs a Runtime with trace_dir= (where the traces are)")
        await self.drain()
        if policy is None:
            policy = self._policies.get(trace_id)
        config = self._config(policy, {"run_config": run_config})["run_config"]
        result = await self.engine.replay(trace_id, agent=agent_name, run_config=config)
        return RunResult.of(result)

    async def drain(self) -> None:
        """Wait until the traces handed over so far are written."""
        for exporter in self.engine.exporters:
            drain = getattr(exporter, "drain", None)
            if drain is not None:
                await drain()


class Agent(_TetherAgent):
    """A routekitai agent: async ``run`` returning :class:`RunResult`, dict ``run_stream``,
    traces to ``trace_dir`` (default ``.routekit/traces/``)."""

    trace_dir: Path | None = None
    _runtime: Runtime | None = PrivateAttr(default=None)

    @property
    def runtime(self) -> Runtime:
        """The internal Runtime this agent runs on (made on first use)."""
        runtime: Runtime | None = self._private()["_runtime"]
        if runtime is None:
            runtime = Runtime(trace_dir=self.trace_dir or DEFAULT_TRACE_DIR)
            runtime.register_agent(self)
            self._runtime = runtime
        return runtime

    async def run(  # type: ignore[override]  # routekitai's run returns its RunResult
        self, input: Any, **kwargs: Any
    ) -> RunResult:
        """Run on the internal Runtime; ``kwargs`` as :meth:`Runtime.run` takes them."""
        return await self.runtime.run(self, input, **kwargs)

    def run_stream(  # type: ignore[override]  # routekitai streams dict events
        self, input: Any, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """The run as routekitai's dict events (see the module docstring)."""
        return self.runtime.run_stream(self, input, **kwargs)
