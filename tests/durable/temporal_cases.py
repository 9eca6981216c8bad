"""Agents and workflows of the Temporal context and lifecycle tests (test_temporal_context.py,
test_temporal_lifecycle.py), and a worker thread serving them: one worker that caches its
workflows, and one that caches none (every workflow task replays the whole history on a fresh
workflow, as a new worker does after a crash)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tether import Agent, Context, Message, RunConfig
    from tether.durable import DurableEngineError
    from tether.durable.temporal import TemporalDurability
    from tether.memory import Memory
    from tether.messages import TextPart
    from tether.models import FunctionModel
    from tether.models.base import ModelRequest, ModelResponse, ModelStreamEvent, TextDelta
    from tether.models.resilience import ModelRuntime
    from tether.models.testing import AgentInfo
    from tether.policies import SupervisorPolicy
    from tether.results import Result

QUEUE = "tether-temporal-own"
NO_CACHE_QUEUE = "tether-temporal-own-nocache"


def tool_texts(messages: list[Message]) -> list[str]:
    """The tool results the model was shown so far."""
    return [p.content for m in messages if m.role == "tool" for p in m.parts]  # type: ignore[attr-defined]


def summary(result: Result[Any]) -> dict[str, Any]:
    """What the tests compare of a Result (plain data)."""
    return {
        "state": result.state,
        "output": result.output,
        "error_type": result.error_type,
        "tools": [(t.tool_name, t.output) for t in result.tool_executions],
        "interrupted_calls": list(result.interrupted_calls),
    }


# -- context: tools sharing ctx.state, reading the run's messages and the agent's memory ---------
def _keeper_model(messages: list[Message], info: AgentInfo) -> Any:
    done = len(tool_texts(messages))
    if done == 0:
        return FunctionModel.tool_call("note", {"text": "a"})
    if done == 1:  # two at once, on keys of their own
        return FunctionModel.tool_calls([("note", {"text": "b"}), ("mark", {})])
    if done == 3:
        return FunctionModel.tool_call("count", {})
    if done == 4:
        return FunctionModel.tool_call("recall", {})
    return "kept: " + tool_texts(messages)[-1]


keeper = Agent("keeper", model=FunctionModel(_keeper_model), memory=Memory())


@keeper.tool
async def note(ctx: Context[None], text: str) -> str:
    """Note ``text`` in the run's state and the agent's memory."""
    ctx.state.setdefault("notes", []).append(text)  # changed in place
    ctx.state["last"] = text
    await ctx.memory.remember(f"noted {text}", key=text)
    return f"noted {text} after {len(ctx.messages)} messages"


@keeper.tool
def mark(ctx: Context[None]) -> str:
    """Leave a scratch key."""
    ctx.state["scratch"] = "marked"
    return "marked"


@keeper.tool
def count(ctx: Context[None]) -> str:
    """Count the notes so far and remove the scratch key."""
    scratch = ctx.state.pop("scratch", None)
    return f"{len(ctx.state.get('notes', []))} notes, {scratch}, {len(ctx.messages)} messages"


@keeper.tool
async def recall(ctx: Context[None]) -> str:
    """What the state and the memory hold."""
    facts = sorted(f.text for f in await ctx.memory.facts())
    state = {k: ctx.state[k] for k in sorted(ctx.state) if not k.startswith("tether.")}
    return f"state={state} memory={facts} first={ctx.messages[0].text!r}"


def _hoarder_model(messages: list[Message], info: AgentInfo) -> Any:
    if not tool_texts(messages):
        return FunctionModel.tool_call("grab", {})
    return "grabbed: " + tool_texts(messages)[-1]


grabber = Agent("grabber", model=FunctionModel(_hoarder_model))


@grabber.tool
def grab(ctx: Context[None]) -> str:
    """Put a lock (which cannot cross the engine) in the run's state."""
    ctx.state["lock"] = threading.Lock()
    return "grabbed"


# -- lifecycle: a tool that holds until the test lets it go --------------------------------------
RELEASE = threading.Event()
STARTED: list[str] = []


def _steward_model(messages: list[Message], info: AgentInfo) -> Any:
    done = len(tool_texts(messages))
    if done < 2:
        return FunctionModel.tool_call("hold", {"step": done + 1})
    return "stewarded: " + ", ".join(tool_texts(messages))


steward = Agent("steward", model=FunctionModel(_steward_model))


@steward.tool
async def hold(step: int) -> str:
    """Hold until released (at most 20 s); say so when cancelled."""
    STARTED.append(f"hold:{step}")
    deadline = time.monotonic() + 20
    try:
        while not RELEASE.is_set():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
    except asyncio.CancelledError:  # the activity was cancelled, on the worker
        STARTED.append(f"cancelled:{step}")
        raise
    return f"held {step}"


# -- RunConfig(model=, policy=, model_provider=): registered by name, or a model string ----------
def _planner_model(messages: list[Message], info: AgentInfo) -> Any:
    if tool_texts(messages):
        return "planner: " + tool_texts(messages)[-1]
    if info.instructions and "ask_aide" in info.instructions:  # the supervisor policy's words
        return FunctionModel.tool_call("ask_aide", {"input": "help"})
    return "planner alone"


planner = Agent("planner", model=FunctionModel(_planner_model))
aide = Agent(
    "aide",
    model=FunctionModel(
        lambda messages, info: (
            "aide: " + tool_texts(messages)[-1]
            if tool_texts(messages)
            else FunctionModel.tool_call("assist", {})
        )
    ),
)


