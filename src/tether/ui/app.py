"""The trace dashboard: a Starlette app over a directory of JSONL traces.

Pages are plain HTML, JS and CSS served from ``static/`` (no build step). The JSON API:

- ``GET /api/traces?agent=&state=&errors=1&min_cost=&max_cost=``: trace summaries, newest first.
- ``GET /api/traces/{trace_id}``: one trace with its span tree (inputs, outputs, timings).
- ``GET /api/traces/{trace_id}/stream``: Server-Sent Events, the trace again each time its file
  grows, until it is no longer running.
- ``GET /api/stream``: Server-Sent Events, the summaries each time the directory changes.
- ``/api/runs...``: the runs of the store, their live logs and approval decisions (see
  ``_runs.py``).

Error counts count each failure once (a failed tool is one error, not also its turn), and a
degraded run's span is shown as ``degraded``, not ``ok``.

Trace ids from URLs are validated (400 otherwise) so no request can read outside the directory.
Files are read in a thread; summaries are cached by file size and modification time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import TetherError, UserError
from ..tracing.files import (
    TraceFile,
    check_trace_id,
    default_trace_dir,
    list_trace_files,
    read_events,
    trace_path,
)
from ..tracing.redact import scrub_secrets
from ..tracing.spans import Trace, build_trace
from ._http import IdRoute, error
from ._runs import run_routes

if TYPE_CHECKING:
    from ..run.runner import Runner
    from ..store import Store

__all__ = ["create_app", "serve"]

STATIC = Path(__file__).parent / "static"


class _TraceCache:
    """Summaries of the trace files, rebuilt only for files that changed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._summaries: dict[Path, tuple[int, float, dict[str, Any]]] = {}

    def summaries(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        files = list_trace_files(self.directory)
        for found in files:
            summary = self._summary(found)
            if summary is not None:
                out.append(summary)
        alive = {f.path for f in files}
        for path in [p for p in self._summaries if p not in alive]:
            del self._summaries[path]
        return out

    def _summary(self, found: TraceFile) -> dict[str, Any] | None:
        cached = self._summaries.get(found.path)
        if cached is not None and cached[0] == found.size and cached[1] == found.mtime:
            return cached[2]
        try:
            trace = build_trace(
                read_events(found.path), trace_id=found.trace_id, fold_messages=False
            )
        except (OSError, ValueError, TypeError, KeyError, TetherError):
            return None  # not a tether trace (or torn beyond use): not listed
        summary = _summary_of(trace)
        self._summaries[found.path] = (found.size, found.mtime, summary)
        return summary


def _summary_of(trace: Trace) -> dict[str, Any]:
    from ..cli._traces import error_count, trace_agents

    summary = trace.summary()
    summary["errors"] = error_count(trace)
    summary["agents"] = trace_agents(trace)
    return summary


def _document(trace: Trace) -> dict[str, Any]:
    """The trace for the page: spans with their shown status, errors counted once."""
    from ..cli._traces import display_status

    document = {**_summary_of(trace), "spans": [r.to_dict() for r in trace.roots]}
    shown = {span.span_id: display_status(span) for _depth, span in trace.walk()}

    def fix(spans: list[dict[str, Any]]) -> None:
        for span in spans:
            span["status"] = shown.get(span["span_id"], span["status"])
            fix(span.get("children", []))

    fix(document["spans"])
    return document


def _matches(summary: dict[str, Any], params: Any) -> bool:
    agent = params.get("agent")
    state = params.get("state")
    if agent and agent not in summary.get("agents", [summary["agent"]]):
        return False
    if state and summary["state"] != state:
        return False
    if params.get("errors") in ("1", "true", "yes") and not summary["errors"]:
        return False
    cost = summary["cost"] or 0.0
    for key in ("min_cost", "max_cost"):
        raw = params.get(key)
        if not raw:
            continue
        try:
            limit = float(raw)
        except ValueError as exc:
            raise UserError(f"{key} must be a number, got {raw!r}") from exc
        if (cost < limit) if key == "min_cost" else (cost > limit):
            return False
    return True


def _json(data: Any, status: int = 200) -> Response:
    body = scrub_secrets(json.dumps(data, default=repr, ensure_ascii=False))
    return Response(body, status_code=status, media_type="application/json")


def _sse(data: Any, event: str) -> bytes:
    body = scrub_secrets(json.dumps(data, default=repr, ensure_ascii=False))
    return f"event: {event}\ndata: {body}\n\n".encode()


def create_app(
    trace_dir: str | Path | None = None,
    *,
    store: Store | str | None = None,
    poll_interval: float = 0.5,
) -> Starlette:
    """The dashboard app for the traces in ``trace_dir`` (default ``.tether/traces``) and,
    when ``store`` is given (a Store or its URL), the runs of that store."""
    directory = Path(trace_dir) if trace_dir is not None else default_trace_dir()
    cache = _TraceCache(directory)
    opened: dict[str, Any] = {}
    background: set[asyncio.Task[Any]] = set()

    def store_of() -> Store | None:
        if store is None:
            return None
        if "store" not in opened:
            from ..store import open_store

            opened["store"] = open_store(store)
        found: Store = opened["store"]
        return found

    def runner_of() -> Runner:
        if "runner" not in opened:
            from ..run.runner import Runner
            from ..tracing.jsonl import JsonlExporter

            opened["runner"] = Runner(store=store_of(), telemetry=JsonlExporter(directory))
        found: Runner = opened["runner"]
        return found

    def stat(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def load(path: Path, trace_id: str) -> Trace:
        return build_trace(read_events(path), trace_id=trace_id)

    def path_for(request: Request) -> tuple[str, Path]:
        trace_id = check_trace_id(request.path_params["trace_id"])
        return trace_id, trace_path(directory, trace_id)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def traces(request: Request) -> Response:
        summaries = await asyncio.to_thread(cache.summaries)
        try:
            shown = [s for s in summaries if _matches(s, request.query_params)]
        except UserError as exc:
            return error(str(exc), 400)
        agents = sorted({s["agent"] for s in summaries})
        return _json({"traces": shown, "agents": agents, "directory": str(directory)})

    async def trace(request: Request) -> Response:
        try:
            trace_id, path = path_for(request)
        except UserError as exc:
            return error(str(exc), 400)
        if await asyncio.to_thread(stat, path) is None:
            return error(f"no trace {trace_id!r}", 404, "trace_not_found")
        found = await asyncio.to_thread(load, path, trace_id)
        return _json(_document(found))

    async def trace_stream(request: Request) -> Response:
        try:
            trace_id, path = path_for(request)
        except UserError as exc:
            return error(str(exc), 400)

        async def events() -> AsyncIterator[bytes]:
            seen: tuple[int, int] | None = None
            while not await request.is_disconnected():
                current = await asyncio.to_thread(stat, path)
                if current is not None and current != seen:
                    seen = current
                    found = await asyncio.to_thread(load, path, trace_id)
                    yield _sse(_document(found), "trace")
                    if found.state != "running":
                        return
                await asyncio.sleep(poll_interval)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def list_stream(request: Request) -> Response:
        async def events() -> AsyncIterator[bytes]:
            seen: Any = None
            while not await request.is_disconnected():
                files = await asyncio.to_thread(list_trace_files, directory)
                key = [(f.path, f.size, f.mtime) for f in files]
                if key != seen:
                    seen = key
                    summaries = await asyncio.to_thread(cache.summaries)
                    yield _sse({"traces": summaries}, "traces")
                await asyncio.sleep(poll_interval)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    routes = [
        Route("/", index),
        Route("/api/traces", traces),
        Route("/api/stream", list_stream),
        IdRoute("/api/traces/{trace_id}", trace),
        IdRoute("/api/traces/{trace_id}/stream", trace_stream),
        *run_routes(store_of, runner_of, poll_interval=poll_interval, tasks=background),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.trace_dir = directory
    app.state.store = store
    return app


def serve(
    trace_dir: str | Path | None = None,
    *,
    store: Store | str | None = None,
    host: str = "127.0.0.1",
    port: int = 8321,
) -> None:
    """Run the dashboard with uvicorn until interrupted (blocking)."""
    import uvicorn

    app = create_app(trace_dir, store=store)
    where = f", runs in {store}" if isinstance(store, str) else ""
    print(f"tether dashboard on http://{host}:{port}/ (traces in {app.state.trace_dir}{where})")
    uvicorn.run(app, host=host, port=port, log_level="warning")
