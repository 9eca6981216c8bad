"""The loopback model server that scripts the batch conversation, the ledger, and the session's
two-node Ray cluster.

The cluster takes a while to start on a small machine, so when the session will need it its
nodes are started as soon as collection ends, in the background, while the tests before this
directory run (and then `tether serve --engine ray`, when a test uses it); the `ray_cluster`
and `ray_served` fixtures then only connect to them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.distributed.cluster import SLOW_START, TwoNodeCluster
from tests.distributed.serving import RayServer, create_schema, drop_schema
from tests.servers._base import Delay, RecordedRequest, Turn
from tests.servers.openai_chat import ChatCompletionsServer

ROOT = Path(__file__).resolve().parents[2]


def batch_responder(request: RecordedRequest) -> Turn | Delay:
    """user item -> record(item) -> crash_once(item) -> "done <item>" (items named "slow-..."
    wait 0.2 s per answer, so a test can kill a batch in the middle). "pay-..." items call
    `pay` (which needs approval) and answer "paid <item>"; "hang-..." items wait 60 s for their
    first answer (a run to cancel); "late-..." items wait 5 s for their last answer, the first
    time it is asked (a run to kill its server under)."""
    messages = (request.body or {}).get("messages") or []
    item = next(m["content"] for m in messages if m["role"] == "user")
    tools_seen = [m for m in messages if m["role"] == "tool"]
    if item.startswith("hang-"):
        return Delay(60, Turn(text="too late"))
    if item.startswith("pay-"):
        return (
            Turn(text=f"paid {item}") if tools_seen else Turn(tool_calls=[("pay", {"item": item})])
        )
    if not tools_seen:
        turn = Turn(tool_calls=[("record", {"item": item})])
    elif len(tools_seen) == 1:
        turn = Turn(tool_calls=[("crash_once", {"item": item})])
    else:
        turn = Turn(text=f"done {item}")
        if item.startswith("late-"):
            _LATE[item] = _LATE.get(item, 0) + 1
            if _LATE[item] == 1:
                return Delay(5.0, turn)
    return Delay(0.2, turn) if item.startswith("slow-") else turn


_LATE: dict[str, int] = {}


for _name, _value in SLOW_START.items():
    os.environ.setdefault(_name, _value)

_SESSION: dict[str, Any] = {}


def _model_server() -> ChatCompletionsServer:
    """The session's model server, with the environment the agents module (and Ray workers)
    read set to it."""
    if "model" not in _SESSION:
        ledger = Path(tempfile.mkdtemp(prefix="tether-batch-")) / "ledger.txt"
        server = ChatCompletionsServer(batch_responder)
        server.start()
        os.environ["TETHER_TEST_MODEL_URL"] = server.base_url
        os.environ["TETHER_TEST_LEDGER"] = str(ledger)
        os.environ["TETHER_TEST_CRASH"] = "crash-a,crash-b,crash-nostore"
        _SESSION["model"] = server
    server: ChatCompletionsServer = _SESSION["model"]
    return server


def worker_env() -> dict[str, str]:
    """What the Ray workers need: this code on their path and the model server's address."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    names = ("TETHER_TEST_MODEL_URL", "TETHER_TEST_LEDGER", "TETHER_TEST_CRASH")
    return {"PYTHONPATH": path, **{n: os.environ[n] for n in names}}


