"""JSON from the model nested thousands of levels deep (past the parser's recursion limit) is
refused like any unparsable answer: a message back to the model, never a RecursionError that
ends the run."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from tether import Agent
from tether.messages import Message
from tether.models import FunctionModel
from tether.models.testing import AgentInfo

DEEP = '{"c":' * 5000 + "1" + "}" * 5000


class Answer(pydantic.BaseModel):
    c: int


@pytest.mark.parametrize("mode", ["text", "native", "tool"])
def test_deeply_nested_final_answer_goes_back_to_the_model(mode: str) -> None:
    told: list[str] = []

    def fn(messages: list[Message], info: AgentInfo) -> Any:
        assert info.output is not None
        if len(messages) == 1:
            if mode == "tool":
                return FunctionModel.tool_call(info.output.name, DEEP)
            return FunctionModel.text(DEEP)
        told.append(str([p for m in messages[1:] for p in m.parts]))
        if mode == "tool":
            return FunctionModel.tool_call(info.output.name, {"c": 2})
        return FunctionModel.text('{"c": 2}')

    result = Agent("a", model=FunctionModel(fn), output=Answer, output_mode=mode).run_sync("x")
    assert result.state == "completed" and result.output == Answer(c=2)
    assert told and "nested too deep" in told[0]
