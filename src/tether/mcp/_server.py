"""tether agents as an MCP server: each agent is a tool (and, optionally, its own tools too).

A call of an agent's tool is a run on the Runner (durable like any other run): progress events
become MCP progress notifications, a client cancelling the request cancels the run, and a run
that waits for an approval asks the person through the client (elicitation) when the client
supports it, else answers that the run waits, with its run id.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import ValidationError

from ..errors import UserError
from ._client import import_mcp

if TYPE_CHECKING:
    from ..agent import Agent
    from ..governance.hooks import PolicyHooks
    from ..run.runner import Runner

__all__ = ["build_server", "serve", "serve_http", "serve_stdio"]

_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "description": "What to ask the agent."},
        "thread_id": {
            "type": "string",
            "description": "Continue this conversation thread (optional).",
        },
    },
    "required": ["prompt"],
}

_APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {"type": "boolean", "title": "Approve", "description": "Let the call run."},
        "reason": {"type": "string", "title": "Reason", "description": "Why (when rejecting)."},
    },
    "required": ["approve"],
}


_INPUT_SCHEMA_ANSWER: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "title": "Answer"}},
    "required": ["answer"],
}


def _tool_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "_", name)[:64] or "agent"


class _Exposed:
    """What the MCP server offers: agent tools and (with ``tools=True``) the agents' tools."""

    def __init__(self, runner: Runner, agents: Sequence[Agent], tools: bool) -> None:
        self.runner = runner
        self.agents: dict[str, Agent] = {}
        self.direct: dict[str, tuple[Agent, Any]] = {}
        for agent in agents:
            name = _tool_name(agent.name)
            if name in self.agents:
                raise UserError(f"two agents would both be the MCP tool {name!r}: rename one")
            self.agents[name] = agent
        if tools:
            from ..governance.outside import may_list

            for name, agent in list(self.agents.items()):
                for own in agent.tools_map.values():
                    if own.subagent is not None or own.needs_approval is not False:
                        continue  # runs of other agents, and gated tools, stay inside runs
                    if not may_list(runner.policy_hooks, own.name):
                        continue  # hidden or gated by the Runner's governance: the same
                    full = f"{name}.{own.name}"[:64]
                    if full in self.agents or full in self.direct:
                        raise UserError(f"two tools would both be the MCP tool {full!r}")
                    self.direct[full] = (agent, own)

    def listing(self) -> list[Any]:
        mcp_types = _mcp_types()
        listed = []
        for name, agent in self.agents.items():
            listed.append(
                mcp_types.Tool(
                    name=name,
                    description=agent.description or f"Ask the {agent.name} agent.",
                    input_schema=_INPUT_SCHEMA,
                    output_schema=_output_schema(agent),
                )
            )
        for name, (_agent, own) in self.direct.items():
            listed.append(
                mcp_types.Tool(name=name, description=own.description, input_schema=own.parameters)
            )
        return listed


def _mcp_types() -> Any:
    import_mcp()
    import mcp_types

    return mcp_types


def _output_schema(agent: Agent) -> dict[str, Any] | None:
    """The agent's output schema as an MCP ``outputSchema``: an object type as it is, any
    other type as ``{"result": ...}``; self-contained either way (``$defs`` at the root)."""
    schema = agent.output_schema
    if schema is None:
        return None
    sent = schema.spec.schema  # the schema the model is given: every $ref resolves inside it
    if not schema.spec.wrapped:
        return sent
    return {
        **sent,
        "properties": {"result": sent["properties"]["response"]},
        "required": ["result"],
    }


def _structured(agent: Agent, output: Any) -> dict[str, Any] | None:
    schema = agent.output_schema
    if schema is None:
        return None
    from pydantic import TypeAdapter

    dumped = TypeAdapter(schema.output_type).dump_python(output, mode="json")
    return {"result": dumped} if schema.spec.wrapped else cast("dict[str, Any]", dumped)


def _text_result(text: str, *, error: bool = False, structured: Any = None) -> Any:
    mcp_types = _mcp_types()
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)],
        structured_content=structured,
        is_error=error,
    )


async def _progress(ctx: Any, event: Any, run_id: str) -> None:
    message = f"run {run_id}: turn {event.turn} of {event.max_turns}"
    try:
        await ctx.session.report_progress(float(event.turn), float(event.max_turns), message)
    except Exception:  # pragma: no cover - a client gone away: the run goes on regardless
        return


def _can_elicit(ctx: Any) -> bool:
    """Whether the client can be asked (elicitation) on this request: it says it can, and the
    request has a back-channel (a 2026-07-28 per-request client has none: it is told)."""
    capabilities = getattr(ctx.session, "client_capabilities", None)
    if getattr(capabilities, "elicitation", None) is None:
        return False
    return bool(getattr(ctx.session, "can_send_request", True))


