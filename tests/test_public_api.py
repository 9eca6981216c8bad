# ruff: noqa: E501 - the snapshot holds long signatures verbatim
"""The public API, snapshotted: a change to what users import is a reviewed diff, never an accident.

When this test fails, the names exported from ``tether`` or ``tether.models`` (or a signature)
changed. If the change is intended, update the snapshot with::

    .venv/bin/pytest tests/test_public_api.py --inline-snapshot=fix

and review the diff: a removed name or a changed parameter breaks users' code (mention it in the
changelog); a new name or a new keyword with a default does not.
"""

from __future__ import annotations

import inspect
import re
from types import ModuleType
from typing import Any

from inline_snapshot import snapshot

import tether
import tether.models


def _annotation(value: Any) -> str:
    # tether uses `from __future__ import annotations`: annotations are mostly strings already;
    # real types (pydantic's Agent signature) lose their module paths to read like the source.
    text = value if isinstance(value, str) else inspect.formatannotation(value)
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])", "", text)


def _signature(obj: Any) -> list[str]:
    """A signature as one line per parameter (so a diff names what changed), plus the return."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # builtins (e.g. an exception class without its own __init__)
        return ["..."]
    params = [
        p.replace(annotation=_Raw(_annotation(p.annotation))) if p.annotation is not p.empty else p
        for p in sig.parameters.values()
    ]
    returns = sig.return_annotation
    sig = sig.replace(
        parameters=params,
        return_annotation=sig.empty if returns is sig.empty else _Raw(_annotation(returns)),
    )
    text = re.sub(r" at 0x[0-9a-f]+>", ">", str(sig))  # default values that are functions
    head, _, returns_text = text.partition(" -> ")
    out = _split_top_level(head[1:-1])  # what is between the outer parentheses
    if returns_text:
        out.append("-> " + returns_text)
    return out


def _split_top_level(text: str) -> list[str]:
    """Split on the commas that are not inside brackets or quotes."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


