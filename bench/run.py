"""tether against the OpenAI Agents SDK, Pydantic AI, Agno and LangGraph, on the same task,
interleaved.

``make bench`` runs this (``python bench/run.py``). It builds the peers' venv (bench/peers.py),
starts the loopback server (bench/server.py) in its own process, starts one worker process per
framework (bench/worker.py) and runs every scenario in rounds, A B C A B C ..., so machine drift
is shared. It prints one table and writes it to bench/results/latest.md.

Modes: the default (full, ~10 minutes on 2 cores), ``--quick`` (about a minute, smaller counts),
``--smoke`` (seconds, for the test suite). ``--no-peers`` runs tether and the bare client only.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
import report  # noqa: E402
from frameworks import FRAMEWORKS, PEERS  # noqa: E402

TETHER_PY = sys.executable


@dataclass(frozen=True)
class Params:
    """How much of each scenario to run."""

    inproc_n: int
    seq_n: int
    stream_n: int
    rounds: int
    burst_n: int
    burst_repeats: int
    #: Repeats of the aiohttp and httpx bursts (the default-transport burst gets burst_repeats).
    other_burst_repeats: int
    mem_n: int
    cold_repeats: int
    capacity_s: float
    burst_latency: float = 0.05
    #: Run one discarded round of fresh processes first (it writes the bytecode caches).
    cold_warmup: bool = True


#: (transport, row suffix): each framework's default (tether: aiohttp when installed; the others:
#: the openai SDK's httpx), everyone on aiohttp, and tether on httpx.
TRANSPORTS = (("default", ""), ("aiohttp", "_aio"), ("httpx", "_httpx"))

MODES = {
    "full": Params(
        inproc_n=1000,
        seq_n=300,
        stream_n=300,
        rounds=10,
        burst_n=1000,
        burst_repeats=3,
        other_burst_repeats=2,
        mem_n=1000,
        cold_repeats=5,
        capacity_s=2.0,
    ),
    "quick": Params(
        inproc_n=300,
        seq_n=60,
        stream_n=60,
        rounds=5,
        burst_n=300,
        burst_repeats=1,
        other_burst_repeats=1,
        mem_n=300,
        cold_repeats=2,
        capacity_s=1.0,
    ),
    "smoke": Params(
        inproc_n=10,
        seq_n=4,
        stream_n=4,
        rounds=2,
        burst_n=10,
        burst_repeats=1,
        other_burst_repeats=1,
        mem_n=10,
        cold_repeats=1,
        capacity_s=0.2,
        cold_warmup=False,
    ),
}


def log(message: str) -> None:
    """Progress goes to stderr; the table goes to stdout."""
    print(message, file=sys.stderr, flush=True)


# -- processes -------------------------------------------------------------------------------


class Server:
    """The bench server in its own process."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.proc = subprocess.Popen(
            [TETHER_PY, str(HERE / "server.py"), "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError("the bench server did not start")
        self.port = int(line[1])
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def _get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        """Requests answered and CPU used so far."""
        return self._get("/stats")

    def barrier(self, n: int, timeout: float) -> None:
        """Hold the next ``n`` answers until all ``n`` requests are waiting."""
        self._get(f"/barrier?n={n}&timeout={timeout}")

    def stop(self) -> None:
        """Stop the process this object started."""
        self.proc.terminate()
        self.proc.wait(10)


class Worker:
    """One framework's worker process, answering one JSON command at a time."""

    def __init__(self, name: str, python: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [python, str(HERE / "worker.py"), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(HERE),
        )
        self.info = self.call({"op": "info"})

    def call(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Send a command and wait for its answer."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError) as exc:
            return {"error": f"worker died: {exc}"}
        if not line:
            return {"error": "worker died"}
        return json.loads(line)  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Close stdin (the worker closes its clients and exits); kill it if it hangs."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


# -- scenarios -------------------------------------------------------------------------------


def rotations(names: list[str], rounds: int) -> Iterable[list[str]]:
    """A B C, B C A, C A B, ...: each framework takes each position in turn."""
    for r in range(rounds):
        k = r % len(names)
        yield names[k:] + names[:k]


class Bench:
    """Runs the scenarios and fills the figures table."""

    def __init__(self, params: Params, names: list[str], peer_python: Path | None) -> None:
        self.p = params
        self.figures = report.Figures(burst_n=params.burst_n)
        self.notes: list[str] = []
        self.workers: dict[str, Worker] = {}
        self.names = names
        self.peer_python = peer_python
        self.servers: dict[str, Server] = {}
        #: 1-minute load averages after each scenario (other work on the machine skews figures)
        self.loads: list[float] = []

    # processes

    def python_for(self, name: str) -> str | None:
        venv = FRAMEWORKS[name][1]
        if venv == "tether":
            return TETHER_PY
        return str(self.peer_python) if self.peer_python is not None else None

    def start(self) -> None:
        self.servers["fast"] = Server(0.0)
        self.servers["slow"] = Server(self.p.burst_latency)
        for name in self.names:
            python = self.python_for(name)
            if python is None:
                continue
            log(f"starting the {name} worker")
            worker = Worker(name, python)
            if "error" in worker.info:
                self.notes.append(f"{name}: worker failed to start: {worker.info['error']}")
                worker.stop()
                continue
            self.workers[name] = worker

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        for server in self.servers.values():
            server.stop()

    def versions(self) -> dict[str, str]:
        return {name: w.info.get("version", "?") for name, w in self.workers.items()}

    def present(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n in self.workers]

    def transport_names(self, transport: str) -> list[str]:
        """Who runs a transport variant: the peers' default already is httpx."""
        everyone = ["tether", *PEERS, "bare-openai"]
        if transport == "default":
            everyone.append("floor")  # raw aiohttp: the floor of the HTTP path
        return self.present(["tether"] if transport == "httpx" else everyone)

    # helpers

    def interleave(
        self, names: list[str], cmd: dict[str, Any], n: int
    ) -> dict[str, dict[str, Any]]:
        """Run ``n`` sequential runs per framework in rounds; merge each framework's results."""
        rounds = max(1, min(self.p.rounds, n))
        per_round = [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)]
        merged: dict[str, dict[str, Any]] = {
            name: {"times": [], "first": [], "cpu": 0.0} for name in names
        }
        failed: dict[str, str] = {}
        for name in names:  # warm-up: imports, connection pools, caches
            warm = self.workers[name].call({**cmd, "n": 3})
            if "error" in warm or "unsupported" in warm:
                failed[name] = warm.get("error") or "unsupported"
        for i, order in enumerate(rotations(names, rounds)):
            for name in order:
                if name in failed:
                    continue
                got = self.workers[name].call({**cmd, "n": per_round[i]})
                if "error" in got:
                    failed[name] = got["error"]
                    continue
                merged[name]["times"] += got["times"]
                merged[name]["first"] += got["first"]
                merged[name]["cpu"] += got["cpu"]
        for name, error in failed.items():
            merged[name] = {"error": error}
            if error != "unsupported":
                self.notes.append(f"{name}: {cmd.get('target')} {error}")
        return merged

    # scenarios

    def inproc(self) -> None:
        """The loop alone: each framework's in-process test model, no HTTP."""
        names = self.present(["tether", *PEERS, "floor"])
        log(f"in-process: {self.p.inproc_n} runs each, plain and streamed")
        for stream, key in ((False, "inproc"), (True, "inproc_stream")):
            got = self.interleave(
                names, {"op": "seq", "target": "inproc", "stream": stream}, self.p.inproc_n
            )
            for name, res in got.items():
                col = "bare" if name == "floor" else name
                if "error" in res:
                    self.figures.set(f"{key}_med", col, None, res["error"])
                    continue
                self.figures.set(f"{key}_med", col, statistics.median(res["times"]) * 1e6)
                self.figures.set(f"{key}_mean", col, statistics.fmean(res["times"]) * 1e6)
        self.figures.ratio_rows("inproc_stream_ratio", "inproc_stream_med", "inproc_med")

    def http_seq(self) -> None:
        """Sequential runs over HTTP at 0 ms model latency, on each transport variant."""
        url = self.servers["fast"].url
        for transport, suffix in TRANSPORTS:
            names = self.transport_names(transport)
            log(f"HTTP sequential ({transport}): {self.p.seq_n} runs each")
            cmd = {"op": "seq", "target": "http", "base_url": url, "transport": transport}
            got = self.interleave(names, cmd, self.p.seq_n)
            for name, res in got.items():
                if name == "floor":
                    if "error" not in res:
                        floor = statistics.median(res["times"]) * 1e3
                        self.figures.set("http_floor_med", "bare", floor)
                    continue
                col = "bare" if name == "bare-openai" else name
                if "error" in res:
                    self.figures.set(f"http{suffix}_med", col, None, res["error"])
                    continue
                times = res["times"]
                if name == "tether" and transport == "default":
                    self.figures.set("http_floor_med", "tether", statistics.median(times) * 1e3)
                self.figures.set(f"http{suffix}_med", col, statistics.median(times) * 1e3)
                self.figures.set(f"http{suffix}_mean", col, statistics.fmean(times) * 1e3)
                self.figures.set(f"http{suffix}_cpu", col, res["cpu"] / len(times) * 1e3)
        self.figures.same_as_default("http", ["_med", "_mean", "_cpu"])

    def http_stream(self) -> None:
        """Streamed runs over HTTP: whole run, and first text delta in user code."""
        names = self.present(["tether", *PEERS, "bare-openai"])
        server = self.servers["fast"]
        log(f"HTTP streamed: {self.p.stream_n} runs each")
        cmd = {"op": "seq", "target": "http", "stream": True, "base_url": server.url}
        got = self.interleave(names, cmd, self.p.stream_n)
        floor = _loadgen("first-byte", str(server.port), str(max(5, self.p.stream_n // 3)))
        floor_ms = floor.get("first_byte_s", float("nan")) * 1e3
        self.figures.floor_first_byte = floor_ms
        for name, res in got.items():
            col = "bare" if name == "bare-openai" else name
            if "error" in res:
                self.figures.set("stream_med", col, None, res["error"])
                continue
            first = [f for f in res["first"] if f == f]
            self.figures.set("stream_med", col, statistics.median(res["times"]) * 1e3)
            if first:
                ttft = statistics.median(first) * 1e3
                self.figures.set("ttft_med", col, ttft)
                self.figures.set("ttft_over_floor", col, ttft / floor_ms if floor_ms else None)
        self.figures.ratio_rows("stream_ratio", "stream_med", "http_med")

    def burst(self) -> None:
        """Many runs at once against a server answering after 50 ms; then memory per run."""
        server = self.servers["slow"]
        n = self.p.burst_n
        for transport, suffix in TRANSPORTS:
            names = self.transport_names(transport)
            repeats = self.p.burst_repeats if transport == "default" else self.p.other_burst_repeats
            begun = time.perf_counter()
            log(f"burst ({transport}): {n} runs at once, {repeats} repeat(s)")
            cmd = {
                "op": "burst",
                "target": "http",
                "base_url": server.url,
                "transport": transport,
                "n": n,
            }
            walls: dict[str, list[float]] = {name: [] for name in names}
            cpus: dict[str, list[float]] = {name: [] for name in names}
            failed: dict[str, str] = {}
            for name in names:  # warm-up, also opens the connection pools
                warm = self.workers[name].call({**cmd, "n": min(n, 50)})
                if "error" in warm:
                    failed[name] = warm["error"]
            for order in rotations(names, repeats):
                for name in order:
                    if name in failed:
                        continue
                    before = server.stats()
                    got = self.workers[name].call(cmd)
                    after = server.stats()
                    if "error" in got:
                        failed[name] = got["error"]
                        continue
                    if got.get("errors"):
                        self.notes.append(
                            f"{name} burst ({transport}): {got['errors']} of {n} "
                            f"runs failed: {got.get('first_error')}"
                        )
                    walls[name].append(got["wall"])
                    cpus[name].append(got["cpu"])
                    self.figures.server_share.append(
                        (after["cpu_s"] - before["cpu_s"]) / max(got["wall"], 1e-9)
                    )
            for name in names:
                col = "bare" if name == "bare-openai" else name
                if name in failed:
                    self.figures.set(f"burst{suffix}_wall", col, None, failed[name])
                    self.notes.append(f"{name} burst ({transport}): {failed[name]}")
                    continue
                if not walls[name]:
                    continue
                wall = statistics.median(walls[name])
                self.figures.set(f"burst{suffix}_wall", col, wall)
                self.figures.set(f"burst{suffix}_cpu", col, statistics.median(cpus[name]) / n * 1e3)
                if name == "bare-openai":
                    self.figures.bare_rate[transport] = 2 * n / wall
            log(f"  ({time.perf_counter() - begun:.0f} s)")
        self.figures.same_as_default("burst", ["_wall", "_cpu"])
        names = self.present(["tether", *PEERS, "bare-openai"])
        log(f"memory: {self.p.mem_n} runs held in flight together (tracemalloc)")
        cmd = {
            "op": "burst",
            "target": "http",
            "base_url": server.url,
            "transport": "default",
            "n": self.p.mem_n,
            "trace_memory": True,
        }
        begun = time.perf_counter()
        for name in names:
            server.barrier(self.p.mem_n, timeout=60)
            got = self.workers[name].call(cmd)
            col = "bare" if name == "bare-openai" else name
            if "error" in got or "peak_bytes" not in got:
                self.figures.set("burst_mem", col, None, got.get("error", "?"))
                continue
            if got.get("errors"):
                self.notes.append(
                    f"{name} memory burst: {got['errors']} of {self.p.mem_n} runs failed: "
                    f"{got.get('first_error')}"
                )
            self.figures.set("burst_mem", col, got["peak_bytes"] / self.p.mem_n / 1024)
        server.barrier(0, 0.001)
        log(f"  ({time.perf_counter() - begun:.0f} s)")

    def cold(self) -> None:
        """Fresh processes: ``import`` of each package, and spawn to first answer."""
        names = self.present(["tether", *PEERS, "bare-openai"])
        url = self.servers["fast"].url
        log(f"cold start: {self.p.cold_repeats} fresh processes each")
        imports: dict[str, list[float]] = {n: [] for n in names}
        firsts: dict[str, list[float]] = {n: [] for n in names}
        packages = {n: _package(n) for n in names}
        # Bytecode caches as users have them: the first (discarded) round writes them.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warmup = 1 if self.p.cold_warmup else 0
        for i, order in enumerate(rotations(names, self.p.cold_repeats + warmup)):
            for name in order:
                python = self.python_for(name)
                assert python is not None
                code = (
                    f"import time; t = time.perf_counter(); import {packages[name]}; "
                    "print(time.perf_counter() - t)"
                )
                out = subprocess.run(
                    [python, "-c", code], capture_output=True, text=True, cwd=str(HERE), env=env
                )
                started = time.perf_counter()
                proc = subprocess.run(
                    [python, str(HERE / "worker.py"), name, "--cold", url],
                    capture_output=True,
                    text=True,
                    cwd=str(HERE),
                    env=env,
                )
                spawn_to_answer = time.perf_counter() - started
                if i < warmup:
                    continue  # the first round writes bytecode caches
                try:
                    imports[name].append(float(out.stdout.strip()))
                    json.loads(proc.stdout.strip().splitlines()[-1])
                    firsts[name].append(spawn_to_answer)
                except (ValueError, IndexError, KeyError):
                    self.notes.append(
                        f"{name} cold start failed: {(out.stderr or proc.stderr)[-300:]}"
                    )
        for name in names:
            col = "bare" if name == "bare-openai" else name
            if imports[name]:
                self.figures.set("import_pkg", col, statistics.median(imports[name]) * 1e3)
            if firsts[name]:
                self.figures.set("first_answer", col, statistics.median(firsts[name]) * 1e3)
        # What a user's first line costs: `from tether import Agent`, beside pydantic's import
        # (the same interpreter, alternating, fresh processes).
        codes = {
            ("import_agent", "tether"): "from tether import Agent",
            ("import_agent", "bare"): "import pydantic",
            ("import_basemodel", "bare"): "from pydantic import BaseModel",
            # the floor for any class of fields on pydantic: a model of one Field, its
            # validator deferred as Agent's is (defining it loads pydantic.fields and types)
            ("import_model", "bare"): (
                "from pydantic import BaseModel, ConfigDict, Field\n"
                "class M(BaseModel):\n"
                "    model_config = ConfigDict(defer_build=True)\n"
                "    x: int = Field(1)"
            ),
        }
        times: dict[tuple[str, str], list[float]] = {key: [] for key in codes}
        for i in range(self.p.cold_repeats + warmup):
            for key, code in codes.items():
                out = subprocess.run(
                    [
                        TETHER_PY,
                        "-c",
                        f"import time; t = time.perf_counter()\n{code}\n"
                        "print(time.perf_counter() - t)",
                    ],
                    capture_output=True,
                    text=True,
                    cwd=str(HERE),
                    env=env,
                )
                if i >= warmup:
                    try:
                        times[key].append(float(out.stdout.strip()))
                    except ValueError:
                        self.notes.append(f"cold `{code}` failed: {out.stderr[-300:]}")
        for (row, col), got in times.items():
            if got:
                self.figures.set(row, col, statistics.median(got) * 1e3)

    def construct(self) -> None:
        """Agent construction with one tool, tether beside Agno (bench/bench_construct.py)."""
        import bench_construct

        if self.p.cold_repeats < 2:
            self.notes.append("smoke mode: agent construction not measured")
            return
        iterations, rounds = (1000, 3) if self.p.cold_repeats >= 5 else (300, 2)
        log(f"agent construction: {rounds} fresh process(es) each, {iterations} agents")
        got = bench_construct.measure(iterations, rounds, peer_python=self.peer_python)
        for name in ("tether", "agno"):
            if name in got:
                self.figures.set("construct_mean", name, got[name]["mean_us"])
                self.figures.set("construct_med", name, got[name]["median_us"])
                self.figures.set("construct_mem", name, got[name]["memory_kib"])

    def server_capacity(self) -> None:
        """Requests per second the server answers to a raw client (shows it is never the limit)."""
        port = self.servers["fast"].port
        got = _loadgen("capacity", str(port), "64", str(self.p.capacity_s))
        self.figures.capacity = got.get("requests_per_s")


def _package(name: str) -> str:
    from frameworks import FRAMEWORKS as table

    module_file = HERE / (table[name][0].replace(".", "/") + ".py")
    for line in module_file.read_text().splitlines():
        if line.startswith("PACKAGE = "):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError(f"{module_file} has no PACKAGE")


def _loadgen(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [TETHER_PY, str(HERE / "loadgen.py"), *args], capture_output=True, text=True
    )
    try:
        return json.loads(out.stdout)  # type: ignore[no-any-return]
    except ValueError:
        return {}


# -- tether only: other engineers' benchmarks ----------------------------------------------------


def tether_only(quick: bool, figures: report.Figures, notes: list[str]) -> list[str]:
    """Checkpoint, tracing and long-uptime memory figures (bench_checkpoint.py, bench_tracing.py,
    bench_uptime.py).

    A module that defines ``figures(quick: bool) -> dict[str, float]`` gives rows (label ->
    ratio to a run with neither); one with only ``main()`` is run and its output quoted.
    """
    quoted: list[str] = []
    for module_name, what in (
        ("bench_checkpoint", "checkpointing"),
        ("bench_tracing", "tracing"),
        ("bench_uptime", "uptime"),
    ):
        path = HERE / f"{module_name}.py"
        if not path.exists():
            notes.append(f"{what} cost: bench/{module_name}.py is not there yet; skipped")
            continue
        log(f"tether only: {what} ({path.name})")
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            figure_fn: Callable[..., Any] | None = getattr(module, "figures", None)
            if figure_fn is not None:
                for label, value in dict(figure_fn(quick=quick)).items():
                    figures.extra(label, value)
                continue
            measure_fn: Callable[..., Any] | None = getattr(module, "measure", None)
            if measure_fn is not None:
                # {baseline: {"ratio": ..., ...}}: one row per baseline
                got = measure_fn(**({"runs": 100, "rounds": 3} if quick else {}))
                for baseline, values in dict(got).items():
                    figures.extra(f"{what}: {baseline} runner (x {what} off)", values["ratio"])
                    if "cpu_ratio" in values:
                        figures.extra(
                            f"{what}: {baseline} runner, CPU (x {what} off)", values["cpu_ratio"]
                        )
                continue
        except Exception as exc:  # another engineer's module: report, do not crash the table
            notes.append(f"{what}: {path.name} failed: {type(exc).__name__}: {exc}")
            continue
        argv = [TETHER_PY, str(path), *(["--quick"] if quick else [])]
        out = subprocess.run(argv, capture_output=True, text=True, cwd=str(ROOT), timeout=600)
        if out.returncode != 0 and quick:  # the script may not know --quick
            out = subprocess.run(
                argv[:2], capture_output=True, text=True, cwd=str(ROOT), timeout=600
            )
        quoted.append(
            f"### {what} (`python bench/{path.name}`)\n\n```\n"
            f"{(out.stdout or out.stderr).strip()}\n```"
        )
    return quoted


# -- main ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What ran the benchmark."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=str(ROOT)
        ).stdout.strip()
        or "?"
    )
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {cpu}, {mem}",
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": commit,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    parser = argparse.ArgumentParser(description="tether beside its peers, side by side")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="smaller counts (about a minute)")
    group.add_argument("--smoke", action="store_true", help="tiny counts (seconds; for tests)")
    parser.add_argument("--no-peers", action="store_true", help="tether and the bare client only")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenarios: inproc,http,stream,burst,cold,construct,tether",
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the markdown")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    params = MODES[mode]
    only = {s for s in args.only.split(",") if s}
    out = args.out
    if out is None and mode == "full":
        out = HERE / "results" / "latest.md"
    elif out is None and mode == "quick":
        out = HERE / "results" / "quick.md"

    peer_python = None if args.no_peers else peers.ensure(log)
    names = [n for n in FRAMEWORKS if peer_python is not None or FRAMEWORKS[n][1] == "tether"]
    started = time.perf_counter()
    bench = Bench(params, names, peer_python)
    quoted: list[str] = []
    try:
        bench.start()
        steps: list[tuple[str, Callable[[], None]]] = [
            ("inproc", bench.inproc),
            ("http", bench.http_seq),
            ("stream", bench.http_stream),
            ("burst", bench.burst),
            ("cold", bench.cold),
            ("construct", bench.construct),
        ]
        for key, step in steps:
            if not only or key in only:
                begun = time.perf_counter()
                step()
                load = os.getloadavg()[0]
                bench.loads.append(load)
                log(f"  ({key}: {time.perf_counter() - begun:.0f} s, load average {load:.1f})")
        bench.server_capacity()
        if mode == "smoke":
            bench.notes.append("smoke mode: checkpointing and tracing costs not measured")
        elif not only or "tether" in only:
            quoted = tether_only(mode != "full", bench.figures, bench.notes)
    finally:
        bench.stop()
    elapsed = time.perf_counter() - started
    if bench.loads and max(bench.loads) > 2.5:
        bench.notes.append(
            f"the machine was busy with other work (1-minute load average up to "
            f"{max(bench.loads):.1f} on {os.cpu_count()} cores): absolute figures are inflated, "
            "ratios between interleaved frameworks are the figures to trust"
        )
    versions = bench.versions()
    info = machine()
    table = report.table(bench.figures, [n for n in PEERS if n in versions])
    print(table)
    evidence = report.server_evidence(bench.figures)
    print("\n" + evidence)
    for note in bench.notes:
        print(f"note: {note}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            report.markdown(
                table, evidence, bench.notes, quoted, info, versions, mode, params.__dict__, elapsed
            )
        )
        log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
        if mode == "full" and not only and peer_python is not None:
            # bench/chart.py: the docs' chart follows a full run of every scenario and peer
            # (not a partial one, such as --no-peers or --only).
            import chart

            chart.main([str(out)])
    log(f"done in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