async def _ask_approval(ctx: Any, tool: str, args: Any, agent: str) -> bool | str:
    """Ask the person behind the client about one approval: True, or the rejection reason."""
    shown = json.dumps(args, default=str)[:500]
    answer = await ctx.session.elicit_form(
        f"The {agent or 'running'} agent wants to call {tool} with {shown}. Approve?",
        _APPROVAL_SCHEMA,
        related_request_id=ctx.request_id,
    )
    if answer.action != "accept" or not answer.content:
        return f"the user answered {answer.action!r} to the approval request"
    if answer.content.get("approve") is True:
        return True
    return str(answer.content.get("reason") or "rejected by the user")


async def _ask_input(ctx: Any, prompt: str, tool: str, agent: str) -> str | None:
    """Ask the person behind the client a tool's question: the answer, or None (declined)."""
    answer = await ctx.session.elicit_form(
        f"The {agent or 'running'} agent's {tool} tool asks: {prompt}",
        _INPUT_SCHEMA_ANSWER,
        related_request_id=ctx.request_id,
    )
    if answer.action != "accept" or not answer.content:
        return None
    value = answer.content.get("answer")
    return None if value is None else str(value)


#: Where ``tether mcp serve`` found each agent it serves (``module:attribute``), recorded in
#: the agent's runs so that ``tether runs approve`` can resume them in another process.
#: (By the agent's id: agents are not hashable; the CLI's agents live as long as the process.)
_SPECS: dict[int, tuple[Agent, str]] = {}


def remember_spec(agent: Agent, spec: str) -> None:
    """Record that ``agent`` is importable as ``spec`` (``module:attribute``)."""
    _SPECS[id(agent)] = (agent, spec)


def _spec_of(agent: Agent) -> str | None:
    found = _SPECS.get(id(agent))
    return found[1] if found is not None and found[0] is agent else None


def _waiting(result: Any) -> Any:
    """The answer for a run that stopped to wait (stored): what it waits for and the command
    that gives it, which resumes the run."""
    run_id = result.run_id
    waits = [
        (
            "approval of",
            [(p.call_id, f"{p.tool_name} (call {p.call_id})") for p in result.pending_approvals],
            "Approve it with",
            "approve {run} {call}",
            " (add --reject --reason R to reject)",
            "runner.resume({run!r}, approvals={{call_id: True}})",
        ),
        (
            "an answer to",
            [(q.call_id, f"{q.prompt!r} (call {q.call_id})") for q in result.pending_inputs],
            "Answer with",
            "answer {run} {call} TEXT",
            "",
            "runner.resume({run!r}, inputs={{call_id: value}})",
        ),
        (
            "the deferred result of",
            [(c, f"call {c} (ticket {t})") for c, t in result.deferred.items()],
            "Deliver it with",
            "deliver {run} {call} RESULT",
            "",
            "runner.resolve_deferred({run!r}, call_id, output)",
        ),
    ]
    said = [
        f"The run {run_id} waits for {what}: {', '.join(n for _, n in named)}. {verb} "
        + "; ".join(f"`tether runs {command.format(run=run_id, call=c)}`" for c, _ in named)
        + f"{extra}, which resumes the run; or from Python with {python.format(run=run_id)}."
        for what, named, verb, command, extra, python in waits
        if named
    ]
    return _text_result(" ".join(said))


async def _stop(handle: Any) -> None:
    await handle.cancel()
    await handle.result()


async def _follow(ctx: Any, handle: Any, elicit: bool) -> tuple[Any, str | None]:
    """Follow a run to its end, reporting progress: (its Result, why it was stopped here).
    In an interactive run (no store), ask the person through the client about its approvals
    and questions as they come. A client that cancels the request cancels the run."""
    from ..events import ApprovalRequested, InputRequested, ToolCallDeferred

    try:
        async for event in handle.events:
            if event.type == "progress":
                await _progress(ctx, event, handle.run_id)
            elif not elicit:
                continue
            elif isinstance(event, ApprovalRequested):
                verdict = await _ask_approval(ctx, event.tool_name, event.args, event.agent)
                if verdict is True:
                    await handle.approve(event.call_id)
                else:
                    await handle.reject(event.call_id, str(verdict))
            elif isinstance(event, InputRequested):
                value = await _ask_input(ctx, event.prompt, event.tool_name, event.agent)
                if value is None:
                    await _stop(handle)
                    return await handle.result(), f"the user declined to answer {event.prompt!r}"
                await handle.respond(event.call_id, value)
            elif isinstance(event, ToolCallDeferred):
                await _stop(handle)
                why = f"{event.tool_name} deferred its result, which needs a store to arrive"
                return await handle.result(), why
        return await handle.result(), None
    except BaseException:
        await asyncio.shield(_stop(handle))
        raise


