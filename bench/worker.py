"""A benchmark worker: one framework in its own process, measuring what the runner asks for.

``python bench/worker.py FRAMEWORK`` reads one JSON command a line on stdin and answers one JSON
line on stdout (library prints are sent to stderr so they cannot corrupt the answers). All
commands run on one event loop, so HTTP clients and their connection pools live across them.

Commands (``op``):
- ``info``: framework version and the Python running it.
- ``seq``: ``n`` runs one after the other; per-run seconds (and the time to the first text delta
  when ``stream``), plus the process CPU they used. ``target`` is ``http`` or ``inproc``.
- ``burst``: ``n`` runs started at once; wall seconds, process CPU seconds, and with
  ``trace_memory`` the peak of Python-traced memory above the level before the burst.

``python bench/worker.py FRAMEWORK --cold BASE_URL`` is a fresh process's first answer: it
imports what a run needs, answers once over HTTP and prints the import and answer times.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
import tracemalloc
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class Worker:
    """The adapters of one framework, keyed by (server URL, transport)."""

    def __init__(self, name: str) -> None:
        from frameworks import load

        self.name = name
        self.module = load(name)
        self.benches: dict[tuple[str | None, str], Any] = {}

    async def bench(self, base_url: str | None, transport: str) -> Any:
        key = (base_url, transport)
        found = self.benches.get(key)
        if found is None:
            found = self.module.Bench(base_url, transport)
            await found.setup()
            self.benches[key] = found
        return found

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["op"]
        if op == "info":
            return {"version": self.module.version(), "python": sys.version.split()[0]}
        if op == "close":
            for bench in self.benches.values():
                await bench.close()
            self.benches.clear()
            return {}
        bench = await self.bench(cmd.get("base_url"), cmd.get("transport", "default"))
        stream = bool(cmd.get("stream"))
        method = f"{'stream' if stream else 'run'}_{cmd.get('target', 'http')}"
        fn = getattr(bench, method, None)
        if fn is None:
            return {"unsupported": method}
        if op == "seq":
            return await _seq(fn, int(cmd["n"]), stream)
        if op == "burst":
            return await _burst(fn, int(cmd["n"]), stream, bool(cmd.get("trace_memory")))
        raise ValueError(f"unknown op {op!r}")


async def _seq(fn: Any, n: int, stream: bool) -> dict[str, Any]:
    times: list[float] = []
    firsts: list[float] = []
    clock = time.perf_counter
    gc.collect()
    cpu = time.process_time()
    for _ in range(n):
        if stream:
            start = clock()
            first = [0.0]

            def on_first(first: list[float] = first) -> None:
                first[0] = clock()

            await fn(on_first)
            end = clock()
            firsts.append(first[0] - start if first[0] else float("nan"))
        else:
            start = clock()
            await fn()
            end = clock()
        times.append(end - start)
    return {"times": times, "first": firsts, "cpu": time.process_time() - cpu}


async def _burst(fn: Any, n: int, stream: bool, trace_memory: bool) -> dict[str, Any]:
    def on_first() -> None:
        pass

    calls = (lambda: fn(on_first)) if stream else fn
    gc.collect()
    if trace_memory:
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
    cpu = time.process_time()
    wall = time.perf_counter()
    results = await asyncio.gather(*(calls() for _ in range(n)), return_exceptions=True)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    out: dict[str, Any] = {"wall": wall, "cpu": cpu}
    if trace_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["peak_bytes"] = peak - base
    errors = [r for r in results if isinstance(r, BaseException)]
    out["errors"] = len(errors)
    if errors:
        out["first_error"] = f"{type(errors[0]).__name__}: {errors[0]}"[:300]
    return out


def serve(name: str) -> None:
    """Answer commands from stdin until it closes."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr
    worker = Worker(name)
    with asyncio.Runner() as runner:
        for line in sys.stdin:
            if not line.strip():
                continue
            cmd = json.loads(line)
            try:
                answer = runner.run(worker.handle(cmd))
            except Exception as exc:  # reported in the table, never fatal to the run
                answer = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            out.write(json.dumps(answer) + "\n")
        runner.run(worker.handle({"op": "close"}))


def cold(name: str, base_url: str) -> None:
    """A fresh process: import what a run needs, answer once, print the times."""
    started = time.perf_counter()
    from frameworks import load

    module = load(name)
    imported = time.perf_counter() - started

    async def once() -> str:
        bench = module.Bench(base_url, "default")
        await bench.setup()
        try:
            return str(await bench.run_http())
        finally:
            await bench.close()

    answer = asyncio.run(once())
    print(
        json.dumps(
            {
                "import_all": imported,
                "answer": answer,
                "first_answer": time.perf_counter() - started,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[2] == "--cold":
        cold(sys.argv[1], sys.argv[3])
    else:
        serve(sys.argv[1])
