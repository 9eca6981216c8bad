"""The OpenAPI 3.1 document of the server (``GET /openapi.json``), built from the body models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ._bodies import (
    AgUiBody,
    ApprovalBody,
    ChatBody,
    ControlBody,
    DeferredBody,
    InputBody,
    ResponsesBody,
    RunBody,
)

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_RESULT = {
    "type": "object",
    "required": ["run_id", "state", "output", "final_text", "usage", "pending_approvals"],
    "properties": {
        "run_id": {"type": "string"},
        "state": {"type": "string"},
        "thread_id": {"type": ["string", "null"]},
        "output": {},
        "final_text": {"type": "string"},
        "usage": {"type": "object"},
        "pending_approvals": {"type": "array"},
        "pending_inputs": {"type": "array"},
        "deferred": {"type": "object"},
        "interrupted_calls": {"type": "array"},
        "error": {"type": ["string", "null"]},
        "error_type": {"type": ["string", "null"]},
    },
}
_OBJECT = {"type": "object"}
_SSE = {"text/event-stream": {"schema": {"type": "string"}}}
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _errors(*codes: int) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Error"}
    return {
        str(c): {"description": "error", "content": {"application/json": {"schema": ref}}}
        for c in codes
    }


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    body: type[BaseModel] | None,
    ok: dict[str, Any],
    errors: tuple[int, ...],
    params: tuple[dict[str, Any], ...] = (),
    stream: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": ok, **_errors(401, *errors)}}
    if stream:
        op["responses"]["200"] = {**ok, "content": {**ok.get("content", {}), **_SSE}}
    if params:
        op["parameters"] = list(params)
    if body is not None:
        ref = {"$ref": f"#/components/schemas/{body.__name__}"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    return op


def openapi_document() -> dict[str, Any]:
    """The document (JSON-ready)."""
    models: list[type[BaseModel]] = [
        RunBody,
        ControlBody,
        ApprovalBody,
        InputBody,
        DeferredBody,
        ChatBody,
        ResponsesBody,
        AgUiBody,
    ]
    _, schemas = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    components = dict(schemas.get("$defs", {}))
    components["Error"] = _ERROR
    components["Result"] = _RESULT
    result = _json({"$ref": "#/components/schemas/Result"})
    body_errors = (400, 404, 409, 413, 422)
    run_param = (_RUN_ID,)
    paths: dict[str, Any] = {
        "/healthz": {"get": {"summary": "liveness", "responses": {"200": _json(_OBJECT)}}},
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {"description": "ok", "content": {"text/plain": {"schema": {}}}},
                    **_errors(401),
                },
            }
        },
        "/v1/agents": {"get": _op("served agents", None, _json(_OBJECT), ())},
        "/v1/runs": {
            "post": {
                **_op("start a run", RunBody, result, body_errors, stream=True),
            }
        },
        "/v1/runs/{run_id}": {"get": _op("a run's Result", None, result, (404,), run_param)},
        "/v1/runs/{run_id}/events": {
            "get": _op(
                "a run's events (SSE)",
                None,
                {"description": "ok", "content": _SSE},
                (400, 404),
                (
                    _RUN_ID,
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                    },
                ),
            )
        },
        "/v1/threads/{thread_id}": {
            "get": _op(
                "a thread's messages",
                None,
                _json(_OBJECT),
                (404,),
                (
                    {
                        "name": "thread_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ),
            )
        },
        "/v1/models": {"get": _op("agents as models", None, _json(_OBJECT), ())},
        "/v1/chat/completions": {
            "post": _op(
                "OpenAI Chat Completions",
                ChatBody,
                _json(_OBJECT),
                (*body_errors, 500),
                stream=True,
            )
        },
        "/v1/responses": {
            "post": _op(
                "OpenAI Responses", ResponsesBody, _json(_OBJECT), (*body_errors, 500), stream=True
            )
        },
        "/v1/ag-ui/{agent}": {
            "post": _op(
                "AG-UI run",
                AgUiBody,
                {"description": "ok", "content": _SSE},
                body_errors,
                ({"name": "agent", "in": "path", "required": True, "schema": {"type": "string"}},),
            )
        },
    }
    for action, model, summary in (
        ("approvals", ApprovalBody, "decide a pending approval"),
        ("inputs", InputBody, "answer a tool's question"),
        ("deferred", DeferredBody, "deliver a deferred result"),
        ("cancel", ControlBody, "cancel the run"),
        ("resume", ControlBody, "resume the run"),
    ):
        paths[f"/v1/runs/{{run_id}}/{action}"] = {
            "post": _op(summary, model, result, body_errors, run_param, stream=True)
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "tether server", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
    }
