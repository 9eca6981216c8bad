"""Request bodies of the HTTP API, as pydantic models (unknown fields are refused: 422).

They also make the OpenAPI document (:mod:`._openapi`), so the contract and its checks are one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AgUiBody",
    "ApprovalBody",
    "ChatBody",
    "ControlBody",
    "DeferredBody",
    "InputBody",
    "ResponsesBody",
    "RunBody",
]

_ID = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunBody(_Body):
    """``POST /v1/runs``: start a run (or return the run already under ``run_id``)."""

    agent: str = Field(min_length=1, max_length=200)
    input: str | list[dict[str, Any]]
    thread_id: str | None = _ID
    run_id: str | None = _ID
    stream: bool = False
    background: bool = False


class ControlBody(_Body):
    """``POST /v1/runs/{run_id}/cancel`` and ``/resume``."""

    stream: bool = False


class ApprovalBody(_Body):
    """``POST /v1/runs/{run_id}/approvals``: decide a pending approval."""

    call_id: str = Field(min_length=1, max_length=200)
    approved: bool
    reason: str | None = Field(default=None, max_length=10_000)
    #: The arguments the person edited the call to (the call runs with them, logged as an edit).
    args: dict[str, Any] | None = None
    #: When the approval lapses if the call has not run: a Unix time, or seconds from now.
    expires_at: float | None = None
    expires_in: float | None = None
    #: The digest of the arguments the person saw (``pending_approvals[].args_digest``): a
    #: decision for a call now pending with other arguments is refused (422).
    args_digest: str | None = Field(default=None, max_length=64)
    stream: bool = False


class InputBody(_Body):
    """``POST /v1/runs/{run_id}/inputs``: answer a tool's question."""

    call_id: str = Field(min_length=1, max_length=200)
    value: Any
    stream: bool = False


class DeferredBody(_Body):
    """``POST /v1/runs/{run_id}/deferred``: deliver a deferred tool call's result."""

    call_id: str = Field(min_length=1, max_length=200)
    output: Any
    stream: bool = False


class _OpenAIBody(BaseModel):
    # The SDKs send many optional parameters; those an agent decides itself are accepted and
    # ignored, anything else is refused like on the run API.
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    seed: int | None = None
    service_tier: str | None = None
    top_logprobs: int | None = None
    # hints for OpenAI's own serving (prompt caching, abuse tracking), which clients send
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    safety_identifier: str | None = None


class ChatBody(_OpenAIBody):
    """``POST /v1/chat/completions`` (OpenAI Chat Completions)."""

    messages: list[dict[str, Any]] = Field(min_length=1)
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int | None = Field(default=None, ge=1, le=1)
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    logit_bias: dict[str, float] | None = None
    reasoning_effort: str | None = None
    modalities: list[str] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    verbosity: str | None = None


class ResponsesBody(_OpenAIBody):
    """``POST /v1/responses`` (OpenAI Responses)."""

    input: str | list[dict[str, Any]]
    instructions: str | None = None
    max_output_tokens: int | None = None
    text: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    truncation: str | None = None
    include: list[str] | None = None
    max_tool_calls: int | None = None


class AgUiBody(BaseModel):
    """``POST /v1/ag-ui/{agent}``: an AG-UI ``RunAgentInput`` (camelCase, as front ends send)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    thread_id: str = Field(alias="threadId", min_length=1, max_length=200)
    run_id: str = Field(alias="runId", min_length=1, max_length=200)
    parent_run_id: str | None = Field(default=None, alias="parentRunId")
    protocol_version: str | None = Field(default=None, alias="protocolVersion")
    state: Any = None
    messages: list[dict[str, Any]] = Field(default_factory=list)
    tools: list[Any] = Field(default_factory=list)
    context: list[Any] = Field(default_factory=list)
    forwarded_props: Any = Field(default=None, alias="forwardedProps")
    resume: list[Any] | None = None
