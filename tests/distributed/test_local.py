"""run_many on the local engine: order, concurrency bound, resumable batches, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.distributed.conftest import items_asked, ledger_lines
from tether.distributed import run_many_sync
from tether.errors import UserError

AGENT = "tests.distributed.agents:batcher"


def test_results_in_input_order_each_tool_once(model_server: Any, tmp_path: Path) -> None:
    items = [f"local-{n}" for n in range(30)]
    seen: list[int] = []
    results = run_many_sync(
        AGENT, items, concurrency=5, progress=lambda i, r, done: seen.append(done)
    )
    assert [r.output for r in results] == [f"done {item}" for item in items]
    assert {r.state for r in results} == {"completed"}
    assert sorted(seen) == list(range(1, 31))
    recorded = ledger_lines()
    assert all(recorded.count(item) == 1 for item in items)


def test_a_batch_run_again_resumes_from_the_store(model_server: Any, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/batch.db"
    items = [f"again-{n}" for n in range(5)]
    first = run_many_sync(AGENT, items, store=store, batch_id="b1")
    asked = sum(items_asked(model_server, item) for item in items)
    second = run_many_sync(AGENT, items, store=store, batch_id="b1")
    assert [r.run_id for r in second] == [r.run_id for r in first] == [f"b1-{n}" for n in range(5)]
    assert [r.output for r in second] == [r.output for r in first]
    assert sum(items_asked(model_server, item) for item in items) == asked  # nothing asked again
    assert all(ledger_lines().count(item) == 1 for item in items)


def test_an_agent_object_works_as_well_as_a_path(model_server: Any) -> None:
    from tests.distributed.agents import batcher

    (result,) = run_many_sync(batcher, ["object-1"])
    assert result.output == "done object-1"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency must be a positive integer"),
        ({"engine": "spark"}, "engine must be 'local' or 'ray'"),
        ({"run_ids": ["only-one"]}, "run_ids has 1 ids for 2 inputs"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        run_many_sync(AGENT, ["a", "b"], **options)


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("no_colon", "import path"),
        ("tests.distributed.nowhere:agent", "cannot import"),
        ("tests.distributed.agents:missing", "has no attribute"),
        ("tests.distributed.agents:LEDGER", "not a tether Agent"),
    ],
)
def test_bad_agent_references_are_clear_errors(agent: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        run_many_sync(agent, ["a"])


def test_ray_refuses_a_store_the_workers_cannot_share() -> None:
    # (store=None is allowed on Ray: the runs are not checkpointed, as with the local engine)
    with pytest.raises(UserError, match="needs a store the workers share"):
        run_many_sync(AGENT, ["a"], engine="ray", store="memory://")


def test_return_exceptions_puts_a_raising_run_in_its_place() -> None:
    from tether import Agent
    from tether.models import FunctionModel

    def model(messages: Any, info: Any) -> str:
        text = messages[-1].text
        if text == "boom":
            raise ValueError("the model broke")
        return f"ok {text}"

    agent = Agent("fragile", model=FunctionModel(model))
    out = run_many_sync(agent, ["a", "boom", "c"], return_exceptions=True)
    assert out[0].output == "ok a" and out[2].output == "ok c"
    assert isinstance(out[1], Exception) or out[1].state == "failed"
    if not isinstance(out[1], Exception):
        assert "the model broke" in (out[1].error or "")


def test_ray_is_imported_only_when_the_ray_engine_is_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tether, tether.distributed, tether.server, tether.server._executor;"
        "from tether.distributed import run_many_sync;"
        "run_many_sync(tether.Agent('a', model=tether.models.FunctionModel("
        "lambda m, i: 'ok')), ['x']);"
        "assert 'ray' not in sys.modules, 'ray was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_error_without_a_result_is_raised_as_itself() -> None:
    # As asyncio.gather raises it (not wrapped in an ExceptionGroup): `except KeyError` works.
    from tether import Agent
    from tether.models import FunctionModel

    def instructions(ctx: Any) -> str:
        if ctx.messages[-1].text == "boom":
            raise KeyError("the instructions broke")
        return "Answer."

    agent = Agent("brittle", model=FunctionModel(lambda m, i: "ok"), instructions=instructions)
    with pytest.raises(KeyError, match="the instructions broke"):
        run_many_sync(agent, ["a", "boom", "c"])