class _Raw:
    """An annotation shown as its text, without quotes."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _members(cls: type) -> dict[str, Any]:
    """Public methods and properties defined by tether itself (not pydantic, not object)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("tether"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in ("model_config", "model_post_init"):
                continue
            if isinstance(value, property):
                out[name] = "property"
            elif isinstance(value, staticmethod | classmethod):
                out[name] = [type(value).__name__, *_signature(value.__func__)]
            elif inspect.isfunction(value):
                kind = "async def" if inspect.iscoroutinefunction(value) else "def"
                out[name] = [kind, *_signature(value)]
    return dict(sorted(out.items()))


def public_api(module: ModuleType) -> dict[str, Any]:
    """Every exported name with its signature; classes with their public members."""
    api: dict[str, Any] = {}
    for name in sorted(module.__all__):
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if inspect.isclass(obj):
            entry: dict[str, Any] = {"class": _signature(obj)}
            members = _members(obj)
            if members:
                entry["members"] = members
            api[name] = entry
        elif callable(obj):
            api[name] = ["def", *_signature(obj)]
        else:
            api[name] = type(obj).__name__
    return api


def test_every_exported_name_exists() -> None:
    for module in (tether, tether.models):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.__all__ lists missing {name!r}"
    assert sorted(dir(tether)) == sorted(tether.__all__)


def test_tether_api() -> None:
    assert public_api(tether) == snapshot(
        {
            "Agent": {
                "class": [
                    "name: str | None = None",
                    "/",
                    "*",
                    "model: str | Model | None = None",
                    "instructions: str | Path | Callable[[Context[Any]], str | Awaitable[str]] | None = None",
                    "description: str | None = None",
                    "tools: Sequence[Union[Tool[Any], Callable[..., Any]]] = ()",
                    "handoffs: Sequence[Any] = ()",
                    "mcp_servers: Sequence[Any] = ()",
                    "output: Any = None",
                    "output_mode: Literal['auto', 'tool', 'native', 'text'] = 'auto'",
                    "max_turns: Annotated[int, Ge(ge=1)] = 10",
                    "max_cost: Annotated[float | None, Gt(gt=0)] = None",
                    "retries: Annotated[int, Ge(ge=0)] = 1",
                    "model_settings: ModelSettings | None = None",
                    "policy: Any = None",
                    "memory: Any = None",
                    "history: Any = None",
                    "input_guardrails: Sequence[InputGuardrail] = ()",
                    "output_guardrails: Sequence[OutputGuardrail] = ()",
                    "api_key: SecretStr | None = None",
                    "base_url: str | None = None",
                    "price: ModelPrice | None = None",
                    "-> None",
                ],
                "members": {
                    "as_tool": [
                        "def",
                        "self",
                        "name: str | None = None",
                        "description: str | None = None",
                        "-> Tool[Any]",
                    ],
                    "clone": ["def", "self", "**changes: Any", "-> Agent"],
                    "get_tool": ["def", "self", "name: str", "-> Tool[Any] | None"],
                    "handoff_list": ["def", "self", "-> list[Handoff]"],
                    "model_copy": [
                        "def",
                        "self",
                        "*",
                        "update: Mapping[str, Any] | None = None",
                        "deep: bool = False",
                        "-> Agent",
                    ],
                    "model_validate": ["classmethod", "cls", "obj: Any", "-> Self"],
                    "output_schema": "property",
                    "output_validator": [
                        "def",
                        "self",
                        "fn: OutputValidator",
                        "-> OutputValidator",
                    ],
                    "output_validators": "property",
                    "render_instructions": [
                        "async def",
                        "self",
                        "ctx: Context[Any]",
                        "-> str | None",
                    ],
                    "run": [
                        "async def",
                        "self",
                        "input: str | Message | Sequence[Any]",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "-> Result[Any]",
                    ],
                    "run_stream": [
                        "def",
                        "self",
                        "input: str | Message | Sequence[Any]",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "-> AsyncIterator[Event]",
                    ],
                    "run_sync": [
                        "def",
                        "self",
                        "input: str | Message | Sequence[Any]",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "-> Result[Any]",
                    ],
                    "start": [
                        "async def",
                        "self",
                        "input: str | Message | Sequence[Any]",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "-> RunHandle",
                    ],
                    "tool": [
                        "def",
                        "self",
                        "fn: Callable[..., Any] | None = None",
                        "/",
                        "*",
                        "name: str | None = None",
                        "description: str | None = None",
                        "needs_approval: bool | ApprovalPredicate = False",
                        "timeout: float | None = None",
                        "idempotent: bool = False",
                        "strict: bool = False",
                        "permissions: ToolPermissions | Mapping[str, Any] | None = None",
                        "sandbox: bool | ToolSandbox = False",
                        "effect: ToolEffect | None = None",
                        "-> Tool[Any] | Callable[[Callable[..., Any]], Tool[Any]]",
                    ],
                    "tool_specs": ["def", "self", "-> list[ToolSpec]"],
                    "tools_map": "property",
                },
            },
            "AgentsException": {"class": ["..."]},
            "Approval": {
                "class": [
                    "approved: bool = True",
                    "reason: str | None = None",
                    "args: Mapping[str, Any] | None = None",
                    "expires_at: float | datetime | None = None",
                    "expires_in: float | None = None",
                    "args_digest: str | None = None",
                    "-> None",
                ],
                "members": {"deadline": ["def", "self", "now: float", "-> float | None"]},
            },
            "ApprovalDenied": {
                "class": ["tool_name: str", "call_id: str", "reason: str | None = None", "-> None"]
            },
            "BudgetExceeded": {"class": ["spent: float", "limit: float", "-> None"]},
            "CircuitOpen": {"class": ["endpoint: str", "retry_in: float", "-> None"]},
            "Context": {
                "class": [
                    "deps: DepsT",
                    "run_id: str",
                    "agent: AgentSpec",
                    "usage: Usage",
                    "messages: list[Message]",
                    "thread_id: str | None = None",
                    "memory: Any = None",
                    "retry: int = 0",
                    "turn: int = 0",
                    "tool_name: str | None = None",
                    "tool_call_id: str | None = None",
                    "state: dict[str, Any] = <factory>",
                    "answers: list[Any] = <factory>",
                    "asked: int = 0",
                    "-> None",
                ],
                "members": {
                    "for_call": [
                        "def",
                        "self",
                        "agent: AgentSpec",
                        "tool_name: str",
                        "call_id: str",
                        "retry: int",
                        "answers: list[Any]",
                        "-> Context[DepsT]",
                    ],
                    "idempotency_key": "property",
                    "request_input": ["def", "self", "prompt: str", "-> Any"],
                },
            },
            "Deferred": {"class": ["ticket: str", "message: str | None = None", "-> None"]},
            "Event": {
                "class": ["*", "run_id: str = ''", "seq: int = 0", "at: float = 0.0", "-> None"],
                "members": {
                    "message": "property",
                    "to_dict": ["def", "self", "-> dict[str, Any]"],
                },
            },
            "FailSafeConfig": {
                "class": [
                    "*",
                    "model: FailureAction = 'fail_run'",
                    "tool: FailureAction = 'continue_with_error'",
                    "subagent: FailureAction = 'continue_with_error'",
                    "approval_denied: FailureAction = 'continue_with_error'",
                    "max_retries: int = 2",
                    "-> None",
                ],
                "members": {
                    "decide": [
                        "def",
                        "self",
                        "component: Component",
                        "attempt: int = 0",
                        "*",
                        "retryable: bool = True",
                        "-> FailureDecision",
                    ]
                },
            },
            "GuardrailResult": {
                "class": ["tripwire_triggered: bool", "info: Any = None", "-> None"]
            },
            "Handoff": {
                "class": [
                    "agent: AgentSpec",
                    "tool_name: str",
                    "tool_description: str",
                    "input_filter: InputFilter | None = None",
                    "-> None",
                ],
                "members": {"spec": ["def", "self", "-> ToolSpec"]},
            },
            "HistorySlidingWindow": {
                "class": ["max_messages: int", "*", "keep_first_user: bool = True", "-> None"],
                "members": {
                    "apply": [
                        "async def",
                        "self",
                        "messages: list[Message]",
                        "ctx: Context[Any]",
                        "-> list[Message]",
                    ]
                },
            },
            "HistorySummarize": {
                "class": [
                    "model: Model | str",
                    "trigger_tokens: int",
                    "*",
                    "keep_last: int = 6",
                    "count: TokenCounter = <function estimate_tokens>",
                    "-> None",
                ],
                "members": {
                    "apply": [
                        "async def",
                        "self",
                        "messages: list[Message]",
                        "ctx: Context[Any]",
                        "-> list[Message]",
                    ]
                },
            },
            "HistoryTokenBudget": {
                "class": [
                    "max_tokens: int",
                    "*",
                    "count: TokenCounter = <function estimate_tokens>",
                    "keep_first_user: bool = True",
                    "-> None",
                ],
                "members": {
                    "apply": [
                        "async def",
                        "self",
                        "messages: list[Message]",
                        "ctx: Context[Any]",
                        "-> list[Message]",
                    ]
                },
            },
            "InputGuardrail": {
                "class": ["fn: GuardrailFunction[T]", "name: str | None = None", "-> None"],
                "members": {
                    "check": [
                        "async def",
                        "self",
                        "ctx: Context[Any]",
                        "value: T",
                        "-> GuardrailResult",
                    ]
                },
            },
            "InputGuardrailTripwireTriggered": {
                "class": ["guardrail: str", "info: Any = None", "-> None"]
            },
            "LogFormatError": {
                "class": ["message: str", "*", "version: int | None = None", "-> None"]
            },
            "MaxTurnsExceeded": {"class": ["turn: int", "limit: int", "-> None"]},
            "Memory": {
                "class": ["-> None"],
                "members": {
                    "close": ["async def", "self", "-> None"],
                    "facts": [
                        "async def",
                        "self",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "-> list[Fact]",
                    ],
                    "forget": [
                        "async def",
                        "self",
                        "ref: str",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "-> int",
                    ],
                    "recall": [
                        "async def",
                        "self",
                        "query: str = ''",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "limit: int = 10",
                        "-> list[Fact]",
                    ],
                    "remember": [
                        "async def",
                        "self",
                        "text: str",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "key: str | None = None",
                        "metadata: dict[str, Any] | None = None",
                        "-> Fact",
                    ],
                    "scoped": [
                        "def",
                        "self",
                        "agent: str",
                        "thread_id: str | None = None",
                        "-> MemoryView",
                    ],
                },
            },
            "MemorySQLite": {
                "class": ["path: str = '.tether/memory.db'", "-> None"],
                "members": {
                    "close": ["async def", "self", "-> None"],
                    "facts": [
                        "async def",
                        "self",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "-> list[Fact]",
                    ],
                    "forget": [
                        "async def",
                        "self",
                        "ref: str",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "-> int",
                    ],
                    "path": "property",
                    "recall": [
                        "async def",
                        "self",
                        "query: str = ''",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "limit: int = 10",
                        "-> list[Fact]",
                    ],
                    "remember": [
                        "async def",
                        "self",
                        "text: str",
                        "*",
                        "agent: str",
                        "thread_id: str | None = None",
                        "key: str | None = None",
                        "metadata: dict[str, Any] | None = None",
                        "-> Fact",
                    ],
                    "scoped": [
                        "def",
                        "self",
                        "agent: str",
                        "thread_id: str | None = None",
                        "-> MemoryView",
                    ],
                },
            },
            "Message": {
                "class": [
                    "role: Role",
                    "parts: list[Part] = <factory>",
                    "agent: str | None = None",
                    "-> None",
                ],
                "members": {
                    "assistant": ["classmethod", "cls", "text: str", "-> Message"],
                    "system": ["classmethod", "cls", "text: str", "-> Message"],
                    "text": "property",
                    "tool_calls": "property",
                    "tool_results": "property",
                    "user": ["classmethod", "cls", "text: str", "-> Message"],
                },
            },
            "ModelBehaviorError": {"class": ["..."]},
            "ModelProviderError": {
                "class": [
                    "message: str",
                    "*",
                    "status: int | None = None",
                    "body: Any = None",
                    "retry_after: float | None = None",
                    "retryable: bool | None = None",
                    "-> None",
                ]
            },
            "ModelSettings": {
                "class": [
                    "temperature: float | None = None",
                    "top_p: float | None = None",
                    "max_tokens: int | None = None",
                    "stop: tuple[str, ...] | None = None",
                    "seed: int | None = None",
                    "parallel_tool_calls: bool | None = None",
                    "tool_choice: Literal['auto', 'required', 'none'] | str | None = None",
                    "reasoning_effort: Literal['minimal', 'low', 'medium', 'high'] | None = None",
                    "timeout: float | None = None",
                    "extra: dict[str, Any] | None = None",
                    "-> None",
                ],
                "members": {
                    "merge": ["def", "self", "override: ModelSettings | None", "-> ModelSettings"]
                },
            },
            "OutputGuardrail": {
                "class": ["fn: GuardrailFunction[T]", "name: str | None = None", "-> None"],
                "members": {
                    "check": [
                        "async def",
                        "self",
                        "ctx: Context[Any]",
                        "value: T",
                        "-> GuardrailResult",
                    ]
                },
            },
            "OutputGuardrailTripwireTriggered": {
                "class": ["guardrail: str", "info: Any = None", "-> None"]
            },
            "PendingApproval": {
                "class": [
                    "call_id: str",
                    "tool_name: str",
                    "args: Any",
                    "agent_name: str",
                    "args_digest: str = ''",
                    "-> None",
                ]
            },
            "PendingInput": {
                "class": [
                    "call_id: str",
                    "tool_name: str",
                    "prompt: str",
                    "agent_name: str",
                    "-> None",
                ]
            },
            "ReasoningPart": {
                "class": [
                    "text: str",
                    "signature: str | None = None",
                    "provider_data: dict[str, Any] | None = None",
                    "kind: Literal['reasoning'] = 'reasoning'",
                    "-> None",
                ]
            },
            "RefusalPart": {
                "class": ["refusal: str", "kind: Literal['refusal'] = 'refusal'", "-> None"]
            },
            "ReplayDivergence": {"class": ["turn: int", "diff: str", "-> None"]},
            "Result": {
                "class": [
                    "output: OutputT",
                    "final_text: str",
                    "state: RunStatus",
                    "run_id: str",
                    "thread_id: str | None",
                    "trace_id: str | None",
                    "messages: list[Message]",
                    "new_messages: list[Message]",
                    "usage: Usage",
                    "tool_executions: list[ToolExecutionRecord]",
                    "subagent_executions: list[SubagentExecutionRecord]",
                    "last_agent: str",
                    "degraded_reasons: list[str] = <factory>",
                    "pending_approvals: list[PendingApproval] = <factory>",
                    "pending_inputs: list[PendingInput] = <factory>",
                    "deferred: dict[str, str] = <factory>",
                    "interrupted_calls: list[str] = <factory>",
                    "interrupted_keys: dict[str, str] = <factory>",
                    "error: str | None = None",
                    "error_type: str | None = None",
                    "turns: int = 0",
                    "session_id: str | None = None",
                    "-> None",
                ],
                "members": {
                    "final_output": "property",
                    "final_state": "property",
                    "state_snapshot": "property",
                    "to_dict": ["def", "self", "-> dict[str, Any]"],
                    "to_input_list": ["def", "self", "-> list[dict[str, Any]]"],
                    "usage_aggregate": "property",
                },
            },
            "Retry": {"class": ["message: str", "-> None"]},
            "RunCancelled": {"class": ["..."]},
            "RunConfig": {
                "class": [
                    "*",
                    "model: str | Model | None = None",
                    "model_settings: ModelSettings | None = None",
                    "model_runtime: Any = None",
                    "model_provider: Callable[[str], Model] | None = None",
                    "handoff_input_filter: Callable[[list[Message]], list[Message]] | None = None",
                    "max_turns: int | None = None",
                    "max_cost: float | None = None",
                    "timeout: float | None = None",
                    "interaction_mode: InteractionMode | None = None",
                    "approval_timeout: float | None = None",
                    "input_guardrails: Sequence[InputGuardrail] = ()",
                    "output_guardrails: Sequence[OutputGuardrail] = ()",
                    "max_tool_calls: int | None = None",
                    "max_subagent_depth: int | None = None",
                    "lenient_output: bool | None = None",
                    "fail_safe: FailSafeConfig | None = None",
                    "policy: Policy | None = None",
                    "tool_output_max_chars: int | None = None",
                    "sanitize_tool_output: bool | None = None",
                    "max_concurrency: int | None = None",
                    "tracing_disabled: bool | None = None",
                    "trace_include_sensitive_data: bool | None = None",
                    "workflow_name: str | None = None",
                    "trace_id: str | None = None",
                    "group_id: str | None = None",
                    "trace_metadata: dict[str, Any] | None = None",
                    "extra: dict[str, Any] = <factory>",
                    "durability: Any = None",
                    "-> None",
                ],
                "members": {"over": ["def", "self", "base: RunConfig | None", "-> RunConfig"]},
            },
            "RunHandle": {
                "class": [
                    "session: RunWiring",
                    "events: AsyncIterator[Event]",
                    "control: Control",
                    "-> None",
                ],
                "members": {
                    "approve": [
                        "async def",
                        "self",
                        "call_id: str",
                        "*",
                        "args: Mapping[str, Any] | None = None",
                        "-> None",
                    ],
                    "await_result": ["async def", "self", "-> Result[Any]"],
                    "cancel": ["async def", "self", "-> None"],
                    "debugger": "property",
                    "deferred": "property",
                    "done": ["def", "self", "-> bool"],
                    "error": "property",
                    "events": "property",
                    "interrupt": ["async def", "self", "-> None"],
                    "pause": ["async def", "self", "-> None"],
                    "pending_approvals": "property",
                    "pending_inputs": "property",
                    "reject": [
                        "async def",
                        "self",
                        "call_id: str",
                        "reason: str | None = None",
                        "-> None",
                    ],
                    "resolve": ["async def", "self", "call_id: str", "output: Any", "-> None"],
                    "respond": ["async def", "self", "call_id: str", "value: Any", "-> None"],
                    "result": ["async def", "self", "-> Result[Any]"],
                    "resume": ["async def", "self", "-> None"],
                    "run_id": "property",
                    "status": "property",
                },
            },
            "RunInterrupted": {"class": ["..."]},
            "RunLimitExceeded": {"class": ["limit: str", "value: int", "maximum: int", "-> None"]},
            "RunTimeout": {"class": ["..."]},
            "RunState": {
                "class": [
                    "run_id: str",
                    "agent_name: str = ''",
                    "status: RunStatus = 'running'",
                    "thread_id: str | None = None",
                    "trace_id: str | None = None",
                    "parent_run_id: str | None = None",
                    "max_turns: int = 10",
                    "messages: list[Message] = <factory>",
                    "new_from: int = 0",
                    "turn: int = 0",
                    "usage: Usage = <factory>",
                    "tool_executions: list[ToolExecutionRecord] = <factory>",
                    "subagent_executions: list[SubagentExecutionRecord] = <factory>",
                    "open_calls: list[ToolCallPart] = <factory>",
                    "call_results: dict[str, ToolResultPart] = <factory>",
                    "started: dict[str, ToolCallStarted] = <factory>",
                    "pending_approvals: dict[str, ApprovalRequested] = <factory>",
                    "decisions: dict[str, ApprovalDecided] = <factory>",
                    "decided_args: dict[str, Any] = <factory>",
                    "decided_digests: dict[str, str] = <factory>",
                    "spent_decisions: set[str] = <factory>",
                    "pending_inputs: dict[str, InputRequested] = <factory>",
                    "deferred: dict[str, ToolCallDeferred] = <factory>",
                    "inputs: dict[str, list[Any]] = <factory>",
                    "suspended: dict[str, SubagentSuspended] = <factory>",
                    "surfaced: dict[str, str] = <factory>",
                    "surfaced_keys: dict[str, str] = <factory>",
                    "delivered: dict[str, ToolCallFinished] = <factory>",
                    "retries: dict[str, int] = <factory>",
                    "degraded_reasons: list[str] = <factory>",
                    "output_data: Any = None",
                    "final_text: str = ''",
                    "error: str | None = None",
                    "error_type: str | None = None",
                    "interrupted_calls: list[str] = <factory>",
                    "seq: int = 0",
                    "started_event: RunStarted | None = None",
                    "finished_event: RunFinished | None = None",
                    "handed_off: Handoff | None = None",
                    "view: list[Message] | None = None",
                    "view_from: int = 0",
                    "summaries: dict[str, HistorySummarized] = <factory>",
                    "candidate: Any = None",
                    "has_candidate: bool = False",
                    "-> None",
                ],
                "members": {
                    "apply": ["def", "self", "event: Event", "-> None"],
                    "finished": "property",
                    "from_events": [
                        "classmethod",
                        "cls",
                        "run_id: str",
                        "events: Iterable[Event]",
                        "-> RunState",
                    ],
                    "last_assistant_text": ["def", "self", "-> str"],
                    "model_messages": ["def", "self", "-> list[Message]"],
                    "session_id": "property",
                },
            },
            "Runner": {
                "class": [
                    "*",
                    "store: Store | str | None = 'sqlite:///.tether/tether.db'",
                    "telemetry: str | Exporter | Sequence[str | Exporter] | None = 'jsonl'",
                    "policy_hooks: PolicyHooks | None = None",
                    "config: RunnerConfig | RunConfig | None = None",
                    "max_concurrency: int | None = None",
                    "timeout: float | None = None",
                    "agents: Sequence[AgentSpec] = ()",
                    "-> None",
                ],
                "members": {
                    "aclose": ["async def", "self", "-> None"],
                    "agents": "property",
                    "compact_thread": [
                        "async def",
                        "self",
                        "thread_id: str",
                        "*",
                        "keep_last: int = 6",
                        "model: Any = None",
                        "run_config: RunConfig | None = None",
                        "-> int",
                    ],
                    "exporters": "property",
                    "get_agent": ["def", "self", "name: str", "-> AgentSpec | None"],
                    "load_state": ["async def", "self", "run_id: str", "-> RunState"],
                    "register_agent": ["def", "self", "agent: AgentSpec", "-> AgentSpec"],
                    "replay": [
                        "async def",
                        "self",
                        "trace_id: str",
                        "*",
                        "agent: AgentSpec | str | None = None",
                        "tools: Literal['live', 'recorded'] = 'live'",
                        "run_config: RunConfig | None = None",
                        "deps: Any = None",
                        "-> Result[Any]",
                    ],
                    "resolve_deferred": [
                        "async def",
                        "self",
                        "run_id: str",
                        "call_id: str",
                        "output: Any",
                        "*",
                        "agent: AgentSpec | str | None = None",
                        "deps: Any = None",
                        "run_config: RunConfig | None = None",
                        "-> Result[Any]",
                    ],
                    "resume": [
                        "async def",
                        "self",
                        "run_id: str",
                        "agent: AgentSpec | str | None = None",
                        "approvals: Mapping[str, bool | str | Approval | Mapping[str, Any]] | None = None",
                        "*",
                        "inputs: dict[str, Any] | None = None",
                        "deps: Any = None",
                        "run_config: RunConfig | None = None",
                        "allow_agent_change: bool = False",
                        "breakpoints: Sequence[str | Breakpoint] | None = None",
                        "-> Result[Any] | RunHandle",
                    ],
                    "resume_stream": [
                        "def",
                        "self",
                        "run_id: str",
                        "agent: AgentSpec | str | None = None",
                        "approvals: Verdicts | None = None",
                        "*",
                        "inputs: dict[str, Any] | None = None",
                        "deps: Any = None",
                        "run_config: RunConfig | None = None",
                        "allow_agent_change: bool = False",
                        "-> AsyncGenerator[Event, None]",
                    ],
                    "run": [
                        "async def",
                        "self",
                        "agent: AgentSpec | str",
                        "input: RunInput",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "-> Result[Any]",
                    ],
                    "run_handle": [
                        "async def",
                        "self",
                        "agent: AgentSpec | str",
                        "input: RunInput",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "stream: bool = True",
                        "breakpoints: Sequence[str | Breakpoint] | None = None",
                        "-> RunHandle",
                    ],
                    "run_stream": [
                        "def",
                        "self",
                        "agent: AgentSpec | str",
                        "input: RunInput",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "-> AsyncGenerator[Event, None]",
                    ],
                    "run_sync": [
                        "def",
                        "self",
                        "agent: AgentSpec | str",
                        "input: RunInput",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "-> Result[Any]",
                    ],
                    "start": [
                        "async def",
                        "self",
                        "agent: AgentSpec | str",
                        "input: RunInput",
                        "*",
                        "deps: Any = None",
                        "thread_id: str | None = None",
                        "run_id: str | None = None",
                        "run_config: RunConfig | None = None",
                        "stream: bool = True",
                        "breakpoints: Sequence[str | Breakpoint] | None = None",
                        "-> RunHandle",
                    ],
                    "store": "property",
                },
            },
            "RunnerConfig": {
                "class": [
                    "*",
                    "model: str | Model | None = None",
                    "model_settings: ModelSettings | None = None",
                    "model_runtime: Any = None",
                    "model_provider: Callable[[str], Model] | None = None",
                    "handoff_input_filter: Callable[[list[Message]], list[Message]] | None = None",
                    "max_turns: int | None = None",
                    "max_cost: float | None = None",
                    "timeout: float | None = None",
                    "interaction_mode: InteractionMode | None = None",
                    "approval_timeout: float | None = None",
                    "input_guardrails: Sequence[InputGuardrail] = ()",
                    "output_guardrails: Sequence[OutputGuardrail] = ()",
                    "max_tool_calls: int | None = None",
                    "max_subagent_depth: int | None = None",
                    "lenient_output: bool | None = None",
                    "fail_safe: FailSafeConfig | None = None",
                    "policy: Policy | None = None",
                    "tool_output_max_chars: int | None = None",
                    "sanitize_tool_output: bool | None = None",
                    "max_concurrency: int | None = None",
                    "tracing_disabled: bool | None = None",
                    "trace_include_sensitive_data: bool | None = None",
                    "workflow_name: str | None = None",
                    "trace_id: str | None = None",
                    "group_id: str | None = None",
                    "trace_metadata: dict[str, Any] | None = None",
                    "extra: dict[str, Any] = <factory>",
                    "durability: Any = None",
                    "-> None",
                ],
                "members": {"over": ["def", "self", "base: RunConfig | None", "-> RunConfig"]},
            },
            "SubagentExecutionRecord": {
                "class": [
                    "agent_name: str",
                    "call_id: str",
                    "run_id: str",
                    "state: str",
                    "final_text: str",
                    "latency_ms: float",
                    "-> None",
                ]
            },
            "TetherError": {"class": ["..."]},
            "TextPart": {"class": ["text: str", "kind: Literal['text'] = 'text'", "-> None"]},
            "Tool": {
                "class": [
                    "function: Callable[..., T] | Callable[..., Awaitable[T]]",
                    "*",
                    "name: str | None = None",
                    "description: str | None = None",
                    "needs_approval: bool | ApprovalPredicate = False",
                    "timeout: float | None = None",
                    "idempotent: bool = False",
                    "strict: bool = False",
                    "permissions: ToolPermissions | Mapping[str, Any] | None = None",
                    "sandbox: bool | ToolSandbox = False",
                    "effect: ToolEffect | None = None",
                    "-> None",
                ],
                "members": {
                    "from_schema": [
                        "classmethod",
                        "cls",
                        "name: str",
                        "description: str",
                        "parameters: dict[str, Any]",
                        "function: Callable[..., Awaitable[Any]]",
                        "*",
                        "needs_approval: bool | ApprovalPredicate = False",
                        "timeout: float | None = None",
                        "idempotent: bool = False",
                        "strict: bool = False",
                        "permissions: ToolPermissions | Mapping[str, Any] | None = None",
                        "sandbox: bool | ToolSandbox = False",
                        "effect: ToolEffect | None = None",
                        "-> Tool[Any]",
                    ],
                    "invoke": [
                        "async def",
                        "self",
                        "ctx: Context[Any]",
                        "args: dict[str, Any]",
                        "-> T",
                    ],
                    "requires_approval": [
                        "async def",
                        "self",
                        "ctx: Context[Any]",
                        "args: dict[str, Any]",
                        "-> bool",
                    ],
                    "spec": ["def", "self", "-> ToolSpec"],
                    "validate_args": ["def", "self", "args: dict[str, Any]", "-> dict[str, Any]"],
                    "with_name": [
                        "def",
                        "self",
                        "name: str",
                        "description: str | None = None",
                        "-> Tool[T]",
                    ],
                },
            },
            "ToolCallPart": {
                "class": [
                    "call_id: str",
                    "name: str",
                    "arguments: str",
                    "kind: Literal['tool_call'] = 'tool_call'",
                    "-> None",
                ],
                "members": {"args_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ToolExecutionRecord": {
                "class": [
                    "tool_name: str",
                    "tool_call_id: str | None",
                    "success: bool",
                    "output: Any",
                    "error: str | None",
                    "latency_ms: float | None",
                    "agent_name: str | None = None",
                    "agent_depth: int | None = 0",
                    "agent_path: str | None = None",
                    "args: Any = None",
                    "-> None",
                ]
            },
            "ToolOptions": {"class": ["..."]},
            "ToolResultPart": {
                "class": [
                    "call_id: str",
                    "name: str",
                    "content: str",
                    "is_error: bool = False",
                    "kind: Literal['tool_result'] = 'tool_result'",
                    "-> None",
                ]
            },
            "ToolTimeout": {"class": ["tool_name: str", "timeout: float", "-> None"]},
            "Usage": {
                "class": [
                    "requests: int = 0",
                    "input_tokens: int = 0",
                    "output_tokens: int = 0",
                    "cached_tokens: int = 0",
                    "reasoning_tokens: int = 0",
                    "cost: float | None = 0.0",
                    "-> None",
                ],
                "members": {
                    "add": ["def", "self", "other: Usage", "-> None"],
                    "copy": ["def", "self", "-> Usage"],
                    "from_dict": ["classmethod", "cls", "data: dict[str, Any]", "-> Usage"],
                    "minus": ["def", "self", "other: Usage", "-> Usage"],
                    "to_dict": ["def", "self", "-> dict[str, Any]"],
                    "total_tokens": "property",
                },
            },
            "UserError": {"class": ["..."]},
            "event_from_dict": [
                "def",
                "data: dict[str, Any]",
                "*",
                "version: int | None = None",
                "-> Event",
            ],
            "handoff": [
                "def",
                "agent: AgentSpec",
                "*",
                "tool_name: str | None = None",
                "tool_description: str | None = None",
                "input_filter: InputFilter | None = None",
                "-> Handoff",
            ],
            "input_guardrail": ["def", "fn: GuardrailFunction[str]", "-> InputGuardrail"],
            "output_guardrail": ["def", "fn: GuardrailFunction[Any]", "-> OutputGuardrail"],
            "tool": [
                "def",
                "function: Callable[..., Any] | None = None",
                "/",
                "*",
                "name: str | None = None",
                "description: str | None = None",
                "needs_approval: bool | ApprovalPredicate = False",
                "timeout: float | None = None",
                "idempotent: bool = False",
                "strict: bool = False",
                "permissions: ToolPermissions | Mapping[str, Any] | None = None",
                "sandbox: bool | ToolSandbox = False",
                "effect: ToolEffect | None = None",
                "-> Tool[Any] | Callable[[Callable[..., Any]], Tool[Any]]",
            ],
        }
    )


def test_tether_models_api() -> None:
    assert public_api(tether.models) == snapshot(
        {
            "AgentInfo": {
                "class": [
                    "tools: list[ToolSpec]",
                    "output: OutputSpec | None",
                    "settings: ModelSettings",
                    "instructions: str | None",
                    "-> None",
                ]
            },
            "AnthropicModel": {
                "class": [
                    "model: str",
                    "*",
                    "api_key: str | None = None",
                    "base_url: str | None = None",
                    "provider: str | None = None",
                    "transport: Transport | None = None",
                    "max_inflight: int = 100",
                    "default_headers: dict[str, str] | None = None",
                    "price: ModelPrice | None = None",
                    "-> None",
                ],
                "members": {
                    "build_body": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "stream: bool",
                        "-> dict[str, Any]",
                    ],
                    "endpoint": "property",
                    "explain": [
                        "def",
                        "self",
                        "error: ModelProviderError",
                        "-> ModelProviderError",
                    ],
                    "make_client": ["def", "self", "http_client: Any", "-> Any"],
                    "name": "property",
                    "parse_response": ["def", "self", "data: Any", "-> ModelResponse"],
                    "parse_stream": [
                        "def",
                        "self",
                        "events: AsyncIterator[tuple[str | None, str]]",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                    "priced": [
                        "def",
                        "self",
                        "usage: Usage",
                        "cache_write_tokens: int = 0",
                        "-> Usage",
                    ],
                    "pricer": "property",
                    "prices_known": "property",
                    "prices_loaded": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "CircuitBreaker": {
                "class": [
                    "endpoint: str = ''",
                    "*",
                    "failure_threshold: int = 5",
                    "cooldown: float = 30.0",
                    "-> None",
                ],
                "members": {
                    "abandon": ["def", "self", "-> None"],
                    "before": ["def", "self", "-> str | None"],
                    "failure": ["def", "self", "error: BaseException", "-> str | None"],
                    "success": ["def", "self", "-> str | None"],
                },
            },
            "CoalescingModel": {
                "class": ["model: Model", "-> None"],
                "members": {
                    "handles_timeout": "property",
                    "name": "property",
                    "prices_known": "property",
                    "prices_loaded": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "FakeModel": {
                "class": ["name: str = 'fake'", "cost_per_call: float = 0.0", "-> None"],
                "members": {
                    "add_error": ["def", "self", "error: BaseException", "-> FakeModel"],
                    "add_output": ["def", "self", "value: Any", "-> FakeModel"],
                    "add_response": ["def", "self", "text: str", "-> FakeModel"],
                    "add_tool_call": [
                        "def",
                        "self",
                        "name: str",
                        "args: dict[str, Any] | str | None = None",
                        "-> FakeModel",
                    ],
                    "add_tool_calls": [
                        "def",
                        "self",
                        "calls: Sequence[ToolCallScript]",
                        "-> FakeModel",
                    ],
                    "assert_exhausted": ["def", "self", "-> None"],
                    "name": "property",
                    "remaining": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "FallbackModel": {
                "class": [
                    "primary: Model | str",
                    "*others: Model | str",
                    "fallback_on: Sequence[type[BaseException]] = (<class 'tether.errors.ModelProviderError'>,)",
                    "-> None",
                ],
                "members": {
                    "handles_timeout": "property",
                    "name": "property",
                    "prices_known": "property",
                    "prices_loaded": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "FunctionModel": {
                "class": [
                    "fn: ModelFunction",
                    "*",
                    "name: str = 'function'",
                    "cost_per_call: float = 0.0",
                    "-> None",
                ],
                "members": {
                    "name": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                    "text": ["staticmethod", "text: str", "-> ModelResponse"],
                    "tool_call": [
                        "staticmethod",
                        "name: str",
                        "args: dict[str, Any] | str | None = None",
                        "-> ModelResponse",
                    ],
                    "tool_calls": [
                        "staticmethod",
                        "calls: Sequence[ToolCallScript]",
                        "-> ModelResponse",
                    ],
                },
            },
            "HedgedModel": {
                "class": ["model: Model", "*", "after: float", "-> None"],
                "members": {
                    "handles_timeout": "property",
                    "name": "property",
                    "prices_known": "property",
                    "prices_loaded": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "MemoryResponseCache": {
                "class": ["max_entries: int = 1000", "-> None"],
                "members": {
                    "get": ["async def", "self", "key: str", "-> ModelResponse | None"],
                    "set": ["async def", "self", "key: str", "response: ModelResponse", "-> None"],
                },
            },
            "Model": {
                "class": ["*args", "**kwargs"],
                "members": {
                    "name": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "ModelPrice": {
                "class": [
                    "input: float",
                    "output: float",
                    "cached_input: float | None = None",
                    "cache_write: float | None = None",
                    "-> None",
                ]
            },
            "ModelRequest": {
                "class": [
                    "messages: list[Message]",
                    "instructions: str | None = None",
                    "tools: list[ToolSpec] = <factory>",
                    "output: OutputSpec | None = None",
                    "settings: ModelSettings = <factory>",
                    "observer: Callable[[Event], None] | None = None",
                    "-> None",
                ],
                "members": {"notify": ["def", "self", "event: Event", "-> None"]},
            },
            "ModelResponse": {
                "class": [
                    "parts: list[Part]",
                    "usage: Usage = <factory>",
                    "model_name: str | None = None",
                    "finish_reason: str | None = None",
                    "response_id: str | None = None",
                    "-> None",
                ],
                "members": {"text": "property", "tool_calls": "property"},
            },
            "ModelRuntime": {
                "class": [
                    "retry: RetryPolicy | None = <factory>",
                    "breaker: CircuitBreaker | Literal['shared'] | None = 'shared'",
                    "limiter: RateLimiter | None = None",
                    "cache: ResponseCache | None = None",
                    "-> None",
                ],
                "members": {"wrap": ["def", "self", "model: Model", "-> ResilientModel"]},
            },
            "ModelSettings": {
                "class": [
                    "temperature: float | None = None",
                    "top_p: float | None = None",
                    "max_tokens: int | None = None",
                    "stop: tuple[str, ...] | None = None",
                    "seed: int | None = None",
                    "parallel_tool_calls: bool | None = None",
                    "tool_choice: Literal['auto', 'required', 'none'] | str | None = None",
                    "reasoning_effort: Literal['minimal', 'low', 'medium', 'high'] | None = None",
                    "timeout: float | None = None",
                    "extra: dict[str, Any] | None = None",
                    "-> None",
                ],
                "members": {
                    "merge": ["def", "self", "override: ModelSettings | None", "-> ModelSettings"]
                },
            },
            "OpenAIChatModel": {
                "class": [
                    "model: str",
                    "*",
                    "api_key: str | None = None",
                    "base_url: str | None = None",
                    "provider: str | None = None",
                    "transport: Transport | None = None",
                    "max_inflight: int = 100",
                    "default_headers: dict[str, str] | None = None",
                    "price: ModelPrice | None = None",
                    "-> None",
                ],
                "members": {
                    "build_body": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "stream: bool",
                        "-> dict[str, Any]",
                    ],
                    "endpoint": "property",
                    "explain": [
                        "def",
                        "self",
                        "error: ModelProviderError",
                        "-> ModelProviderError",
                    ],
                    "make_client": ["def", "self", "http_client: Any", "-> Any"],
                    "name": "property",
                    "parse_response": ["def", "self", "data: Any", "-> ModelResponse"],
                    "parse_stream": [
                        "def",
                        "self",
                        "events: AsyncIterator[tuple[str | None, str]]",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                    "priced": [
                        "def",
                        "self",
                        "usage: Usage",
                        "cache_write_tokens: int = 0",
                        "-> Usage",
                    ],
                    "pricer": "property",
                    "prices_known": "property",
                    "prices_loaded": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "OpenAIResponsesModel": {
                "class": [
                    "model: str",
                    "*",
                    "api_key: str | None = None",
                    "base_url: str | None = None",
                    "provider: str | None = None",
                    "transport: Transport | None = None",
                    "max_inflight: int = 100",
                    "default_headers: dict[str, str] | None = None",
                    "price: ModelPrice | None = None",
                    "-> None",
                ],
                "members": {
                    "build_body": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "stream: bool",
                        "-> dict[str, Any]",
                    ],
                    "endpoint": "property",
                    "explain": [
                        "def",
                        "self",
                        "error: ModelProviderError",
                        "-> ModelProviderError",
                    ],
                    "make_client": ["def", "self", "http_client: Any", "-> Any"],
                    "name": "property",
                    "parse_response": ["def", "self", "data: Any", "-> ModelResponse"],
                    "parse_stream": [
                        "def",
                        "self",
                        "events: AsyncIterator[tuple[str | None, str]]",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                    "priced": [
                        "def",
                        "self",
                        "usage: Usage",
                        "cache_write_tokens: int = 0",
                        "-> Usage",
                    ],
                    "pricer": "property",
                    "prices_known": "property",
                    "prices_loaded": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "OutputSpec": {
                "class": [
                    "name: str",
                    "schema: dict[str, Any]",
                    "mode: Literal['tool', 'native', 'text']",
                    "description: str = 'Give the final answer.'",
                    "wrapped: bool = False",
                    "-> None",
                ]
            },
            "RateLimiter": {
                "class": [
                    "*",
                    "requests_per_minute: float | None = None",
                    "tokens_per_minute: float | None = None",
                    "burst_seconds: float = 60.0",
                    "-> None",
                ],
                "members": {
                    "acquire": ["async def", "self", "tokens: int = 0", "-> float"],
                    "settle": ["def", "self", "estimated: int", "used: int", "-> None"],
                },
            },
            "ReasoningDelta": {"class": ["text: str", "-> None"]},
            "ResilientModel": {
                "class": [
                    "model: Model | str",
                    "*",
                    "retry: RetryPolicy | None = RetryPolicy(max_attempts=3, initial_delay=0.5, multiplier=2.0, max_delay=20.0, jitter=0.2, max_retry_after=60.0)",
                    "breaker: CircuitBreaker | Literal['shared'] | None = 'shared'",
                    "limiter: RateLimiter | None = None",
                    "cache: ResponseCache | None = None",
                    "-> None",
                ],
                "members": {
                    "handles_timeout": "property",
                    "name": "property",
                    "prices_known": "property",
                    "prices_loaded": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "RetryPolicy": {
                "class": [
                    "max_attempts: int = 3",
                    "initial_delay: float = 0.5",
                    "multiplier: float = 2.0",
                    "max_delay: float = 20.0",
                    "jitter: float = 0.2",
                    "max_retry_after: float = 60.0",
                    "-> None",
                ],
                "members": {
                    "delay": [
                        "def",
                        "self",
                        "attempt: int",
                        "error: ModelProviderError",
                        "-> float | None",
                    ]
                },
            },
            "SQLiteResponseCache": {
                "class": ["path: str | Path", "-> None"],
                "members": {
                    "close": ["def", "self", "-> None"],
                    "get": ["async def", "self", "key: str", "-> ModelResponse | None"],
                    "set": ["async def", "self", "key: str", "response: ModelResponse", "-> None"],
                },
            },
            "TestModel": {
                "class": [
                    "*",
                    "name: str = 'test'",
                    "custom_output_text: str | None = None",
                    "-> None",
                ],
                "members": {
                    "name": "property",
                    "request": ["async def", "self", "request: ModelRequest", "-> ModelResponse"],
                    "stream": [
                        "def",
                        "self",
                        "request: ModelRequest",
                        "-> AsyncIterator[ModelStreamEvent]",
                    ],
                },
            },
            "TextDelta": {"class": ["text: str", "-> None"]},
            "ToolCallDelta": {
                "class": [
                    "index: int",
                    "call_id: str | None = None",
                    "name: str | None = None",
                    "arguments: str = ''",
                    "-> None",
                ]
            },
            "ToolSpec": {
                "class": [
                    "name: str",
                    "description: str",
                    "parameters: dict[str, Any]",
                    "strict: bool = False",
                    "-> None",
                ]
            },
            "aclose_clients": ["def", "-> None"],
            "available_model": ["def", "timeout: float = 0.3", "-> str | None"],
            "resolve_model": [
                "def",
                "spec: str | Model",
                "*",
                "api_key: str | None = None",
                "base_url: str | None = None",
                "runtime: ModelRuntime | None = DEFAULT_RUNTIME",
                "transport: Transport | None = None",
                "price: ModelPrice | float | dict[str, float] | None = None",
                "-> Model",
            ],
        }
    )