async def _give_up(runner: Runner, run_id: str) -> None:
    """End a stored waiting run as cancelled (the client cancelled the request that waits)."""
    from ..cli._ops import cancel_run

    assert runner.store is not None
    try:
        await cancel_run(runner.store, run_id, "cancelled by the MCP client")
    except UserError:  # it ended meanwhile
        return


async def _decide(ctx: Any, result: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Ask the person through the client about a stored run's approvals and questions:
    (approvals, inputs) to resume it with, or None when a question was declined."""
    approvals: dict[str, Any] = {}
    for p in result.pending_approvals:
        approvals[p.call_id] = await _ask_approval(ctx, p.tool_name, p.args, p.agent_name)
    inputs: dict[str, Any] = {}
    for q in result.pending_inputs:
        value = await _ask_input(ctx, q.prompt, q.tool_name, q.agent_name)
        if value is None:
            return None
        inputs[q.call_id] = value
    return approvals, inputs


async def _run_agent(exposed: _Exposed, ctx: Any, agent: Agent, arguments: dict[str, Any]) -> Any:
    from ..cli._common import AGENT_SPEC_KEY
    from ..config import RunConfig

    prompt = arguments.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return _text_result("`prompt` (a non-empty string) is required", error=True)
    thread_id = arguments.get("thread_id")
    if thread_id is not None and not isinstance(thread_id, str):
        return _text_result("`thread_id` must be a string", error=True)
    # A stored run stops (headless) at what it waits for: a client that can ask its user
    # (elicitation) is asked, and the run resumed with the answers; otherwise the answer names
    # the run and the commands that continue it. A deferred result comes from elsewhere.
    # Without a store the run waits in memory (interactive) for what the client is asked.
    runner = exposed.runner
    elicit = _can_elicit(ctx)
    durable = runner.store is not None
    live = elicit and not durable
    mode: Literal["interactive", "headless"] = "interactive" if live else "headless"
    spec = _spec_of(agent)
    config = RunConfig(
        interaction_mode=mode,
        trace_metadata=None if spec is None else {AGENT_SPEC_KEY: spec},
    )
    try:
        handle = await runner.start(agent, prompt, thread_id=thread_id, run_config=config)
    except UserError as exc:  # a bad thread id, a model without a key: the caller is told
        return _text_result(str(exc), error=True)
    result, why = await _follow(ctx, handle, live)
    while elicit and durable and result.state in ("awaiting_approval", "awaiting_input"):
        try:
            decided = await _decide(ctx, result)
        except BaseException:  # the client cancelled the request while its user was asked
            await asyncio.shield(_give_up(runner, result.run_id))
            raise
        if decided is None:
            break
        approvals, inputs = decided
        handle = await runner.resume(
            result.run_id, agent, approvals or None, inputs=inputs or None, breakpoints=[]
        )
        result, why = await _follow(ctx, handle, False)
    if result.state.startswith("awaiting_"):
        return _waiting(result)
    if result.state in ("failed", "cancelled", "interrupted"):
        detail = why or result.error or result.state
        return _text_result(f"The run {result.run_id} ended {result.state}: {detail}", error=True)
    return _text_result(result.final_text, structured=_structured(agent, result.output))


async def _call_direct(
    agent: Agent, own: Any, arguments: dict[str, Any], hooks: PolicyHooks | None
) -> Any:
    """A tool called without a run, under the Runner's governance as in a run (refused when a
    run would refuse it or make it wait; its result redacted, sanitized, scrubbed)."""
    from ..context import Context
    from ..errors import Retry
    from ..governance.outside import (
        govern_direct_call,
        govern_direct_error,
        govern_direct_result,
    )
    from ..tools import tool_output_to_text
    from ..usage import Usage

    ctx = Context(deps=None, run_id="mcp", agent=agent, usage=Usage(), messages=[])
    arguments, refused = govern_direct_call(hooks, ctx, own.name, arguments, agent.name)
    if refused is not None:
        return _text_result(refused, error=True)
    try:
        output = await own.invoke(ctx, arguments)
    except Retry as exc:  # a ToolArgumentsError too; never a secret it quotes
        return _text_result(govern_direct_error(hooks, exc.message), error=True)
    except Exception as exc:  # the client is told what failed, never a secret it quotes
        return _text_result(govern_direct_error(hooks, f"{type(exc).__name__}: {exc}"), error=True)
    text, output = govern_direct_result(hooks, tool_output_to_text(output), output)
    structured = output if isinstance(output, dict) else None
    return _text_result(text, structured=structured)


def registered(runner: Runner) -> list[Agent]:
    """The agents registered on ``runner``."""
    listed = getattr(runner, "agents", None)
    if callable(listed):
        return list(listed())
    return cast("list[Agent]", list(runner.agents.values()))


def build_server(
    runner: Runner,
    *,
    agents: Sequence[Agent | str] | None = None,
    tools: bool = False,
    name: str = "tether",
) -> Any:
    """An MCP server (the SDK's low-level ``Server``) offering ``runner``'s agents as tools.

    ``agents`` picks agents (by object or registered name; default: every registered agent).
    ``tools=True`` also offers each agent's own tools as ``<agent>.<tool>`` (tools that need
    approval, and agents-as-tools, are left out: they only run inside runs).
    """
    import_mcp()
    from mcp.server.lowlevel import Server

    chosen = (
        [cast("Agent", runner._agent(a)) for a in agents]
        if agents is not None
        else registered(runner)
    )
    if not chosen:
        raise UserError("no agents to serve: register agents on the Runner, or pass agents=")
    exposed = _Exposed(runner, chosen, tools)

    async def list_tools(ctx: Any, params: Any) -> Any:
        return _mcp_types().ListToolsResult(tools=exposed.listing())

    async def call_tool(ctx: Any, params: Any) -> Any:
        arguments = dict(params.arguments or {})
        agent = exposed.agents.get(params.name)
        if agent is not None:
            return await _run_agent(exposed, ctx, agent, arguments)
        direct = exposed.direct.get(params.name)
        if direct is not None:
            return await _call_direct(direct[0], direct[1], arguments, exposed.runner.policy_hooks)
        known = ", ".join([*exposed.agents, *exposed.direct])
        return _text_result(f"no tool {params.name!r} (tools: {known})", error=True)

    from .. import __version__

    return Server(name, version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(runner: Runner, *, tools: bool = False) -> None:
    """Serve ``runner``'s agents over stdin/stdout until the client disconnects."""
    server = build_server(runner, tools=tools)
    from mcp.server.stdio import stdio_server

    try:
        async with stdio_server() as (read, write):
            await _run_answering_bad_lines(server, read, write)
    finally:
        await runner.aclose()


