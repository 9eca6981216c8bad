"""`tether serve` under load: runs/s and p50/p99 latency for 1 and 2 replicas on one store.

Each run is the one-tool conversation of the other benchmarks (the model asks for ``add(1, 2)``,
then answers), served by ``tether serve`` and answered by the loopback model server
(bench/server.py, its own process). With 2 replicas the client spreads requests over both,
round robin, as a load balancer would; both share one store (PostgreSQL when
``TETHER_BENCH_POSTGRES_URL`` or the test server of scripts/services.sh answers, else SQLite).

    python bench/serve_bench.py [--runs 600] [--concurrency 50] [--latency 0.0] [--no-agno]

Side by side, the same agent served by Agno's AgentOS (bench/serve_agno_app.py, uvicorn, its
runs in the same PostgreSQL), 1 and 2 processes, same client, same model server. Agno lives in
its own venv (in the temp directory, built with uv on first use), never in tether's.

Prints a Markdown table and writes it to bench/results/serve.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from tests._ports import PortedProcess  # noqa: E402  (the servers bind their own ports)

APP_DIR = ROOT / "tests" / "server"  # load_app.py: the served agent
PG_URL = os.environ.get(
    "TETHER_BENCH_POSTGRES_URL", "postgresql://tether:tether@127.0.0.1:54329/tether_test"
)


def _model_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        raise SystemExit("the loopback model server did not start")
    return proc, f"http://127.0.0.1:{line[1]}/v1"


def _store() -> tuple[str, str | None]:
    """A store URL for the replicas, and the PostgreSQL schema to drop after (if any)."""
    try:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return f"{PG_URL}?options=-csearch_path%3D{schema}", schema
    except Exception:
        path = Path(tempfile.mkdtemp()) / "serve-bench.db"
        return f"sqlite:///{path}", None


def _drop(schema: str | None) -> None:
    if schema is not None:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


AGNO_VENV = Path(tempfile.gettempdir()) / "tether-bench-agno-venv"
AGNO_REQUIREMENTS = ("agno[os]==3.1.10", "openai", "psycopg[binary]", "sqlalchemy")


def _agno_python() -> Path | None:
    """The Agno venv's Python (built on first use), or None when it cannot be built."""
    python = AGNO_VENV / "bin" / "python"
    if python.exists():
        return python
    uv = Path(sys.executable).parent / "uv"
    try:
        subprocess.run([str(uv), "venv", "-q", str(AGNO_VENV)], check=True, timeout=300)
        install = [str(uv), "pip", "install", "-q", "--python", str(python), *AGNO_REQUIREMENTS]
        subprocess.run(install, check=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"skipping Agno: its venv could not be built ({exc})")
        return None
    return python


Server = tuple[PortedProcess, str]


def _listening(servers: list[PortedProcess], seconds: float = 120) -> list[Server]:
    """The servers with their URLs, once each listens on its own port: a server that found its
    port taken meanwhile (chosen free, then taken by another process before it bound it) is
    started again on a new one; one that exits otherwise stops the bench with its output."""
    deadline = time.monotonic() + seconds
    try:
        for served in servers:
            while not served.listening():
                if time.monotonic() > deadline:
                    output = served.output()
                    raise SystemExit(f"a server did not listen in {seconds:.0f} s:\n{output}")
                time.sleep(0.05)
    except BaseException:
        _stop([(served, "") for served in servers])
        raise
    return [(served, f"http://127.0.0.1:{served.port}") for served in servers]


def _stop(servers: list[Server]) -> None:
    for served, _ in servers:
        if served.proc.poll() is None:
            served.proc.terminate()
    for served, _ in servers:
        served.proc.wait(30)


def _agno(count: int, schema: str | None, model_url: str) -> list[Server]:
    python = _agno_python()
    if python is None:
        return []
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "TETHER_TEST_MODEL_URL": model_url,
        "AGNO_TELEMETRY": "false",
    }
    if schema is not None:
        env["AGNO_DB_URL"] = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        env["AGNO_DB_SCHEMA"] = schema
    logs = Path(tempfile.mkdtemp(prefix="serve-bench-agno-"))

    def command(port: int) -> list[str]:
        return [
            str(python), "-m", "uvicorn", "serve_agno_app:app", "--port", str(port),
            "--log-level", "warning",
        ]  # fmt: skip

    return _listening(
        [
            PortedProcess(command, logs / f"agno-{i}.log", env=env, cwd=tempfile.gettempdir())
            for i in range(count)
        ]
    )


