"""The plain run's hot path keeps its contract: fresh run ids are version-4 UUIDs, and a run's
claim on its id holds while it goes on."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tether import Agent, Runner
from tether.errors import UserError
from tether.models import FunctionModel
from tether.store._ids import new_run_id


def test_new_run_ids_are_uuid4_hex() -> None:
    ids = {new_run_id() for _ in range(2000)}
    assert len(ids) == 2000
    for made in ids:
        parsed = uuid.UUID(hex=made)
        assert parsed.hex == made and len(made) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


async def test_a_run_without_an_id_gets_a_fresh_uuid4() -> None:
    agent = Agent("a", model=FunctionModel(lambda messages, info: "done"))
    runner = Runner(store=None, telemetry=None)
    first, second = await runner.run(agent, "hi"), await runner.run(agent, "hi")
    assert first.run_id != second.run_id
    assert uuid.UUID(hex=first.run_id).version == 4


async def test_an_id_in_use_is_refused_while_its_run_goes_on() -> None:
    gate = asyncio.Event()

    async def slow(messages: object, info: object) -> str:
        await gate.wait()
        return "done"

    agent = Agent("a", model=FunctionModel(slow))
    runner = Runner(store=None, telemetry=None)
    going = asyncio.ensure_future(runner.run(agent, "hi", run_id="r1"))
    await asyncio.sleep(0.01)
    with pytest.raises(UserError, match="still going on"):
        await runner.run(agent, "hi", run_id="r1")
    gate.set()
    assert (await going).output == "done"
    assert (await runner.run(agent, "again", run_id="r2")).output == "done"
