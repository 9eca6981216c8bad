"""Tools: schema from signature and docstring, Context injection, invocation, timeouts."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from tether import Agent, Context, Tool, UserError, tool
from tether.models import FakeModel


def test_schema_from_signature() -> None:
    @tool
    def search(query: str, limit: int = 5, exact: bool = False) -> list[str]:
        """Search the index."""
        return []

    assert search.name == "search"
    assert search.description == "Search the index."
    assert search.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer", "default": 5},
            "exact": {"type": "boolean", "default": False},
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    spec = search.spec()
    assert (spec.name, spec.description, spec.parameters, spec.strict) == (
        "search",
        "Search the index.",
        search.parameters,
        False,
    )


class Address(BaseModel):
    street: str
    zip_code: str


@dataclass
class Point:
    x: int
    y: int


class Row(BaseModel):
    id: int
    tags: list[str]


def test_schema_of_nested_models_literals_and_annotated() -> None:
    @tool
    def ship(
        to: Address,
        speed: Literal["slow", "fast"],
        weight: Annotated[float, Field(gt=0, description="kilograms")],
    ) -> str:
        return "ok"

    props = ship.parameters["properties"]
    assert props["to"] == {"$ref": "#/$defs/Address"}
    assert ship.parameters["$defs"]["Address"]["required"] == ["street", "zip_code"]
    assert props["speed"] == {"enum": ["slow", "fast"], "type": "string"}
    assert props["weight"] == {"type": "number", "exclusiveMinimum": 0, "description": "kilograms"}
    # titles pydantic adds everywhere are stripped: they only cost tokens
    assert "title" not in repr(ship.parameters)


def test_google_docstring() -> None:
    @tool
    def weather(city: str, unit: str = "C") -> str:
        """Get the weather.

        Longer explanation here.

        Args:
            city: The city name.
            unit: C or F.
        """
        return city

    assert weather.description == "Get the weather.\n\nLonger explanation here."
    props = weather.parameters["properties"]
    assert props["city"]["description"] == "The city name."
    assert props["unit"]["description"] == "C or F."


def test_numpy_docstring() -> None:
    @tool
    def area(width: float, height: float) -> float:
        """Compute an area.

        Parameters
        ----------
        width : float
            Width in meters.
        height : float
            Height in meters.
        """
        return width * height

    assert area.description == "Compute an area."
    props = area.parameters["properties"]
    assert props["width"]["description"] == "Width in meters."
    assert props["height"]["description"] == "Height in meters."


def test_rest_docstring() -> None:
    @tool
    def convert(amount: float, currency: str) -> float:
        """Convert money.

        :param amount: How much.
        :param currency: ISO code of the target currency.
        :returns: the converted amount
        """
        return amount

    assert convert.description == "Convert money."
    props = convert.parameters["properties"]
    assert props["amount"]["description"] == "How much."
    assert props["currency"]["description"] == "ISO code of the target currency."


def test_no_docstring_gives_empty_description() -> None:
    @tool
    def bare(x: int) -> int:
        return x

    assert bare.description == ""
    assert "description" not in bare.parameters["properties"]["x"]


def test_context_parameter_is_injected_and_absent_from_schema() -> None:
    @tool
    def save(ctx: Context[dict[str, str]], text: str) -> str:
        """Save a note.

        Args:
            ctx: never shown.
            text: The note.
        """
        return text

    assert save.context_param == "ctx"
    assert list(save.parameters["properties"]) == ["text"]
    assert save.parameters["required"] == ["text"]
    assert "ctx" not in repr(save.parameters)


def test_bare_context_annotation_is_injected_too() -> None:
    @tool
    def only_ctx(ctx: Context) -> str:  # type: ignore[type-arg]
        return "x"

    assert only_ctx.context_param == "ctx"
    assert only_ctx.parameters["properties"] == {}


def test_context_must_be_first() -> None:
    def late(text: str, ctx: Context[None]) -> str:
        return text

    with pytest.raises(UserError, match="must come first"):
        Tool(late)


def test_var_args_are_refused() -> None:
    def star(*items: int) -> int:
        return 0

    def kw(**items: int) -> int:
        return 0

    with pytest.raises(UserError, match=r"\*args/\*\*kwargs"):
        Tool(star)
    with pytest.raises(UserError, match=r"\*args/\*\*kwargs"):
        Tool(kw)


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dots.no"])
def test_invalid_tool_names(name: str) -> None:
    with pytest.raises(UserError, match="is invalid"):
        Tool(lambda: None, name=name)


def test_lambda_default_name_is_invalid() -> None:
    with pytest.raises(UserError, match="'<lambda>' is invalid"):
        Tool(lambda: None)


def test_non_callable_and_bad_timeout() -> None:
    with pytest.raises(UserError, match="must wrap a callable"):
        Tool(42)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="timeout must be positive"):
        Tool(test_non_callable_and_bad_timeout, timeout=0)


def test_unresolvable_type_hint_is_a_user_error() -> None:
    def broken(x: NotDefinedAnywhere) -> int:  # type: ignore[name-defined]  # noqa: F821
        return 0

    with pytest.raises(UserError, match="cannot resolve type hints"):
        Tool(broken)


def test_strict_forbids_additional_properties() -> None:
    @tool(strict=True)
    def s(x: int) -> int:
        return x

    assert s.parameters["additionalProperties"] is False
    assert s.spec().strict is True


def test_with_name_copies() -> None:
    @tool
    def orig(x: int) -> int:
        """Original."""
        return x

    copy = orig.with_name("alias", "Aliased.")
    assert (copy.name, copy.description) == ("alias", "Aliased.")
    assert (orig.name, orig.description) == ("orig", "Original.")
    assert copy.parameters == orig.parameters
    with pytest.raises(UserError):
        orig.with_name("bad name")


def test_dataclass_parameter() -> None:
    @tool
    def dist(p: Point) -> float:
        return float(abs(p.x) + abs(p.y))

    assert dist.parameters["$defs"]["Point"]["required"] == ["x", "y"]


# -- invocation through a run ---------------------------------------------------------------


async def test_sync_tool_runs_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    tool_threads: list[int] = []

    def where() -> str:
        tool_threads.append(threading.get_ident())
        return "here"

    model = FakeModel().add_tool_call("where").add_response("done")
    result = await Agent("a", model=model, tools=[where]).run("go")
    assert result.state == "completed"
    assert len(tool_threads) == 1
    assert tool_threads[0] != loop_thread


async def test_async_tool_is_awaited_on_the_loop() -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[int, asyncio.AbstractEventLoop]] = []

    async def where() -> str:
        await asyncio.sleep(0)
        seen.append((threading.get_ident(), asyncio.get_running_loop()))
        return "here"

    model = FakeModel().add_tool_call("where").add_response("done")
    result = await Agent("a", model=model, tools=[where]).run("go")
    assert result.tool_executions[0].output == "here"
    assert seen == [(loop_thread, asyncio.get_running_loop())]


async def test_positional_only_parameters_are_passed_positionally() -> None:
    def pos(a: int, /, b: int) -> int:
        return a * 10 + b

    model = FakeModel().add_tool_call("pos", {"a": 1, "b": 2}).add_response("ok")
    result = await Agent("a", model=model, tools=[pos]).run("go")
    assert result.tool_executions[0].output == 12


async def test_context_fields_reach_the_tool() -> None:
    got: dict[str, object] = {}

    @tool
    def inspect_ctx(ctx: Context[dict[str, int]], n: int) -> int:
        got.update(
            deps=ctx.deps,
            run_id=ctx.run_id,
            agent=ctx.agent.name,
            tool_name=ctx.tool_name,
            tool_call_id=ctx.tool_call_id,
            thread_id=ctx.thread_id,
            requests=ctx.usage.requests,
            first_message=ctx.messages[0].text,
            retry=ctx.retry,
        )
        ctx.state["seen"] = n
        return ctx.deps["base"] + n

    model = FakeModel().add_tool_call("inspect_ctx", {"n": 2}).add_response("done")
    agent = Agent("ctx-agent", model=model, tools=[inspect_ctx])
    result = await agent.run("hello", deps={"base": 40}, run_id="run-ctx", thread_id="t1")
    assert result.tool_executions[0].output == 42
    assert got == {
        "deps": {"base": 40},
        "run_id": "run-ctx",
        "agent": "ctx-agent",
        "tool_name": "inspect_ctx",
        "tool_call_id": "call_1_0",
        "thread_id": "t1",
        "requests": 1,
        "first_message": "hello",
        "retry": 0,
    }


class Db:
    def __init__(self) -> None:
        self.rows = {"ada": "Ada Lovelace"}


async def test_async_tool_with_context_and_deps() -> None:
    async def fetch(ctx: Context[Db], key: str) -> str:
        """Fetch a row."""
        return ctx.deps.rows[key]

    model = FakeModel().add_tool_call("fetch", {"key": "ada"}).add_response("found")
    result = await Agent("a", model=model, tools=[fetch]).run("who", deps=Db())
    assert result.tool_executions[0].output == "Ada Lovelace"
    tool_message = result.messages[2]
    assert tool_message.tool_results[0].content == "Ada Lovelace"


async def test_tool_output_is_sent_as_json_unless_a_string() -> None:
    def row() -> Row:
        return Row(id=1, tags=["a"])

    def nothing() -> None:
        return None

    model = FakeModel().add_tool_calls([("row", {}), ("nothing", {})]).add_response("ok")
    result = await Agent("a", model=model, tools=[row, nothing]).run("go")
    contents = [r.content for r in result.messages[2].tool_results]
    assert contents == ['{"id":1,"tags":["a"]}', "null"]
    assert result.tool_executions[0].output == Row(id=1, tags=["a"])


async def test_long_tool_output_is_truncated_with_a_note() -> None:
    from tether import RunConfig

    def big() -> str:
        return "x" * 100

    model = FakeModel().add_tool_call("big").add_response("ok")
    result = await Agent("a", model=model, tools=[big]).run(
        "go", run_config=RunConfig(tool_output_max_chars=10)
    )
    content = result.messages[2].tool_results[0].content
    assert content == "x" * 10 + "\n[output truncated: 90 more characters]"


async def test_async_tool_timeout_is_reported_to_the_model() -> None:
    cancelled = asyncio.Event()

    @tool(timeout=0.05)
    async def slow() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    model = FakeModel().add_tool_call("slow").add_response("gave up")
    result = await Agent("a", model=model, tools=[slow]).run("go")
    assert cancelled.is_set()
    record = result.tool_executions[0]
    assert record.success is False
    assert record.error == "tool 'slow' timed out after 0.05s. Try something quicker or different."
    assert model.requests[1].messages[-1].tool_results[0].content == record.error
    assert model.requests[1].messages[-1].tool_results[0].is_error is True
    assert result.state == "degraded"
    assert result.output == "gave up"


async def test_sync_tool_timeout_is_reported_to_the_model() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def stuck() -> str:
        release.wait(5)
        return "late"

    model = FakeModel().add_tool_call("stuck").add_response("ok")
    try:
        result = await Agent("a", model=model, tools=[stuck]).run("go")
    finally:
        release.set()
    assert "timed out after 0.05s" in (result.tool_executions[0].error or "")
    assert result.state == "degraded"


async def test_needs_approval_predicate_is_evaluated_per_call() -> None:
    calls: list[dict[str, object]] = []

    async def decide(ctx: Context[None], args: dict[str, object]) -> bool:
        calls.append(args)
        return int(args["amount"]) > 100  # type: ignore[call-overload]

    ran: list[int] = []

    @tool(needs_approval=decide)
    def pay(amount: int) -> str:
        ran.append(amount)
        return "paid"

    model = FakeModel().add_tool_calls([("pay", {"amount": 5}), ("pay", {"amount": 500})])
    result = await Agent("a", model=model, tools=[pay]).run("pay")
    assert calls == [{"amount": 5}, {"amount": 500}]
    assert ran == [5]
    assert result.state == "awaiting_approval"
    assert [(p.tool_name, p.args) for p in result.pending_approvals] == [("pay", {"amount": 500})]


class AsyncLookup:
    """A callable object with an async __call__."""

    async def __call__(self, key: str) -> str:
        return key.upper()


async def test_callable_object_with_async_call_is_awaited() -> None:
    lookup = Tool(AsyncLookup(), name="lookup")
    assert lookup.is_async
    model = FakeModel().add_tool_call("lookup", {"key": "k"}).add_response("ok")
    result = await Agent("a", model=model, tools=[lookup]).run("go")
    assert result.tool_executions[0].output == "K"


def test_callable_object_needs_a_name() -> None:
    with pytest.raises(UserError, match="has no __name__: give the tool a name="):
        Tool(AsyncLookup())


async def test_partial_of_an_async_function() -> None:
    import functools

    async def scaled(factor: int, value: int) -> int:
        return factor * value

    triple = Tool(functools.partial(scaled, 3), name="triple")
    assert triple.is_async
    assert list(triple.parameters["properties"]) == ["value"]
    model = FakeModel().add_tool_call("triple", {"value": 5}).add_response("ok")
    result = await Agent("a", model=model, tools=[triple]).run("go")
    assert result.tool_executions[0].output == 15


def test_a_locally_defined_type_under_future_annotations_is_explained() -> None:
    class Local(BaseModel):
        x: int

    def uses_local(item: Local) -> int:
        return item.x

    with pytest.raises(UserError, match=r"name 'Local' is not defined\. Types named in a tool's"):
        Tool(uses_local)


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


async def test_output_without_a_json_form_is_shown_by_its_repr() -> None:
    def make() -> Opaque:
        return Opaque()

    model = FakeModel().add_tool_call("make").add_response("ok")
    result = await Agent("a", model=model, tools=[make]).run("go")
    assert result.messages[2].tool_results[0].content == "<Opaque thing>"
    assert isinstance(result.tool_executions[0].output, Opaque)


def test_tool_options_are_one_typed_dict_taken_everywhere() -> None:
    import tether
    from tether import Agent, Tool, ToolOptions, UserError, tool
    from tether.models import FakeModel

    assert tether.ToolOptions is ToolOptions
    options: ToolOptions = {"needs_approval": True, "timeout": 2.0, "strict": True}

    def lookup(city: str) -> str:
        """Look up a city."""
        return city

    async def remote(**kwargs: object) -> str:
        return "ok"

    agent = Agent("a", model=FakeModel())
    made = [
        Tool(lookup, **options),
        tool(**options)(lookup),
        agent.tool(name="lookup2", **options)(lookup),
        Tool.from_schema("remote", "Remote.", {"properties": {}}, remote, **options),
    ]
    for each in made:
        assert each.needs_approval is True and each.timeout == 2.0 and each.strict is True
        assert each.spec().strict is True
    with pytest.raises(UserError, match="unknown tool option 'retries'"):
        tool(retries=3)  # type: ignore[call-overload]
    with pytest.raises(UserError, match="unknown tool option"):
        Tool(lookup, needs_aproval=True)  # type: ignore[call-arg]


def test_needs_approval_that_is_neither_a_bool_nor_a_function_is_refused() -> None:
    def pay(amount: int) -> str:
        return "paid"

    with pytest.raises(UserError, match="needs_approval must be a bool or a function"):
        tool(pay, needs_approval="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decide", "said"),
    [
        (lambda ctx, args: 1 / 0, "ZeroDivisionError: division by zero"),
        (lambda args: True, "TypeError"),  # takes one argument, is given (ctx, args)
    ],
)
def test_a_needs_approval_function_that_raises_fails_the_run_naming_the_tool(
    decide: Any, said: str
) -> None:
    ran: list[int] = []

    def pay(amount: int) -> str:
        ran.append(amount)
        return "paid"

    model = FakeModel().add_tool_call("pay", {"amount": 5}).add_response("ok")
    agent = Agent("a", model=model, tools=[tool(pay, needs_approval=decide)])
    with pytest.raises(UserError, match="tool 'pay': its needs_approval function raised") as caught:
        agent.run_sync("pay")
    assert said in str(caught.value) and not ran
    assert caught.value.result.state == "failed"  # type: ignore[attr-defined]
