"""run_many on the session's real two-node Ray cluster (`ray start --head` plus a second
`ray start --address` on this machine): the same Results as the local engine, in input order,
with progress as runs end; runs on both nodes; a killed worker's run finished through Ray's retry
from its checkpoint (each tool exactly once, no model call asked twice); agents by import path
and pickled; evals on Ray."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.distributed.conftest import items_asked, ledger_entries, ledger_lines
from tether.distributed import run_many_sync
from tether.errors import RunInterrupted, UserError

AGENT = "tests.distributed.agents:batcher"
# The first test also waits for the session's cluster to come up.
pytestmark = pytest.mark.timeout(300)


def _summary(results: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (r.state, r.output, [(e.tool_name, e.output) for e in r.tool_executions], r.usage.requests)
        for r in results
    ]


def test_200_runs_on_two_nodes_equal_the_local_engine(ray_cluster: Any, tmp_path: Path) -> None:
    items = [f"ray-{n}" for n in range(200)]
    seen: list[tuple[int, int]] = []
    on_ray = run_many_sync(
        AGENT, items, engine="ray", store=f"sqlite:///{tmp_path}/ray.db", concurrency=32,
        progress=lambda index, result, done: seen.append((index, done)),
    )  # fmt: skip
    local = run_many_sync(AGENT, list(items), concurrency=32)
    assert _summary(on_ray) == _summary(local)
    assert [r.output for r in on_ray] == [f"done {item}" for item in items]  # input order
    # progress: one call per run as it ended, counting up, naming each input once
    assert [done for _, done in seen] == list(range(1, 201))
    assert sorted(index for index, _ in seen) == list(range(200))
    recorded = ledger_lines()
    assert all(recorded.count(item) == 2 for item in items)  # once per engine
    nodes = {node for item, _, node in ledger_entries() if item in set(items) and node != "-"}
    for again in range(3):  # placement is Ray's, and on a loaded machine a node may lag: retry
        if len(nodes) == 2:
            break
        _wait_for_two_cpu_nodes()  # workers go to the nodes Ray lists alive with CPUs
        more = [f"ray-more-{again}-{n}" for n in range(20)]
        run_many_sync(AGENT, more, engine="ray", store=f"sqlite:///{tmp_path}/ray.db")
        nodes |= {node for item, _, node in ledger_entries() if item in more and node != "-"}
    assert len(nodes) == 2, _alive()  # the runs were spread over both nodes of the cluster


def _alive() -> list[tuple[str, bool, float]]:
    import ray

    return [(n["NodeID"][:8], n.get("Alive"), n["Resources"].get("CPU", 0)) for n in ray.nodes()]


def _wait_for_two_cpu_nodes(seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while sum(1 for _, alive, cpu in _alive() if alive and cpu) < 2:
        if time.monotonic() > deadline:
            return  # the assertion after the retries reports what Ray lists
        time.sleep(0.5)


def test_a_killed_worker_run_finishes_by_ray_retry_from_its_checkpoint(
    ray_cluster: Any, model_server: Any, tmp_path: Path
) -> None:
    items = ["crash-a", "calm-1", "calm-2", "calm-3"]
    results = run_many_sync(
        AGENT, items, engine="ray", store=f"sqlite:///{tmp_path}/crash.db", workers=2
    )
    assert [r.state for r in results] == ["completed"] * 4
    assert results[0].output == "done crash-a"
    assert Path(f"{os.environ['TETHER_TEST_LEDGER']}.crash-a.crashed").exists()  # it did die
    assert ledger_lines().count("crash-a") == 1  # the finished tool call was not run again
    assert items_asked(model_server, "crash-a") == 3  # no recorded model call asked twice


def test_without_a_store_the_ray_engine_gives_the_local_results(ray_cluster: Any) -> None:
    # The same call as on a laptop moves to the cluster unchanged: no store is needed.
    items = [f"bare-{n}" for n in range(6)]
    on_ray = run_many_sync(AGENT, items, engine="ray", concurrency=4)
    local = run_many_sync(AGENT, [f"bare-{n}" for n in range(6)], concurrency=4)
    assert _summary(on_ray) == _summary(local)
    assert [r.output for r in on_ray] == [f"done {item}" for item in items]


def test_without_a_store_a_killed_workers_run_is_not_run_again(ray_cluster: Any) -> None:
    # No checkpoint to continue from: Ray must not start the run over (its tool ran already).
    items = ["crash-nostore", "calm-nostore"]
    results = run_many_sync(AGENT, items, engine="ray", workers=2, return_exceptions=True)
    assert Path(f"{os.environ['TETHER_TEST_LEDGER']}.crash-nostore.crashed").exists()
    assert isinstance(results[0], RunInterrupted)
    assert "no checkpoint" in str(results[0]) and "store=" in str(results[0])
    assert results[1].output == "done calm-nostore"
    assert ledger_lines().count("crash-nostore") == 1  # record ran once: no second start
    Path(f"{os.environ['TETHER_TEST_LEDGER']}.crash-nostore.crashed").unlink()
    with pytest.raises(RunInterrupted, match="died mid-run"):  # without return_exceptions
        run_many_sync(AGENT, ["crash-nostore"], engine="ray")


def test_a_relative_sqlite_store_is_this_directorys_not_the_workers(
    ray_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers started in the cluster's directory, not this one: the path is made absolute.
    monkeypatch.chdir(tmp_path)
    items = ["rel-1", "rel-2"]
    results = run_many_sync(AGENT, items, engine="ray", store="sqlite:///rel.db", batch_id="rel")
    assert [r.output for r in results] == ["done rel-1", "done rel-2"]
    assert (tmp_path / "rel.db").exists()
    again = run_many_sync(AGENT, items, engine="ray", store="sqlite:///rel.db", batch_id="rel")
    assert [r.run_id for r in again] == [r.run_id for r in results]
    assert ledger_lines().count("rel-1") == 1  # the second batch found the runs finished


def test_agents_reach_workers_pickled_where_they_can_be(ray_cluster: Any, tmp_path: Path) -> None:
    from tether import Agent
    from tether.models import FunctionModel

    store = f"sqlite:///{tmp_path}/pickled.db"
    # An agent made here, its model a closure: pickled by value.
    suffix = "!"
    made_here = Agent(
        "shout", model=FunctionModel(lambda m, i: f"{m[-1].text.upper()}{suffix} {os.getpid()}")
    )
    shouted = run_many_sync(
        made_here, ["a", "b"], engine="ray", store=store, batch_id="shout", workers=1
    )
    assert [r.output.split()[0] for r in shouted] == ["A!", "B!"]
    assert {int(r.output.split()[1]) for r in shouted} != {os.getpid()}  # ran on a worker
    # One that cannot be pickled: a clear error naming the way that works.
    lock = threading.Lock()
    locked = Agent("locked", model=FunctionModel(lambda m, i: str(lock.locked())))
    with pytest.raises(UserError, match=r"cannot be pickled.*import path"):
        run_many_sync(locked, ["a"], engine="ray", store=store)
    # The same for a server on Ray without an import path, at start rather than per run.
    from tether import Runner
    from tether.server import ServerConfig, create_app

    secret_store = f"sqlite:///{tmp_path}/hunter2.db"  # the store URL is never in the message
    runner = Runner(store=secret_store, telemetry=None, agents=[locked])
    with pytest.raises(UserError, match=r"cannot be pickled.*serve them by import path") as bad:
        create_app(runner, ServerConfig(engine="ray", a2a=False))
    assert "hunter2" not in str(bad.value) and "_thread.lock" in str(bad.value)


def test_evaluate_on_the_ray_engine_scores_like_the_local_one(
    ray_cluster: Any, tmp_path: Path
) -> None:
    from tether.evals import Case, Dataset, evaluate_sync

    cases = [Case(f"c{n}", f"eval-{n}", expected=f"done eval-{n}") for n in range(6)]
    cases.append(Case("wrong", "eval-x", expected="something else"))
    dataset = Dataset(cases)
    on_ray = evaluate_sync(
        AGENT, dataset, ["exact"], engine="ray", store=f"sqlite:///{tmp_path}/evals.db"
    )
    local = evaluate_sync(AGENT, dataset, ["exact"])
    assert [c.scores for c in on_ray.cases] == [c.scores for c in local.cases]
    assert on_ray.mean("exact") == pytest.approx(6 / 7)
