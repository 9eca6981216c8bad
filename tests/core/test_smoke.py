from tether import Agent
from tether.models import FakeModel


async def test_one_tool_round_trip() -> None:
    model = FakeModel()
    model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    agent = Agent("calc", model=model)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    result = await agent.run("1+2?")
    assert result.output == "3"
    assert result.state == "completed"
    assert [r.output for r in result.tool_executions] == [3]
    model.assert_exhausted()