def _bad_line_error(exc: Exception) -> Any:
    """The JSON-RPC error answering a line that is not a JSON-RPC message: a parse error
    (-32700) for a line that is not JSON, else an invalid request (-32600) under its id when
    it has one (as the HTTP transport answers)."""
    mcp_types = _mcp_types()
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    if errors and errors[0]["type"] == "json_invalid":
        code, message = mcp_types.PARSE_ERROR, f"Parse error: {errors[0]['msg']}"
    else:
        code, message = mcp_types.INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message"
    ids = [e["input"].get("id") for e in errors if isinstance(e.get("input"), dict)]
    found = next((i for i in ids if isinstance(i, int | str) and not isinstance(i, bool)), None)
    return mcp_types.JSONRPCError(
        jsonrpc="2.0", id=found, error=mcp_types.ErrorData(code=code, message=message[:500])
    )


async def _run_answering_bad_lines(server: Any, read: Any, write: Any) -> None:
    """``server.run`` over stdio, with each line that is not a JSON-RPC message answered by a
    JSON-RPC error (the SDK's stdio transport hands such lines on, and they went unanswered)."""
    import anyio
    from mcp.shared.message import SessionMessage

    inner_send, inner_read = anyio.create_memory_object_stream[Any](0)

    async def forward() -> None:
        async with inner_send, read:
            async for item in read:
                if isinstance(item, Exception):
                    await write.send(SessionMessage(_bad_line_error(item)))
                else:
                    await inner_send.send(item)

    async with anyio.create_task_group() as group:
        group.start_soon(forward)
        await server.run(inner_read, write, server.create_initialization_options())
        group.cancel_scope.cancel()


async def serve_http(
    runner: Runner,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    tools: bool = False,
) -> None:
    """Serve ``runner``'s agents over Streamable HTTP at ``http://host:port/path``."""
    server = build_server(runner, tools=tools)
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UserError(
            'serving MCP over HTTP needs uvicorn: pip install "tether[server]"'
        ) from exc
    app = server.streamable_http_app(streamable_http_path=path, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    try:
        await uvicorn.Server(config).serve()
    finally:
        await runner.aclose()


def serve(
    runner: Runner,
    *,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    tools: bool = False,
) -> None:
    """Serve ``runner``'s agents as MCP tools (blocking): stdio, or Streamable HTTP at /mcp."""
    import anyio

    if http:
        anyio.run(lambda: serve_http(runner, host=host, port=port, tools=tools))
    else:
        anyio.run(lambda: serve_stdio(runner, tools=tools))