@aide.tool
def assist() -> str:
    """Assist."""
    return "assisted"


FAST = FunctionModel(lambda messages, info: "fast: " + messages[-1].text)
SUPERVISE = SupervisorPolicy([aide])


def loud(spec: str) -> FunctionModel:
    """A model provider: a model that shouts its name."""
    return FunctionModel(lambda messages, info: f"LOUD {spec}")


# -- streaming: a model that streams two pieces, then waits for the test before the last --------
GO_ON = threading.Event()


class GatedStreamModel:
    """Streams "Hel", "lo", then waits (at most 20 s) for GO_ON before " world"."""

    name = "gated:stream"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The whole answer."""
        return ModelResponse([TextPart("Hello world")])

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """The answer in three pieces, the last one held back."""
        yield TextDelta("Hel")
        yield TextDelta("lo")
        deadline = time.monotonic() + 20
        while not GO_ON.is_set():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        yield TextDelta(" world")
        yield ModelResponse([TextPart("Hello world")])


streamer = Agent("streamer", model=GatedStreamModel())
crier = Agent("crier", model="crier:voice")  # only a model provider knows this name
durable = TemporalDurability(
    [keeper, grabber, steward, planner, crier, streamer],
    models={"fast": FAST},
    policies={"supervise": SUPERVISE},
    model_providers={"loud": loud},
)
CASES: dict[str, tuple[Agent, str, RunConfig | None]] = {
    "context": (keeper, "keep notes", None),
    "unsendable_state": (grabber, "grab it", None),
    "lifecycle": (steward, "hold on", RunConfig(max_turns=5)),
    "own_model": (planner, "plan", None),
    "registered_model": (planner, "plan", RunConfig(model=FAST)),
    "model_string": (planner, "plan", RunConfig(model="test")),
    "model_provider": (planner, "plan", RunConfig(model="shout", model_provider=loud)),
    "provider_for_the_agent_s_string": (crier, "plan", RunConfig(model_provider=loud)),
    "registered_policy": (planner, "plan", RunConfig(policy=SUPERVISE)),
    "unregistered_model": (planner, "plan", RunConfig(model=FunctionModel(lambda m, i: "x"))),
    "unregistered_policy": (planner, "plan", RunConfig(policy=SupervisorPolicy([aide]))),
    "unregistered_provider": (planner, "plan", RunConfig(model="x", model_provider=str.upper)),  # type: ignore[arg-type]
    "stream": (streamer, "say hello", None),
    "model_runtime": (planner, "plan", RunConfig(model_runtime=ModelRuntime())),
}


# -- a streamed model call run again: its first attempt streams "Hm" and then outlives its -------
# -- activity timeout; Temporal runs it again, and the second attempt answers "Hello" ------------


class StutterModel:
    """Attempt 1: "Hm", then a hang past the activity's timeout; later attempts: "Hel", "lo"."""

    name = "stutter:stream"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Not used: the run streams."""
        raise AssertionError("the run was expected to stream")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """The attempt's deltas and response."""
        from temporalio import activity

        if activity.info().attempt == 1:
            yield TextDelta("Hm")
            await asyncio.sleep(60)  # the activity times out meanwhile: cancelled, run again
        yield TextDelta("Hel")
        yield TextDelta("lo")
        yield ModelResponse([TextPart("Hello")])


stutterer = Agent("stutterer", model=StutterModel())  # type: ignore[arg-type]
impatient = TemporalDurability([stutterer], activity_timeout=timedelta(seconds=4))


@workflow.defn(name="StutterWorkflow")
class StutterWorkflow:
    """Runs the stutterer under a short activity timeout."""

    @workflow.run
    async def run(self, text: str) -> dict[str, Any]:
        """The Result's summary."""
        return summary(await impatient.run(stutterer, text))


@workflow.defn(name="OwnCaseWorkflow")
class OwnCaseWorkflow:
    """Runs one case of this module; returns the Result's summary."""

    @workflow.run
    async def run(self, name: str) -> dict[str, Any]:
        """Run the case ``name``."""
        agent, text, config = CASES[name]
        try:
            return summary(await durable.run(agent, text, run_config=config))
        except DurableEngineError as exc:
            return {"error": str(exc)}


class _WorkerThread(threading.Thread):
    """The workers of this module, on an event loop of their own, until stopped."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True, name="temporal-own-worker")
        self.address = address
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by the fixture
            self.failure = exc
            self.ready.set()

    async def _serve(self) -> None:
        from temporalio.client import Client
        from temporalio.worker import Worker

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        client = await Client.connect(self.address)
        common: dict[str, Any] = {
            "workflows": [OwnCaseWorkflow, StutterWorkflow],
            "plugins": [durable.plugin, impatient.plugin],
            "build_id": "tether-own-tests",  # else the worker hashes every loaded module
        }
        cached = Worker(client, task_queue=QUEUE, **common)
        uncached = Worker(client, task_queue=NO_CACHE_QUEUE, max_cached_workflows=0, **common)
        async with cached, uncached:
            self.ready.set()
            await self._stopping.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(15)


@pytest.fixture(scope="package")
def own_worker(server: str) -> Iterator[str]:
    """The address of the server this module's workers serve (queues QUEUE, NO_CACHE_QUEUE)."""
    thread = _WorkerThread(server)
    thread.start()
    assert thread.ready.wait(30), "the Temporal worker did not start"
    assert thread.failure is None, thread.failure
    yield server
    thread.stop()
