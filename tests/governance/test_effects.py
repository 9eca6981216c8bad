"""effect="external": each call recorded in the store's effect ledger by its idempotency key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Context, Runner, tool
from tether.context import idempotency_key
from tether.errors import UserError
from tether.models import FakeModel
from tether.store import MemoryStore, open_store


def _agent(fail: bool) -> Agent:
    model = FakeModel()
    model.add_tool_calls([("charge", {"amount": 1}), ("look", {})])
    model.add_response("ok")
    agent = Agent("shop", model=model)

    @agent.tool(effect="external")
    def charge(ctx: Context[Any], amount: int) -> str:
        """Charge a card."""
        if fail:
            raise RuntimeError("card 4111 1111 1111 1111 declined, token sk-live-123")
        return f"charged {amount} under {ctx.idempotency_key}"

    @agent.tool(effect="none")
    def look() -> str:
        """Read something."""
        return "looked"

    return agent


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("fail", [False, True], ids=["finished", "failed"])
async def test_each_external_call_is_in_the_ledger(store: str, fail: bool, tmp_path: Path) -> None:
    opened = MemoryStore() if store == "memory" else open_store(f"sqlite:///{tmp_path / 'r.db'}")
    runner = Runner(store=opened)
    result = await runner.run(_agent(fail), "buy")
    charged = next(t for t in result.tool_executions if t.tool_name == "charge")
    key = idempotency_key(result.run_id, charged.tool_call_id)
    (row,) = await opened.effects(result.run_id)  # type: ignore[attr-defined]
    assert await opened.effect(key) == row  # type: ignore[attr-defined]
    assert (row.key, row.call_id, row.tool_name, row.attempts) == (
        key,
        charged.tool_call_id,
        "charge",
        1,
    )
    assert row.finished_at is not None and row.finished_at >= row.started_at
    if fail:  # only the exception's type is kept: its text may quote a secret
        assert (row.status, row.error) == ("failed", "RuntimeError")
    else:
        assert (row.status, row.error) == ("finished", None)
        assert charged.output == f"charged 1 under {key}"
    assert await opened.effect("tether-unknown") is None  # type: ignore[attr-defined]
    await runner.aclose()


@pytest.mark.parametrize(
    "store", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_deleting_a_run_deletes_its_ledger_rows(store: str, tmp_path: Path) -> None:
    """delete_run (what Retention(delete_runs=True) calls) leaves none of the run behind."""
    schema = None
    if store == "memory":
        opened: Any = MemoryStore()
    elif store == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    else:
        from durability.conftest import pg_schema_url
        from store.conftest import postgres_url

        schema, url = await pg_schema_url(postgres_url())
        opened = open_store(url)
    runner = Runner(store=opened)
    try:
        gone, kept = [(await runner.run(_agent(False), "buy")).run_id for _ in range(2)]
        (row,) = await opened.effects(gone)
        assert await opened.delete_run(gone) is True
        assert await opened.effects(gone) == [] and await opened.effect(row.key) is None
        assert [r.status for r in await opened.effects(kept)] == ["finished"]
    finally:
        await runner.aclose()
        if schema is not None:
            from store.conftest import drop_schema, postgres_url

            await drop_schema(postgres_url(), schema)


def test_effect_is_declared_plainly() -> None:
    def send() -> str:
        """Send."""
        return "sent"

    assert tool(effect="external")(send).effect == "external"
    assert tool(effect="none")(send).idempotent is True
    assert tool(send).effect is None and tool(send).idempotent is False
    with pytest.raises(UserError, match="effect= takes 'external', 'none' or None"):
        tool(effect="sometimes")(send)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="contradict"):
        tool(effect="external", idempotent=True)(send)
    made = tool(effect="external")(send)
    assert made.with_name("send2").effect == "external"
    agent = Agent("a", model=FakeModel())
    with pytest.raises(UserError, match="effect to @tool"):
        agent.tool(effect="external")(made)


def test_the_run_api_json_names_each_interrupted_calls_key() -> None:
    from tether.events import RunFinished, RunStarted
    from tether.results import RunState
    from tether.server._results import state_json

    state = RunState("run-9")
    state.apply(RunStarted(run_id="run-9", seq=1, agent="shop", input=[]))
    state.apply(
        RunFinished(run_id="run-9", seq=2, state="interrupted", interrupted_calls=["call-3"])
    )
    shown = state_json(state)
    assert shown["interrupted_calls"] == ["call-3"]
    assert shown["interrupted_keys"] == {"call-3": idempotency_key("run-9", "call-3")}