def _replicas(count: int, store: str, model_url: str) -> list[Server]:
    env = {
        **os.environ,
        "PYTHONPATH": str(APP_DIR),
        "TETHER_TEST_MODEL_URL": model_url,
        "TETHER_TEST_STORE": store,
    }
    logs = Path(tempfile.mkdtemp(prefix="serve-bench-tether-"))

    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "tether.cli", "serve", "load_app:runner",
            "--port", str(port), "--no-a2a", "--sweep-interval", "0",
        ]  # fmt: skip

    return _listening(
        [
            PortedProcess(command, logs / f"tether-{i}.log", env=env, cwd=tempfile.gettempdir())
            for i in range(count)
        ]
    )


async def _ready(session: aiohttp.ClientSession, url: str, path: str) -> None:
    for _ in range(1200):
        try:
            async with session.get(f"{url}{path}") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit(f"{url} did not start")


async def _tether_run(session: aiohttp.ClientSession, url: str, i: int) -> bool:
    body = {"agent": "assistant", "input": f"add {i}"}
    async with session.post(f"{url}/v1/runs", json=body) as answer:
        result = await answer.json()
    return answer.status == 200 and result.get("state") == "completed"


async def _agno_run(session: aiohttp.ClientSession, url: str, i: int) -> bool:
    form = {"message": f"add {i}", "stream": "false"}  # AgentOS takes form fields
    async with session.post(f"{url}/agents/assistant/runs", data=form) as answer:
        result = await answer.json()
    return answer.status == 200 and result.get("status") == "COMPLETED"


async def _load(urls: list[str], runs: int, concurrency: int, agno: bool) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in urls:
            await _ready(session, url, "/health" if agno else "/healthz")
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []
        errors = 0

        async def one(i: int) -> None:
            nonlocal errors
            url = urls[i % len(urls)]
            async with gate:
                started = time.perf_counter()
                try:
                    ok = await (
                        _agno_run(session, url, i) if agno else _tether_run(session, url, i)
                    )
                except aiohttp.ClientError:  # a dropped connection counts as an error
                    ok = False
                latencies.append(time.perf_counter() - started)
                if not ok:
                    errors += 1

        await asyncio.gather(*(one(i) for i in range(min(50, runs))))  # warm up
        latencies.clear()
        errors = 0
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(runs)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "runs_per_s": runs / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": float(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.0, help="model latency (seconds)")
    parser.add_argument("--no-agno", dest="agno", action="store_false", help="skip Agno's AgentOS")
    args = parser.parse_args()
    model, model_url = _model_server(args.latency)
    rows = []
    frameworks = ("tether", "agno") if args.agno else ("tether",)
    try:
        for framework in frameworks:
            for count in (1, 2):
                store, schema = _store()
                if framework == "tether":
                    servers = _replicas(count, store, model_url)
                else:
                    servers = _agno(count, schema, model_url)
                if not servers:
                    _drop(schema)
                    continue
                try:
                    urls = [u for _, u in servers]
                    figures = asyncio.run(
                        _load(urls, args.runs, args.concurrency, framework == "agno")
                    )
                finally:
                    _stop(servers)
                    _drop(schema)
                kind = store.split(":", 1)[0] if framework == "tether" or schema else "none"
                rows.append((framework, count, kind, figures))
    finally:
        model.terminate()
        model.wait(10)
    lines = [
        f"{args.runs} runs (one tool call each), {args.concurrency} concurrent, "
        f"model latency {args.latency * 1000:.0f} ms, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "",
        "| server | processes | store | runs/s | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {"tether": "tether serve", "agno": "Agno AgentOS"}
    for framework, count, kind, f in rows:
        lines.append(
            f"| {names[framework]} | {count} | {kind} | {f['runs_per_s']:.0f} | "
            f"{f['p50_ms']:.0f} | {f['p99_ms']:.0f} | {f['errors']:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / "serve.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
