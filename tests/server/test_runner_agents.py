"""Runner.agents: the agents a Runner knows by name (registered, or run by it), the public read a
server builds its agent list from (it read the private ``runner._agents``)."""

from __future__ import annotations

from tether import Agent, Runner
from tether.models import FakeModel
from tether.server._app import served_agents


async def test_runner_agents_lists_registered_and_run_agents_by_name() -> None:
    first = Agent("first", model=FakeModel())
    runner = Runner(store=None, telemetry=None, agents=[first])
    assert runner.agents == {"first": first}
    second = Agent("second", model=FakeModel().add_response("hi"))
    await runner.run(second, "hello")  # a run makes its agent known by name
    assert runner.agents == {"first": first, "second": second}
    runner.agents.pop("first")  # a copy: the Runner's registry stays as it is
    assert runner.get_agent("first") is first and set(runner.agents) == {"first", "second"}
    assert served_agents(runner) == {"first": first, "second": second}