_SERVERS = {"ray_served": "a", "ray_served_b": "b"}  # fixture -> server name


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the cluster's nodes now when a collected test uses it (they start in parallel with
    the tests that run first), then the Ray servers that are used."""
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    servers = [name for fixture, name in _SERVERS.items() if fixture in used]
    if "ray_cluster" in used or servers:
        _model_server()
        cluster = TwoNodeCluster(worker_env())
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ray-cluster")
        _SESSION["cluster"] = pool.submit(_bring_up, cluster, servers)
        pool.shutdown(wait=False)


def _pg_url() -> str:
    from store.conftest import DEFAULT_PG_URL

    port = os.environ.get("TETHER_PG_PORT", "54329")
    return os.environ.get("TETHER_TEST_POSTGRES_URL", DEFAULT_PG_URL.replace("54329", port))


def _schema(url: str) -> str:
    if "schema" not in _SESSION:
        _SESSION["schema"] = (url, create_schema(url))
    schema: str = _SESSION["schema"][1]
    return schema


def _bring_up(cluster: TwoNodeCluster, servers: list[str]) -> TwoNodeCluster:
    cluster.start()
    for name in servers:
        with contextlib.suppress(Exception):  # the fixture starts it, failing clearly, if need be
            url = _pg_url()
            _SESSION[f"serve-{name}"] = RayServer(cluster, url, _schema(url))
    return cluster


def pytest_sessionfinish(session: pytest.Session) -> None:
    for name in _SERVERS.values():
        server = _SESSION.pop(f"serve-{name}", None)
        if server is not None:
            with contextlib.suppress(Exception):
                server.stop()
    schema = _SESSION.pop("schema", None)
    if schema is not None:
        with contextlib.suppress(Exception):
            drop_schema(*schema)
    future = _SESSION.pop("cluster", None)
    if future is not None:
        with contextlib.suppress(Exception):  # one that never started left nothing
            future.result().stop()
    model = _SESSION.pop("model", None)
    if model is not None:
        model.stop()
        shutil.rmtree(Path(os.environ["TETHER_TEST_LEDGER"]).parent, ignore_errors=True)


@pytest.fixture(scope="session")
def model_server() -> ChatCompletionsServer:
    """The loopback Chat Completions server of the batch conversation."""
    return _model_server()


@pytest.fixture(scope="package")
def ray_cluster(model_server: Any) -> Iterator[TwoNodeCluster]:
    """The two-node cluster (`ray start --head` + `ray start --address`), this process a driver."""
    import ray

    future = _SESSION.get("cluster")
    if future is None:  # collected by another route: start it now
        _SESSION["cluster"] = future = concurrent.futures.Future()
        future.set_result(TwoNodeCluster(worker_env()).start())
    cluster: TwoNodeCluster = future.result()
    cluster.connect(ray, {"env_vars": worker_env()})
    yield cluster
    ray.shutdown()


def _served(name: str, cluster: TwoNodeCluster) -> RayServer:
    from store.conftest import postgres_url

    key = f"serve-{name}"
    server: RayServer | None = _SESSION.get(key)
    for _ in range(2):
        if server is None or server.address != cluster.address or not server.ready():
            if server is not None:
                server.stop()
            url = postgres_url()
            _SESSION[key] = server = RayServer(cluster, url, _schema(url))
        if server.ready():
            return server
    assert server is not None
    raise AssertionError(f"tether serve --engine ray did not start: {server.output()}")


@pytest.fixture(scope="package")
def ray_served(ray_cluster: TwoNodeCluster) -> RayServer:
    """`tether serve tests.distributed.agents:served --engine ray` on the cluster, PostgreSQL."""
    return _served("a", ray_cluster)


@pytest.fixture(scope="package")
def ray_served_b(ray_cluster: TwoNodeCluster) -> RayServer:
    """A second replica of it, on the same store."""
    return _served("b", ray_cluster)


def ledger_entries() -> list[tuple[str, int, str]]:
    """(item, pid, Ray node id or "-") for each real execution of the `record` tool."""
    path = Path(os.environ["TETHER_TEST_LEDGER"])
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        item, pid, node = line.split()
        entries.append((item, int(pid), node))
    return entries


def ledger_lines() -> list[str]:
    """The items recorded so far, one per real execution of a ledger tool."""
    return [item for item, _, _ in ledger_entries()]


def items_asked(server: Any, item: str) -> int:
    """How many model requests were made for one item."""
    count = 0
    for request in server.requests:
        messages = (request.body or {}).get("messages") or []
        if any(m["role"] == "user" and m["content"] == item for m in messages):
            count += 1
    return count
