"""`from tether import Agent` loads no pydantic: the Agent's validator is built by the first Agent.

The figure is bench/run.py's cold `from tether import Agent` beside a cold `import pydantic`
(issue #22: within 1.2x); this test keeps the modules that made it 2.6x out of the import, in a
fresh process, so the gain cannot silently regress.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pydantic
import pytest

from tether import Agent
from tether.agent import Instructions
from tether.models.pricing import ModelPrice

#: Loaded by `import pydantic` or by defining a pydantic model, or only by what uses them.
DEFERRED = (
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "annotated_types",
    "pathlib",
    "tether.models.pricing",
    "docstring_parser",
)


def _fresh(code: str) -> Any:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_from_tether_import_agent_loads_no_pydantic() -> None:
    loaded = _fresh(
        "import json, sys\nfrom tether import Agent\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    found = [m for m in loaded if m in DEFERRED or m.startswith(("pydantic.", "pydantic_core."))]
    assert found == []


def test_the_first_agent_builds_the_validator_and_validates() -> None:
    got = _fresh(
        "import json, sys\n"
        "from tether import Agent\n"
        "complete = Agent.__pydantic_complete__\n"
        "agent = Agent('a', tools=[abs], price={'input': 1, 'output': 2})\n"
        "try:\n"
        "    Agent('b', max_turns=0)\n"
        "except Exception as exc:\n"
        "    error = [type(exc).__module__, str(exc).splitlines()[:2]]\n"
        "print(json.dumps([complete, Agent.__pydantic_complete__, 'pydantic.main' in sys.modules,\n"
        "                  type(agent.price).__name__, error]))\n"
    )
    assert got == [
        False,
        True,
        True,
        "ModelPrice",
        ["pydantic_core._pydantic_core", ["1 validation error for Agent", "max_turns"]],
    ]


def test_agent_fields_resolve_the_names_loaded_on_use() -> None:
    fields = Agent.model_fields
    assert fields["api_key"].annotation == pydantic.SecretStr | None
    assert fields["price"].annotation == ModelPrice | None
    assert fields["instructions"].annotation == Instructions | None
    agent = Agent("a", api_key="sk-1", price=0)
    assert isinstance(agent.api_key, pydantic.SecretStr)
    assert agent.api_key.get_secret_value() == "sk-1"
    assert agent.price == ModelPrice(0, 0)


class _Checked(Agent):
    """A subclass with pydantic's decorators, a new field and private attributes."""

    level: int = 1
    _note = pydantic.PrivateAttr(default="plain")
    _seen: list[str] = pydantic.PrivateAttr(default_factory=list)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _default_description(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("description") is None:
            data = {**data, "description": f"the {data.get('name')} agent"}
        return data

    @pydantic.field_validator("level")
    @classmethod
    def _level_is_small(cls, value: int) -> int:
        if value > 3:
            raise ValueError("at most 3")
        return value


def test_a_subclass_keeps_pydantic_validators_fields_and_private_attributes() -> None:
    agent = _Checked("c", level=2)
    assert agent.description == "the c agent"
    assert agent.level == 2
    assert agent._note == "plain"
    agent._seen.append("x")
    assert _Checked("d")._seen == []  # a factory per instance
    with pytest.raises(pydantic.ValidationError) as info:
        _Checked("e", level=4)
    assert info.value.title == "_Checked"
    assert info.value.errors()[0]["loc"] == ("level",)
    with pytest.raises(pydantic.ValidationError):
        agent.level = 3  # type: ignore[misc]
    assert Agent("plain").description is None  # the subclass's validator is its own
    with pytest.raises(pydantic.ValidationError):
        Agent("plain", level=1)


def test_an_agent_as_a_field_of_a_pydantic_model_and_pydantic_methods() -> None:
    class Holder(pydantic.BaseModel):
        agent: Agent

    agent = Agent("held", max_turns=4)
    assert Holder(agent=agent).agent is agent
    with pytest.raises(pydantic.ValidationError):
        Holder(agent="held")
    assert agent.model_dump(include={"name", "max_turns"}) == {"name": "held", "max_turns": 4}
    assert agent == Agent("held", max_turns=4) and agent != Agent("held", max_turns=5)


def test_agent_model_validate_builds_an_agent_from_its_fields() -> None:
    # pydantic's Model.model_validate, as users of a BaseModel Agent call it (a config file)
    from tether import Agent

    agent = Agent.model_validate({"name": "from-config", "model": "test", "instructions": "hi"})
    assert isinstance(agent, Agent) and agent.name == "from-config"
    assert Agent.model_validate(agent) is agent
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        Agent.model_validate({"name": "x", "bogus": 1})
    with pytest.raises(pydantic.ValidationError):
        Agent.model_validate(["not", "a", "mapping"])
