# ruff: noqa: E501 - the snapshot holds long signatures verbatim
"""The public API of every public package besides ``tether`` and ``tether.models``, snapshotted.

Same rules as tests/test_public_api.py (whose ``public_api`` renders each module): a change in
what users import from these packages is a reviewed diff. Update with::

    .venv/bin/pytest tests/test_public_api_packages.py --inline-snapshot=fix

For ``tether.tracing`` the package face and its documented submodules are shown together.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest
from inline_snapshot import snapshot
from test_public_api import public_api

PACKAGES = (
    "tether.errors",
    "tether.events",
    "tether.store",
    "tether.governance",
    "tether.memory",
    "tether.policies",
    "tether.mcp",
    "tether.skills",
    "tether.run.config",
    "tether.tracing",
)
TRACING = (
    "console",
    "files",
    "json",
    "jsonl",
    "otel",
    "redact",
    "render",
    "setup",
    "spans",
    "writer",
)


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize("name", [*PACKAGES, *(f"tether.tracing.{m}" for m in TRACING)])
def test_every_exported_name_exists(name: str) -> None:
    module = _module(name)
    assert module.__all__, name
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ lists missing {exported!r}"
    assert len(set(module.__all__)) == len(module.__all__), f"{name}.__all__ repeats a name"


def _tracing() -> dict[str, Any]:
    out = {"tether.tracing": public_api(_module("tether.tracing"))}
    for sub in TRACING:
        out[f"tether.tracing.{sub}"] = public_api(_module(f"tether.tracing.{sub}"))
    return out


def test_errors_api() -> None:
    assert public_api(_module("tether.errors")) == snapshot(
        {
            "AgentsException": {"class": ["..."]},
            "ApprovalDenied": {
                "class": ["tool_name: str", "call_id: str", "reason: str | None = None", "-> None"]
            },
            "BudgetExceeded": {"class": ["spent: float", "limit: float", "-> None"]},
            "CircuitOpen": {"class": ["endpoint: str", "retry_in: float", "-> None"]},
            "EditRejected": {"class": ["..."]},
            "InputGuardrailTripwireTriggered": {
                "class": ["guardrail: str", "info: Any = None", "-> None"]
            },
            "LogFormatError": {
                "class": ["message: str", "*", "version: int | None = None", "-> None"]
            },
            "MaxTurnsExceeded": {"class": ["turn: int", "limit: int", "-> None"]},
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
            "OutputGuardrailTripwireTriggered": {
                "class": ["guardrail: str", "info: Any = None", "-> None"]
            },
            "ReplayDivergence": {"class": ["turn: int", "diff: str", "-> None"]},
            "Retry": {"class": ["message: str", "-> None"]},
            "RunCancelled": {"class": ["..."]},
            "RunInterrupted": {"class": ["..."]},
            "RunLimitExceeded": {"class": ["limit: str", "value: int", "maximum: int", "-> None"]},
            "RunTimeout": {"class": ["..."]},
            "StaleApproval": {"class": ["..."]},
            "TetherError": {"class": ["..."]},
            "ToolTimeout": {"class": ["tool_name: str", "timeout: float", "-> None"]},
            "UserError": {"class": ["..."]},
        }
    )


def test_events_api() -> None:
    assert public_api(_module("tether.events")) == snapshot(
        {
            "ApprovalDecided": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "approved: bool",
                    "reason: str | None = None",
                    "args_digest: str | None = None",
                    "expires_at: float | None = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ApprovalExpired": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "expires_at: float",
                    "message: str = ''",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ApprovalRequested": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "args: Any",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "BreakpointHit": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "breakpoint: str",
                    "trigger: str",
                    "call_id: str | None = None",
                    "tool_name: str | None = None",
                    "args: Any = None",
                    "turn: int = 0",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "Event": {
                "class": ["*", "run_id: str = ''", "seq: int = 0", "at: float = 0.0", "-> None"],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "GuardrailPassed": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "guardrail: str",
                    "kind: str",
                    "info: Any = None",
                    "latency_ms: float = 0.0",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "GuardrailTripped": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "guardrail: str",
                    "kind: str",
                    "info: Any = None",
                    "latency_ms: float = 0.0",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "Handoff": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "from_agent: str",
                    "to_agent: str",
                    "call_id: str | None = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "HandoffInput": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "agent: str",
                    "messages: list[Message]",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "HistorySummarized": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "key: str",
                    "summary: str",
                    "usage: Usage | None = None",
                    "model: str = ''",
                    "agent: str = ''",
                    "messages: int = 0",
                    "covers: int | None = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "InputProvided": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "value: Any",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "InputRequested": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "prompt: str",
                    "index: int = 0",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "LOG_FORMAT_VERSION": "int",
            "ModelCacheHit": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "model: str",
                    "key: str",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ModelCircuitChanged": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "endpoint: str",
                    "state: str",
                    "failures: int = 0",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ModelCoalesced": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "model: str",
                    "key: str",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ModelFallback": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "from_model: str",
                    "to_model: str",
                    "error: str",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ModelHedged": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "model: str",
                    "after: float",
                    "winner: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ModelResponseEvent": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "turn: int",
                    "agent: str",
                    "model: str",
                    "parts: list[Part]",
                    "usage: Usage",
                    "finish_reason: str | None = None",
                    "response_id: str | None = None",
                    "latency_ms: float = 0.0",
                    "request_digest: dict[str, str] | None = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ModelRetry": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "model: str",
                    "attempt: int",
                    "error: str",
                    "delay: float",
                    "status: int | None = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ModelThrottled": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "model: str",
                    "waited: float",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "OutputRetry": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "reason: str",
                    "message: str | None = None",
                    "candidate: Any = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "PolicyDecision": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "action: str",
                    "rule: str | None = None",
                    "reason: str | None = None",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "PolicyMessage": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "policy: str",
                    "message: str = <property object>",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "Progress": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "progress_percent: float",
                    "turn: int",
                    "max_turns: int",
                    "cost: float | None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ReasoningDeltaEvent": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "delta: str",
                    "turn: int = 0",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "RunFinished": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "state: str",
                    "output: Any = None",
                    "final_text: str = ''",
                    "error: str | None = None",
                    "error_type: str | None = None",
                    "degraded_reasons: list[str] = <factory>",
                    "interrupted_calls: list[str] = <factory>",
                    "result: Any = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "RunPaused": {
                "class": ["*", "run_id: str = ''", "seq: int = 0", "at: float = 0.0", "-> None"],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "RunResumed": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "from_checkpoint: bool = False",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "RunStarted": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "agent: str",
                    "input: list[Message]",
                    "history: list[Message] = <factory>",
                    "thread_id: str | None = None",
                    "trace_id: str | None = None",
                    "parent_run_id: str | None = None",
                    "max_turns: int = 10",
                    "max_cost: float | None = None",
                    "workflow_name: str | None = None",
                    "group_id: str | None = None",
                    "metadata: dict[str, Any] | None = None",
                    "format_version: int = 6",
                    "settings: dict[str, Any] | None = None",
                    "agent_fingerprint: str | None = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "SubagentFinished": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "agent: str",
                    "child_run_id: str",
                    "state: str",
                    "final_text: str",
                    "usage: Usage | None = None",
                    "latency_ms: float = 0.0",
                    "tool_executions: list[dict[str, Any]] | None = None",
                    "subagent_executions: list[dict[str, Any]] | None = None",
                    "degraded_reasons: list[str] | None = None",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "SubagentSuspended": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "agent: str",
                    "child_run_id: str",
                    "state: str",
                    "usage: Usage | None = None",
                    "calls: dict[str, str] = <factory>",
                    "keys: dict[str, str] = <factory>",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "TextDeltaEvent": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "delta: str",
                    "turn: int = 0",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ToolArgsEdited": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "args: Any",
                    "previous: Any = None",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ToolCallDeferred": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "ticket: str",
                    "args: Any = None",
                    "message: str | None = None",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ToolCallDeltaEvent": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "index: int",
                    "call_id: str | None = None",
                    "tool_name: str | None = None",
                    "delta: str = ''",
                    "turn: int = 0",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ToolCallFinished": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "args: Any",
                    "content: str",
                    "output: Any = None",
                    "error: str | None = None",
                    "error_kind: str | None = None",
                    "latency_ms: float = 0.0",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "ToolCallStarted": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "call_id: str",
                    "tool_name: str",
                    "args: Any",
                    "agent: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "TurnStarted": {
                "class": [
                    "*",
                    "run_id: str = ''",
                    "seq: int = 0",
                    "at: float = 0.0",
                    "turn: int",
                    "agent: str",
                    "model: str = ''",
                    "-> None",
                ],
                "members": {"message": "property", "to_dict": ["def", "self", "-> dict[str, Any]"]},
            },
            "describe": ["def", "event: Any", "-> str"],
            "event_from_dict": [
                "def",
                "data: dict[str, Any]",
                "*",
                "version: int | None = None",
                "-> Event",
            ],
        }
    )


def test_store_api() -> None:
    assert public_api(_module("tether.store")) == snapshot(
        {
            "EffectLedger": {
                "class": ["*args", "**kwargs"],
                "members": {
                    "effect": ["async def", "self", "key: str", "-> EffectRecord | None"],
                    "effect_finished": [
                        "async def",
                        "self",
                        "key: str",
                        "status: EffectStatus = 'finished'",
                        "error: str | None = None",
                        "-> None",
                    ],
                    "effect_started": [
                        "async def",
                        "self",
                        "key: str",
                        "run_id: str",
                        "call_id: str",
                        "tool_name: str",
                        "-> None",
                    ],
                    "effects": ["async def", "self", "run_id: str", "-> list[EffectRecord]"],
                },
            },
            "EffectRecord": {
                "class": [
                    "key: str",
                    "run_id: str",
                    "call_id: str",
                    "tool_name: str",
                    "status: EffectStatus",
                    "attempts: int",
                    "started_at: float",
                    "finished_at: float | None = None",
                    "error: str | None = None",
                    "-> None",
                ]
            },
            "Lease": {
                "class": [
                    "run_id: str",
                    "owner: str",
                    "expires_at: float",
                    "cancel_requested: str | None = None",
                    "reserved_seq: int = 0",
                    "-> None",
                ]
            },
            "LeaseStore": {
                "class": ["*args", "**kwargs"],
                "members": {
                    "acquire_lease": [
                        "async def",
                        "self",
                        "run_id: str",
                        "owner: str",
                        "ttl: float",
                        "-> bool",
                    ],
                    "expired_leases": [
                        "async def",
                        "self",
                        "*",
                        "limit: int = 100",
                        "-> list[Lease]",
                    ],
                    "get_lease": ["async def", "self", "run_id: str", "-> Lease | None"],
                    "release_lease": ["async def", "self", "run_id: str", "owner: str", "-> None"],
                    "renew_lease": [
                        "async def",
                        "self",
                        "run_id: str",
                        "owner: str",
                        "ttl: float",
                        "-> bool",
                    ],
                    "request_cancel": [
                        "async def",
                        "self",
                        "run_id: str",
                        "reason: str",
                        "-> bool",
                    ],
                    "reserve_seq": [
                        "async def",
                        "self",
                        "run_id: str",
                        "owner: str",
                        "seq: int",
                        "-> bool",
                    ],
                },
            },
            "MemoryStore": {
                "class": ["-> None"],
                "members": {
                    "acquire_lease": [
                        "async def",
                        "self",
                        "run_id: str",
                        "owner: str",
                        "ttl: float",
                        "-> bool",
                    ],
                    "append": [
                        "async def",
                        "self",
                        "run_id: str",
                        "events: Sequence[Event]",
                        "-> None",
                    ],
                    "close": ["async def", "self", "-> None"],
                    "delete_run": ["async def", "self", "run_id: str", "-> bool"],
                    "effect": ["async def", "self", "key: str", "-> EffectRecord | None"],
                    "effect_finished": [
                        "async def",
                        "self",
                        "key: str",
                        "status: EffectStatus = 'finished'",
                        "error: str | None = None",
                        "-> None",
                    ],
                    "effect_started": [
                        "async def",
                        "self",
                        "key: str",
                        "run_id: str",
                        "call_id: str",
                        "tool_name: str",
                        "-> None",
                    ],
                    "effects": ["async def", "self", "run_id: str", "-> list[EffectRecord]"],
                    "expired_leases": [
                        "async def",
                        "self",
                        "*",
                        "limit: int = 100",
                        "-> list[Lease]",
                    ],
                    "forget_effects": ["async def", "self", "run_id: str", "-> None"],
                    "get_lease": ["async def", "self", "run_id: str", "-> Lease | None"],
                    "list_runs": [
                        "async def",
                        "self",
                        "*",
                        "limit: int = 100",
                        "status: str | None = None",
                        "agent: str | None = None",
                        "-> list[RunInfo]",
                    ],
                    "load": ["async def", "self", "run_id: str", "-> list[Event]"],
                    "load_thread": ["async def", "self", "thread_id: str", "-> list[Message]"],
                    "release_lease": ["async def", "self", "run_id: str", "owner: str", "-> None"],
                    "renew_lease": [
                        "async def",
                        "self",
                        "run_id: str",
                        "owner: str",
                        "ttl: float",
                        "-> bool",
                    ],
                    "request_cancel": [
                        "async def",
                        "self",
                        "run_id: str",
                        "reason: str",
                        "-> bool",
                    ],
                    "reserve_seq": [
                        "async def",
                        "self",
                        "run_id: str",
                        "owner: str",
                        "seq: int",
                        "-> bool",
                    ],
                    "run_info": ["async def", "self", "run_id: str", "-> RunInfo | None"],
                    "save_thread": [
                        "async def",
                        "self",
                        "thread_id: str",
                        "messages: Sequence[Message]",
                        "-> None",
                    ],
                },
            },
            "RunInfo": {
                "class": [
                    "run_id: str",
                    "agent: str",
                    "status: str",
                    "thread_id: str | None",
                    "started_at: float",
                    "updated_at: float",
                    "parent_run_id: str | None = None",
                    "-> None",
                ]
            },
            "RunLeaseHeld": {"class": ["run_id: str", "owner: str | None", "-> None"]},
            "Store": {
                "class": ["*args", "**kwargs"],
                "members": {
                    "append": [
                        "async def",
                        "self",
                        "run_id: str",
                        "events: Sequence[Event]",
                        "-> None",
                    ],
                    "close": ["async def", "self", "-> None"],
                    "list_runs": [
                        "async def",
                        "self",
                        "*",
                        "limit: int = 100",
                        "status: str | None = None",
                        "agent: str | None = None",
                        "-> list[RunInfo]",
                    ],
                    "load": ["async def", "self", "run_id: str", "-> list[Event]"],
                    "load_thread": ["async def", "self", "thread_id: str", "-> list[Message]"],
                    "run_info": ["async def", "self", "run_id: str", "-> RunInfo | None"],
                    "save_thread": [
                        "async def",
                        "self",
                        "thread_id: str",
                        "messages: Sequence[Message]",
                        "-> None",
                    ],
                },
            },
            "StoreError": {
                "class": [
                    "message: str",
                    "*",
                    "run_id: str | None = None",
                    "seq: int | None = None",
                    "-> None",
                ]
            },
            "open_store": ["def", "spec: str | Store", "-> Store"],
            "run_lease": [
                "def",
                "store: Any",
                "run_id: str",
                "*",
                "owner: str | None = None",
                "ttl: float = 15.0",
                "wait: bool = False",
                "timeout: float | None = None",
                "-> AsyncIterator[LeaseKeeper]",
            ],
        }
    )


def test_governance_api() -> None:
    assert public_api(_module("tether.governance")) == snapshot(
        {
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
            "ApprovalGateHook": {
                "class": [
                    "tools: Collection[str] | None = None",
                    "predicate: Callable[[Context[Any], str, dict[str, Any]], bool] | None = None",
                    "-> None",
                ],
                "members": {
                    "requires": [
                        "def",
                        "self",
                        "ctx: Context[Any]",
                        "tool_name: str",
                        "args: dict[str, Any]",
                        "-> bool",
                    ]
                },
            },
            "PIIRedactionHook": {
                "class": [
                    "redact_emails: bool = True",
                    "redact_phones: bool = True",
                    "redact_credit_cards: bool = True",
                    "redact_ssn: bool = True",
                    "patterns: Sequence[str] = ()",
                    "redact_ibans: bool = True",
                    "redact_national_ids: bool = True",
                    "redact_tool_args: bool = False",
                    "-> None",
                ],
                "members": {
                    "redact": ["def", "self", "text: str", "-> str"],
                    "redact_value": ["def", "self", "value: Any", "-> Any"],
                },
            },
            "PolicyEngine": {
                "class": [
                    "rules: Sequence[PolicyRule | Mapping[str, Any]] = ()",
                    "*",
                    "default: PolicyAction = 'allow'",
                    "default_reason: str | None = None",
                    "-> None",
                ],
                "members": {
                    "evaluate": [
                        "def",
                        "self",
                        "tool_name: str",
                        "args: Mapping[str, Any]",
                        "*",
                        "agent: str = ''",
                        "cost: float | None = 0.0",
                        "-> PolicyVerdict",
                    ],
                    "from_file": ["classmethod", "cls", "path: str | Path", "-> PolicyEngine"],
                },
            },
            "PolicyHooks": {
                "class": [
                    "pii_redaction: PIIRedactionHook | None = None",
                    "tool_filter: ToolFilterHook | None = None",
                    "approval_gate: ApprovalGateHook | None = None",
                    "policy_engine: PolicyEngine | None = None",
                    "-> None",
                ]
            },
            "PolicyRule": {
                "class": [
                    "action: PolicyAction",
                    "tool: str | Sequence[str] | None = None",
                    "args: Mapping[str, str] | None = None",
                    "agent: str | Sequence[str] | None = None",
                    "min_cost: float | None = None",
                    "reason: str | None = None",
                    "name: str | None = None",
                    "-> None",
                ],
                "members": {
                    "label": "property",
                    "matches": [
                        "def",
                        "self",
                        "tool_name: str",
                        "args: Mapping[str, Any]",
                        "agent: str",
                        "cost: float | None",
                        "-> bool",
                    ],
                },
            },
            "PolicyVerdict": {
                "class": [
                    "action: PolicyAction",
                    "rule: str | None = None",
                    "reason: str | None = None",
                    "-> None",
                ]
            },
            "SandboxError": {"class": ["..."]},
            "ToolFilterHook": {
                "class": [
                    "allow: Collection[str] | None = None",
                    "deny: Collection[str] = ()",
                    "allow_call: CallPredicate | None = None",
                    "-> None",
                ],
                "members": {
                    "permits": [
                        "def",
                        "self",
                        "ctx: Context[Any]",
                        "tool_name: str",
                        "args: dict[str, Any]",
                        "-> bool",
                    ],
                    "shows": ["def", "self", "tool_name: str", "-> bool"],
                },
            },
            "ToolPermissionError": {"class": ["..."]},
            "ToolPermissions": {
                "class": [
                    "network: tuple[str, ...] = ()",
                    "read: tuple[str, ...] = ()",
                    "write: tuple[str, ...] = ()",
                    "subprocess: bool = False",
                    "-> None",
                ],
                "members": {
                    "parse": [
                        "classmethod",
                        "cls",
                        "value: ToolPermissions | Mapping[str, Any] | None",
                        "-> ToolPermissions",
                    ],
                    "to_dict": ["def", "self", "-> dict[str, Any]"],
                },
            },
            "ToolSandbox": {
                "class": [
                    "timeout: float = 30.0",
                    "cpu_seconds: int = 30",
                    "memory_mb: int = 512",
                    "max_file_mb: int = 64",
                    "max_stderr_chars: int = 4000",
                    "env: tuple[str, ...] = ()",
                    "-> None",
                ]
            },
            "sandbox_namespaces": ["def", "-> dict[str, bool]"],
            "sanitize_tool_output": ["def", "text: str", "-> str"],
        }
    )


def test_memory_api() -> None:
    assert public_api(_module("tether.memory")) == snapshot(
        {
            "Embedder": {
                "class": ["*args", "**kwargs"],
                "members": {
                    "dimension": "property",
                    "embed": ["async def", "self", "texts: Sequence[str]", "-> Embeddings"],
                    "name": "property",
                },
            },
            "Embeddings": {
                "class": [
                    "vectors: list[list[float]]",
                    "model: str",
                    "dimension: int",
                    "input_tokens: int = 0",
                    "cost: float | None = 0.0",
                    "-> None",
                ]
            },
            "EpisodicMemory": {
                "class": [
                    "memory: VectorMemory",
                    "*",
                    "retention: Retention | None = None",
                    "store: Any = None",
                    "top_level_only: bool = True",
                    "-> None",
                ],
                "members": {
                    "flush": ["async def", "self", "run_id: str", "-> None"],
                    "on_event": ["def", "self", "event: Event", "-> None"],
                    "prune": ["async def", "self", "-> int"],
                    "search": [
                        "async def",
                        "self",
                        "query: str",
                        "*",
                        "k: int = 5",
                        "**scope: Any",
                        "-> list[Hit]",
                    ],
                },
            },
            "Fact": {
                "class": [
                    "id: str",
                    "text: str",
                    "agent: str",
                    "thread_id: str | None = None",
                    "key: str | None = None",
                    "metadata: dict[str, Any] | None = None",
                    "created_at: float = 0.0",
                    "updated_at: float = 0.0",
                    "-> None",
                ]
            },
            "HashEmbedder": {
                "class": ["dimension: int = 512", "-> None"],
                "members": {
                    "embed": ["async def", "self", "texts: Sequence[str]", "-> Embeddings"],
                    "name": "property",
                    "vector": ["def", "self", "text: str", "-> list[float]"],
                },
            },
            "History": {
                "class": ["*args", "**kwargs"],
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
            "Hit": {
                "class": [
                    "record: Record",
                    "score: float",
                    "vector_score: float | None = None",
                    "keyword_score: float | None = None",
                    "-> None",
                ],
                "members": {"id": "property", "text": "property"},
            },
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
            "MemoryRecall": {
                "class": [
                    "memory: VectorMemory",
                    "*",
                    "scope: RecallScope = 'agent'",
                    "k: int = 3",
                    "max_tokens: int = 300",
                    "min_score: float | None = None",
                    "kind: str | None = 'fact'",
                    "then: History | None = None",
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
            "MemoryView": {
                "class": ["memory: _Backend", "agent: str", "thread_id: str | None", "-> None"],
                "members": {
                    "facts": ["async def", "self", "-> list[Fact]"],
                    "forget": ["async def", "self", "ref: str", "-> int"],
                    "recall": [
                        "async def",
                        "self",
                        "query: str = ''",
                        "*",
                        "limit: int = 10",
                        "-> list[Fact]",
                    ],
                    "remember": [
                        "async def",
                        "self",
                        "text: str",
                        "*",
                        "key: str | None = None",
                        "scope: Scope = 'thread'",
                        "metadata: dict[str, Any] | None = None",
                        "-> Fact",
                    ],
                },
            },
            "OpenAIEmbedder": {
                "class": [
                    "model: str = 'text-embedding-3-small'",
                    "dimension: int = 1536",
                    "base_url: str | None = None",
                    "api_key: str | None = None",
                    "batch_size: int = 64",
                    "price_per_million: float | None = None",
                    "send_dimensions: bool = False",
                    "cache_size: int = 10000",
                    "timeout: float = 30.0",
                    "retry: Any = None",
                    "_cache: OrderedDict[str, list[float]] = <factory>",
                    "_client: Any = None",
                    "-> None",
                ],
                "members": {
                    "embed": ["async def", "self", "texts: Sequence[str]", "-> Embeddings"],
                    "name": "property",
                },
            },
            "Record": {
                "class": [
                    "id: str",
                    "text: str",
                    "metadata: dict[str, Any] = <factory>",
                    "agent: str | None = None",
                    "thread_id: str | None = None",
                    "user_id: str | None = None",
                    "kind: str = 'fact'",
                    "embedder: str = ''",
                    "dimension: int = 0",
                    "cost: float | None = 0.0",
                    "cost_unit: str = 'USD'",
                    "created_at: float = 0.0",
                    "-> None",
                ]
            },
            "Retention": {
                "class": [
                    "max_age: float | None = None",
                    "max_count: int | None = None",
                    "delete_runs: bool = False",
                    "-> None",
                ]
            },
            "VectorMemory": {
                "class": [
                    "store: Any = 'sqlite:///.tether/tether.db'",
                    "*",
                    "embedder: Embedder | None = None",
                    "rerank: Reranker | None = None",
                    "-> None",
                ],
                "members": {
                    "add": [
                        "async def",
                        "self",
                        "text: str",
                        "*",
                        "id: str | None = None",
                        "metadata: dict[str, Any] | None = None",
                        "agent: str | None = None",
                        "thread_id: str | None = None",
                        "user_id: str | None = None",
                        "kind: str = 'fact'",
                        "-> str",
                    ],
                    "add_many": [
                        "async def",
                        "self",
                        "texts: Sequence[str]",
                        "*",
                        "ids: Sequence[str | None] | None = None",
                        "metadata: dict[str, Any] | None = None",
                        "agent: str | None = None",
                        "thread_id: str | None = None",
                        "user_id: str | None = None",
                        "kind: str = 'fact'",
                        "-> list[str]",
                    ],
                    "close": ["async def", "self", "-> None"],
                    "count": ["async def", "self", "**scope: Any", "-> int"],
                    "delete": [
                        "async def",
                        "self",
                        "id: str | None = None",
                        "*",
                        "metadata: dict[str, Any] | None = None",
                        "agent: str | None = None",
                        "thread_id: str | None = None",
                        "user_id: str | None = None",
                        "kind: str | None = None",
                        "older_than: float | None = None",
                        "-> int",
                    ],
                    "exact": "property",
                    "keep_newest": ["async def", "self", "keep: int", "**scope: Any", "-> int"],
                    "open": ["async def", "self", "-> VectorMemory"],
                    "search": [
                        "async def",
                        "self",
                        "query: str",
                        "*",
                        "k: int = 5",
                        "mode: SearchMode = 'hybrid'",
                        "metadata: dict[str, Any] | None = None",
                        "agent: str | None = None",
                        "thread_id: str | None = None",
                        "user_id: str | None = None",
                        "kind: str | None = None",
                        "min_score: float | None = None",
                        "newer_than: float | None = None",
                        "older_than: float | None = None",
                        "-> list[Hit]",
                    ],
                },
            },
            "WordLlamaEmbedder": {
                "class": ["dimension: int = 256", "-> None"],
                "members": {
                    "embed": ["async def", "self", "texts: Sequence[str]", "-> Embeddings"],
                    "name": "property",
                    "vectors": ["def", "self", "texts: Sequence[str]", "-> list[list[float]]"],
                },
            },
            "memory_tools": [
                "def",
                "memory: VectorMemory",
                "*",
                "scope: MemoryScope = 'agent'",
                "k: int = 5",
                "-> list[Tool[Any]]",
            ],
        }
    )


def test_policies_api() -> None:
    assert public_api(_module("tether.policies")) == snapshot(
        {
            "END": "str",
            "FunctionCallingPolicy": {
                "class": ["-> None"],
                "members": {
                    "follow_up": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "answer: str",
                        "-> str | None",
                    ],
                    "instructions": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> str | None",
                    ],
                    "max_turns": ["def", "self", "agent: AgentSpec", "-> int | None"],
                    "model": ["def", "self", "agent: AgentSpec", "-> Model | None"],
                    "output_schema": ["def", "self", "agent: AgentSpec", "-> OutputSchema | None"],
                    "settings": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> ModelSettings | None",
                    ],
                    "tools": ["def", "self", "agent: AgentSpec", "-> list[Tool[Any]]"],
                },
            },
            "Graph": {
                "class": ["-> None"],
                "members": {
                    "add_conditional_edge": [
                        "def",
                        "self",
                        "source: str",
                        "router: Router",
                        "-> Graph",
                    ],
                    "add_edge": ["def", "self", "source: str", "target: str", "-> Graph"],
                    "add_node": ["def", "self", "name: str", "agent: AgentSpec", "-> Graph"],
                    "next_node": ["def", "self", "source: str", "output: str", "-> str"],
                    "set_entry": ["def", "self", "name: str", "-> Graph"],
                },
            },
            "GraphPolicy": {
                "class": ["graph: Graph", "*", "max_steps: int = 25", "-> None"],
                "members": {
                    "follow_up": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "answer: str",
                        "-> str | None",
                    ],
                    "instructions": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> str | None",
                    ],
                    "max_turns": ["def", "self", "agent: AgentSpec", "-> int | None"],
                    "model": ["def", "self", "agent: AgentSpec", "-> Model | None"],
                    "output_schema": ["def", "self", "agent: AgentSpec", "-> OutputSchema | None"],
                    "settings": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> ModelSettings | None",
                    ],
                    "tools": ["def", "self", "agent: AgentSpec", "-> list[Tool[Any]]"],
                },
            },
            "PlanExecutePolicy": {
                "class": [
                    "plan_instructions: str = 'Before acting, write a short numbered plan of the steps you will take. Do not call tools and do not answer yet.'",
                    "execute_message: str = 'Now carry out the plan step by step, using the tools, then give the final answer.'",
                    "-> None",
                ],
                "members": {
                    "follow_up": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "answer: str",
                        "-> str | None",
                    ],
                    "instructions": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> str | None",
                    ],
                    "max_turns": ["def", "self", "agent: AgentSpec", "-> int | None"],
                    "model": ["def", "self", "agent: AgentSpec", "-> Model | None"],
                    "output_schema": ["def", "self", "agent: AgentSpec", "-> OutputSchema | None"],
                    "settings": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> ModelSettings | None",
                    ],
                    "tools": ["def", "self", "agent: AgentSpec", "-> list[Tool[Any]]"],
                },
            },
            "Policy": {
                "class": [],
                "members": {
                    "follow_up": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "answer: str",
                        "-> str | None",
                    ],
                    "instructions": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> str | None",
                    ],
                    "max_turns": ["def", "self", "agent: AgentSpec", "-> int | None"],
                    "model": ["def", "self", "agent: AgentSpec", "-> Model | None"],
                    "output_schema": ["def", "self", "agent: AgentSpec", "-> OutputSchema | None"],
                    "settings": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> ModelSettings | None",
                    ],
                    "tools": ["def", "self", "agent: AgentSpec", "-> list[Tool[Any]]"],
                },
            },
            "ReActPolicy": {
                "class": ["max_iterations: int | None = None", "-> None"],
                "members": {
                    "follow_up": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "answer: str",
                        "-> str | None",
                    ],
                    "instructions": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> str | None",
                    ],
                    "max_turns": ["def", "self", "agent: AgentSpec", "-> int | None"],
                    "model": ["def", "self", "agent: AgentSpec", "-> Model | None"],
                    "output_schema": ["def", "self", "agent: AgentSpec", "-> OutputSchema | None"],
                    "settings": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> ModelSettings | None",
                    ],
                    "tools": ["def", "self", "agent: AgentSpec", "-> list[Tool[Any]]"],
                },
            },
            "SupervisorPolicy": {
                "class": [
                    "workers: Sequence[AgentSpec]",
                    "*",
                    "max_turns: int | None = None",
                    "-> None",
                ],
                "members": {
                    "follow_up": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "answer: str",
                        "-> str | None",
                    ],
                    "instructions": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> str | None",
                    ],
                    "max_turns": ["def", "self", "agent: AgentSpec", "-> int | None"],
                    "model": ["def", "self", "agent: AgentSpec", "-> Model | None"],
                    "output_schema": ["def", "self", "agent: AgentSpec", "-> OutputSchema | None"],
                    "settings": [
                        "def",
                        "self",
                        "state: RunState",
                        "agent: AgentSpec",
                        "-> ModelSettings | None",
                    ],
                    "tools": ["def", "self", "agent: AgentSpec", "-> list[Tool[Any]]"],
                },
            },
        }
    )


def test_mcp_api() -> None:
    assert public_api(_module("tether.mcp")) == snapshot(
        {
            "MCPConnectionError": {"class": ["..."]},
            "MCPServer": {
                "class": [
                    "*",
                    "prefix: str | None = None",
                    "timeout: float | None = 30.0",
                    "needs_approval: bool = False",
                    "connect_timeout: float = 20.0",
                    "reconnect: bool = True",
                    "-> None",
                ],
                "members": {
                    "call_tool": [
                        "async def",
                        "self",
                        "name: str",
                        "arguments: dict[str, Any]",
                        "-> Any",
                    ],
                    "describe": ["def", "self", "-> str"],
                    "get_prompt": [
                        "async def",
                        "self",
                        "name: str",
                        "arguments: Mapping[str, str] | None = None",
                        "-> list[dict[str, str]]",
                    ],
                    "list_prompts": ["async def", "self", "-> list[dict[str, Any]]"],
                    "list_resources": ["async def", "self", "-> list[dict[str, Any]]"],
                    "list_tools": ["async def", "self", "-> list[Tool[Any]]"],
                    "read_resource": ["async def", "self", "uri: str", "-> str | bytes"],
                },
            },
            "MCPServerHTTP": {
                "class": [
                    "url: str",
                    "*",
                    "headers: Mapping[str, str] | None = None",
                    "auth: TokenSource | Any = None",
                    "prefix: str | None = None",
                    "timeout: float | None = 30.0",
                    "needs_approval: bool = False",
                    "connect_timeout: float = 20.0",
                    "reconnect: bool = True",
                    "-> None",
                ],
                "members": {
                    "call_tool": [
                        "async def",
                        "self",
                        "name: str",
                        "arguments: dict[str, Any]",
                        "-> Any",
                    ],
                    "describe": ["def", "self", "-> str"],
                    "get_prompt": [
                        "async def",
                        "self",
                        "name: str",
                        "arguments: Mapping[str, str] | None = None",
                        "-> list[dict[str, str]]",
                    ],
                    "list_prompts": ["async def", "self", "-> list[dict[str, Any]]"],
                    "list_resources": ["async def", "self", "-> list[dict[str, Any]]"],
                    "list_tools": ["async def", "self", "-> list[Tool[Any]]"],
                    "read_resource": ["async def", "self", "uri: str", "-> str | bytes"],
                },
            },
            "MCPServerStdio": {
                "class": [
                    "command: str",
                    "args: Sequence[str] = ()",
                    "*",
                    "env: dict[str, str] | None = None",
                    "cwd: str | None = None",
                    "prefix: str | None = None",
                    "timeout: float | None = 30.0",
                    "needs_approval: bool = False",
                    "connect_timeout: float = 20.0",
                    "reconnect: bool = True",
                    "-> None",
                ],
                "members": {
                    "call_tool": [
                        "async def",
                        "self",
                        "name: str",
                        "arguments: dict[str, Any]",
                        "-> Any",
                    ],
                    "describe": ["def", "self", "-> str"],
                    "get_prompt": [
                        "async def",
                        "self",
                        "name: str",
                        "arguments: Mapping[str, str] | None = None",
                        "-> list[dict[str, str]]",
                    ],
                    "list_prompts": ["async def", "self", "-> list[dict[str, Any]]"],
                    "list_resources": ["async def", "self", "-> list[dict[str, Any]]"],
                    "list_tools": ["async def", "self", "-> list[Tool[Any]]"],
                    "read_resource": ["async def", "self", "uri: str", "-> str | bytes"],
                },
            },
            "build_server": [
                "def",
                "runner: Runner",
                "*",
                "agents: Sequence[Agent | str] | None = None",
                "tools: bool = False",
                "name: str = 'tether'",
                "-> Any",
            ],
            "serve": [
                "def",
                "runner: Runner",
                "*",
                "http: bool = False",
                "host: str = '127.0.0.1'",
                "port: int = 8000",
                "tools: bool = False",
                "-> None",
            ],
            "serve_http": [
                "def",
                "runner: Runner",
                "*",
                "host: str = '127.0.0.1'",
                "port: int = 8000",
                "path: str = '/mcp'",
                "tools: bool = False",
                "-> None",
            ],
            "serve_stdio": ["def", "runner: Runner", "*", "tools: bool = False", "-> None"],
        }
    )


def test_skills_api() -> None:
    assert public_api(_module("tether.skills")) == snapshot(
        {
            "Sandbox": {
                "class": [
                    "timeout: float = 30.0",
                    "cpu_seconds: int = 30",
                    "memory_mb: int = 1024",
                    "max_file_mb: int = 64",
                    "max_output_chars: int = 20000",
                    "network: bool = False",
                    "-> None",
                ],
                "members": {
                    "network_isolated": "property",
                    "run": [
                        "async def",
                        "self",
                        "workdir: Path",
                        "argv: list[str]",
                        "-> dict[str, Any]",
                    ],
                },
            },
            "Skill": {
                "class": [
                    "name: str",
                    "description: str",
                    "instructions: str",
                    "path: Path",
                    "-> None",
                ],
                "members": {"files": ["def", "self", "-> list[str]"]},
            },
            "SkillSet": {
                "class": [
                    "skills: str | Path | Sequence[Skill]",
                    "*",
                    "sandbox: Sandbox | None = None",
                ],
                "members": {
                    "prompt": ["def", "self", "-> str"],
                    "tools": ["def", "self", "-> list[Tool[Any]]"],
                },
            },
            "load_skills": ["def", "folder: str | Path", "-> list[Skill]"],
        }
    )


def test_run_config_api() -> None:
    assert public_api(_module("tether.run.config")) == snapshot(
        {
            "Component": ["def", "*args", "**kwargs"],
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
            "FailureAction": ["def", "*args", "**kwargs"],
            "FailureDecision": ["def", "*args", "**kwargs"],
            "InteractionMode": ["def", "*args", "**kwargs"],
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
        }
    )


def test_tracing_api() -> None:
    assert _tracing() == snapshot(
        {
            "tether.tracing": {
                "Exporter": {
                    "class": ["*args", "**kwargs"],
                    "members": {
                        "flush": ["async def", "self", "run_id: str", "-> None"],
                        "on_event": ["def", "self", "event: Event", "-> None"],
                    },
                },
                "export_errors": ["def", "-> dict[str, int]"],
            },
            "tether.tracing.console": {
                "ConsoleExporter": {
                    "class": ["console: Console | None = None", "-> None"],
                    "members": {
                        "backfill": ["def", "self", "events: Sequence[Event]", "-> None"],
                        "flush": ["async def", "self", "run_id: str", "-> None"],
                        "on_event": ["def", "self", "event: Event", "-> None"],
                    },
                }
            },
            "tether.tracing.files": {
                "TraceFile": {
                    "class": ["trace_id: str", "path: Path", "mtime: float", "size: int", "-> None"]
                },
                "check_trace_id": ["def", "trace_id: str", "-> str"],
                "default_trace_dir": ["def", "-> Path"],
                "file_name_for": ["def", "trace_id: str", "-> str"],
                "list_trace_files": ["def", "directory: Path", "-> list[TraceFile]"],
                "load_trace": ["def", "directory: Path", "trace_id: str", "-> Trace"],
                "read_events": ["def", "path: Path", "-> list[Event]"],
                "trace_path": ["def", "directory: Path", "trace_id: str", "-> Path"],
            },
            "tether.tracing.json": {
                "JsonExporter": {
                    "class": [
                        "path: str | Path | None = None",
                        "*",
                        "keep: bool = False",
                        "-> None",
                    ],
                    "members": {
                        "drain": ["async def", "self", "-> None"],
                        "flush": ["async def", "self", "run_id: str", "-> None"],
                        "on_event": ["def", "self", "event: Event", "-> None"],
                    },
                }
            },
            "tether.tracing.jsonl": {
                "JsonlExporter": {
                    "class": [
                        "path: str | Path | None = None",
                        "*",
                        "live_interval: float = 0.25",
                        "flush_timeout: float = 10.0",
                        "-> None",
                    ],
                    "members": {
                        "backfill": ["def", "self", "events: Sequence[Event]", "-> None"],
                        "drain": ["async def", "self", "-> None"],
                        "flush": ["async def", "self", "run_id: str", "-> None"],
                        "on_event": ["def", "self", "event: Event", "-> None"],
                        "trace_file": ["def", "self", "trace_id: str", "-> Path"],
                    },
                }
            },
            "tether.tracing.otel": {
                "OtelExporter": {
                    "class": [
                        "tracer_provider: Any = None",
                        "*",
                        "endpoint: str | None = None",
                        "capture_content: bool = True",
                        "-> None",
                    ],
                    "members": {
                        "backfill": ["def", "self", "events: Sequence[Event]", "-> None"],
                        "flush": ["async def", "self", "run_id: str", "-> None"],
                        "force_flush": ["def", "self", "timeout_millis: int = 10000", "-> bool"],
                        "on_event": ["def", "self", "event: Event", "-> None"],
                        "shutdown": ["def", "self", "-> None"],
                    },
                }
            },
            "tether.tracing.redact": {
                "REDACTED": "str",
                "SECRET_MARK": "str",
                "env_secrets": ["def", "-> tuple[str, ...]"],
                "forget_secrets": ["def", "*values: str", "-> None"],
                "redact_event": ["def", "event: Event", "-> Event"],
                "register_secrets": ["def", "*values: str", "-> None"],
                "scrub_secrets": [
                    "def",
                    "text: str",
                    "secrets: tuple[str, ...] | None = None",
                    "-> str",
                ],
                "scrub_secrets_bytes": [
                    "def",
                    "data: bytes",
                    "secrets: tuple[str, ...] | None = None",
                    "-> bytes",
                ],
                "secret_forms": ["def", "value: str", "-> set[str]"],
            },
            "tether.tracing.render": {
                "format_cost": ["def", "cost: float | None", "-> str"],
                "format_ms": ["def", "ms: float | None", "-> str"],
                "span_label": ["def", "span: Span", "now: float | None = None", "-> str"],
                "span_tree": [
                    "def",
                    "roots: Iterable[Span]",
                    "label: str = 'trace'",
                    "now: float | None = None",
                    "-> Tree",
                ],
                "trace_header": ["def", "trace: Trace", "-> str"],
            },
            "tether.tracing.setup": {
                "TELEMETRY_NAMES": "tuple",
                "exporters_from_spec": [
                    "def",
                    "spec: str | Exporter | Sequence[str | Exporter] | None",
                    "-> list[Exporter]",
                ],
            },
            "tether.tracing.spans": {
                "Span": {
                    "class": [
                        "span_id: str",
                        "parent_id: str | None",
                        "kind: SpanKind",
                        "name: str",
                        "run_id: str",
                        "start: float",
                        "end: float | None = None",
                        "status: str = 'running'",
                        "error: str | None = None",
                        "attributes: dict[str, Any] = <factory>",
                        "children: list[Span] = <factory>",
                        "-> None",
                    ],
                    "members": {
                        "close": [
                            "def",
                            "self",
                            "at: float",
                            "status: str = 'ok'",
                            "error: str | None = None",
                            "-> None",
                        ],
                        "duration_ms": "property",
                        "to_dict": ["def", "self", "-> dict[str, Any]"],
                        "walk": ["def", "self", "depth: int = 0", "-> Iterator[tuple[int, Span]]"],
                    },
                },
                "SpanBuilder": {
                    "class": ["*", "fold_messages: bool = False", "-> None"],
                    "members": {
                        "feed": ["def", "self", "ev: Event", "-> list[SpanChange]"],
                        "forget": ["def", "self", "run_id: str", "-> None"],
                    },
                },
                "SpanChange": ["def", "..."],
                "Trace": {
                    "class": [
                        "trace_id: str",
                        "roots: list[Span]",
                        "run_ids: list[str]",
                        "agent: str",
                        "state: str",
                        "started_at: float",
                        "ended_at: float | None",
                        "usage: dict[str, Any]",
                        "errors: int",
                        "tools: list[str]",
                        "workflow_name: str | None = None",
                        "group_id: str | None = None",
                        "metadata: dict[str, Any] | None = None",
                        "-> None",
                    ],
                    "members": {
                        "cost": "property",
                        "duration_ms": "property",
                        "summary": ["def", "self", "-> dict[str, Any]"],
                        "to_dict": ["def", "self", "-> dict[str, Any]"],
                        "walk": ["def", "self", "-> Iterator[tuple[int, Span]]"],
                    },
                },
                "build_trace": [
                    "def",
                    "events: Iterable[Event]",
                    "*",
                    "trace_id: str | None = None",
                    "fold_messages: bool = True",
                    "-> Trace",
                ],
            },
            "tether.tracing.writer": {
                "RunFile": {
                    "class": ["directory: Path", "run_id: str", "-> None"],
                    "members": {"pointer": "property", "resolve": ["def", "self", "-> Path"]},
                },
                "TraceWriter": {
                    "class": ["delay: float = 0.05", "-> None"],
                    "members": {
                        "append": [
                            "def",
                            "self",
                            "path: str | Path | RunFile",
                            "events: Sequence[Event]",
                            "-> None",
                        ],
                        "append_lines": [
                            "def",
                            "self",
                            "path: str | Path | RunFile",
                            "lines: list[bytes]",
                            "-> None",
                        ],
                        "drain": ["async def", "self", "timeout: float | None = None", "-> None"],
                        "drain_sync": ["def", "self", "-> None"],
                        "fill": [
                            "def",
                            "self",
                            "path: str | Path | RunFile",
                            "events: Sequence[Event]",
                            "-> None",
                        ],
                        "pointer": ["def", "self", "path: Path", "target: str", "-> None"],
                        "replace": [
                            "def",
                            "self",
                            "path: Path",
                            "document: Callable[[], Any]",
                            "-> None",
                        ],
                    },
                },
                "event_line": ["def", "event: Event", "-> bytes"],
                "trace_writer": ["def", "-> TraceWriter"],
            },
        }
    )


def test_tether_names_each_public_name_once_for_checkers_and_once_for_import() -> None:
    """``__all__`` is derived from the lazy table; the TYPE_CHECKING imports (for type
    checkers) name exactly the same names, so the two cannot drift apart."""
    import ast
    from pathlib import Path

    import tether

    tree = ast.parse(Path(tether.__file__).read_text())
    typed = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.body
        if isinstance(child, ast.ImportFrom)
        for alias in child.names
    }
    lazy = set(tether._LAZY)
    assert typed == lazy
    assert tether.__all__ == sorted([*lazy, "__version__"])
    for name in lazy:
        assert getattr(tether, name) is not None


@pytest.mark.parametrize("face", ["tether.models", "tether.memory"])
def test_package_faces_name_each_public_name_once_for_checkers_and_once_for_import(
    face: str,
) -> None:
    """As ``tether``: the lazy table is the one list of names (``__all__`` derives from it),
    the TYPE_CHECKING imports name exactly those, and every name loads from where it says."""
    import ast
    import importlib
    from pathlib import Path

    module = importlib.import_module(face)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text())
    typed = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.body
        if isinstance(child, ast.ImportFrom)
        for alias in child.names
    }
    lazy = module._LAZY
    assert typed == set(lazy)
    assert module.__all__ == sorted(lazy)
    for name, where in lazy.items():
        assert getattr(module, name) is getattr(importlib.import_module(where, face), name)
