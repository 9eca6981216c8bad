"""The Starlette application: routes, errors as JSON, auth, lifespan (sweeper, drain)."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from .._log_scrub import get_logger
from ..errors import TetherError, UserError
from . import _agui, _api_runs, _openai
from ._auth import BearerAuth
from ._config import ServerConfig
from ._executor import executor_for
from ._http import ApiError, error_response, json_response
from ._manager import RunManager
from ._metrics import render_metrics
from ._openapi import openapi_document
from ._state import Served, served

if TYPE_CHECKING:
    from ..agent import Agent
    from ..run.runner import Runner

__all__ = ["build_app", "served_agents"]

_log = get_logger("tether.server")


def served_agents(runner: Runner) -> dict[str, Agent]:
    """The agents a Runner serves: those registered with it, by name."""
    return cast("dict[str, Agent]", runner.agents)  # the Runner types them as AgentSpec


async def _healthz(request: Request) -> Response:
    manager = served(request).manager
    status = "ok" if manager.accepting else "draining"
    return json_response(
        {"status": status, "in_flight": manager.in_flight}, 200 if manager.accepting else 503
    )


async def _metrics(request: Request) -> Response:
    return PlainTextResponse(
        render_metrics(served(request).manager), media_type="text/plain; version=0.0.4"
    )


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.type, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, kind, str(exc.detail))


async def _tether_error(request: Request, exc: Exception) -> Response:
    status = 409 if isinstance(exc, UserError) else 500
    return error_response(status, type(exc).__name__, str(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    from ..tracing.redact import scrub_secrets

    # the traceback as text, scrubbed: the exception may quote a key (the log is no trace)
    trace = scrub_secrets("".join(traceback.format_exception(exc)).rstrip())
    _log.error("tether server: unexpected error on %s\n%s", request.url.path, trace)
    return error_response(500, "internal_error", "the server failed to answer; see its log")


def _a2a_routes(runner: Runner, config: ServerConfig) -> list[BaseRoute]:
    try:
        import tether.a2a as a2a  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:
        return []
    make = getattr(a2a, "routes", None)
    if make is None:
        return []
    found: list[BaseRoute] = list(make(runner, max_body=config.max_body_bytes))
    return found


def build_app(runner: Runner, config: ServerConfig) -> Any:
    """The ASGI app (see :func:`tether.server.create_app`)."""
    agents = served_agents(runner)
    if not agents:
        raise UserError(
            "the Runner serves no agent: register some with runner.register_agent(agent) "
            "or Runner(agents=[...])"
        )
    executor = executor_for(runner, config)
    manager = RunManager(runner, config, executor)
    routes: list[BaseRoute] = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
        *_api_runs.routes(),
        *_openai.routes(),
        *_agui.routes(),
        *(_a2a_routes(runner, config) if config.a2a else []),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        manager.start_sweeper()
        try:
            yield
        finally:
            await manager.drain()
            close = getattr(executor, "close", None)
            if close is not None and executor is not runner:
                close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            TetherError: _tether_error,
            Exception: _unexpected,
        },
    )
    app.state.tether = Served(runner, manager, config, agents)
    app.add_middleware(BearerAuth, keys=config.api_keys)
    return app
