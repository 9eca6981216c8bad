"""The per-feature cases run inside both engines' workflows (tests/durable/test_features.py).

Each case is an agent using one feature of the core (handoffs, agents as tools, a policy,
structured output, guardrails, limits, approvals, events while running), run by
:func:`run_case` with the engine's ``run`` inside a DBOS workflow or a Temporal workflow; the
workflow returns :func:`summary` of the Result (or the name of the error it raised). Every
call a tool really makes is counted in ``CALLS`` (a thread-safe list: the Temporal worker runs
in a thread of its own), so a test can check that nothing ran twice or outside the engine.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from dbos import DBOS
from pydantic import BaseModel
from temporalio import workflow

from tests.servers.openai_chat import ChatCompletionsServer

with workflow.unsafe.imports_passed_through():
    from tether import Agent, Context, Message, RunConfig, Runner, input_guardrail
    from tether.durable import DBOSDurability, Offload
    from tether.durable.temporal import TemporalDurability
    from tether.governance import PolicyEngine, PolicyHooks, PolicyRule
    from tether.models import FunctionModel
    from tether.models.resilience import ModelRuntime
    from tether.models.resolve import resolve_model
    from tether.models.retry import RetryPolicy
    from tether.models.testing import AgentInfo
    from tether.policies import SupervisorPolicy
    from tether.results import Result
    from tether.tools import Deferred

CALLS: list[str] = []
#: Set by a reader once it saw a tool call start (a tool waits for it).
READER_SAW_THE_CALL = threading.Event()


def _tool_messages(messages: list[Message]) -> list[str]:
    return [p.content for m in messages if m.role == "tool" for p in m.parts]  # type: ignore[attr-defined]


def _script(*steps: Any) -> Callable[[list[Message], AgentInfo], Any]:
    """A model that answers the n-th request of a run with the n-th step (after n-1 results)."""

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        done = len(_tool_messages(messages))
        step = steps[min(done, len(steps) - 1)]
        return step(messages) if callable(step) else step

    return answer


# -- handoffs: triage hands off to refunds, which calls its tool --------------------------------
refunds = Agent(
    "refunds",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("refund", {"order": "A7"}),
            FunctionModel.tool_call("refund", {"order": "A7"}),
            lambda messages: "refunds: " + _tool_messages(messages)[-1],
        )
    ),
)


@refunds.tool
def refund(order: str) -> str:
    """Refund ``order``."""
    CALLS.append(f"refund:{order}")
    return f"refunded {order}"


triage = Agent(
    "triage",
    model=FunctionModel(_script(FunctionModel.tool_call("transfer_to_refunds"))),
    handoffs=[refunds],
)

# -- agents as tools: the boss asks the researcher, which calls its own tool --------------------
researcher = Agent(
    "researcher",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("lookup", {"topic": "tides"}),
            lambda messages: "found: " + _tool_messages(messages)[-1],
        )
    ),
)


@researcher.tool
def lookup(topic: str) -> str:
    """Look ``topic`` up."""
    CALLS.append(f"lookup:{topic}")
    return f"{topic} follow the moon"


boss = Agent(
    "boss",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("researcher", {"input": "tides?"}),
            lambda messages: "boss: " + _tool_messages(messages)[-1],
        )
    ),
    tools=[researcher.as_tool()],
)

# -- a policy: the supervisor policy offers the analyst as a tool --------------------------------
analyst = Agent(
    "analyst",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("measure", {"what": "depth"}),
            lambda messages: "analysis: " + _tool_messages(messages)[-1],
        )
    ),
)


@analyst.tool
def measure(what: str) -> str:
    """Measure ``what``."""
    CALLS.append(f"measure:{what}")
    return f"{what} is 12 m"


def _supervise(messages: list[Message], info: AgentInfo) -> Any:
    if not _tool_messages(messages):
        assert info.instructions and "ask_analyst" in info.instructions  # the policy's words
        return FunctionModel.tool_call("ask_analyst", {"input": "how deep?"})
    return "supervisor: " + _tool_messages(messages)[-1]


supervisor = Agent(
    "supervisor", model=FunctionModel(_supervise), policy=SupervisorPolicy([analyst])
)


# -- structured output ---------------------------------------------------------------------------
class Verdict(BaseModel):
    """What the judge decides."""

    label: str
    score: int


judge = Agent(
    "judge",
    model=FunctionModel(
        _script(FunctionModel.tool_call("final_result", {"label": "ok", "score": 7}))
    ),
    output=Verdict,
)


# -- guardrails: an input guardrail trips before any model call ----------------------------------
@input_guardrail
def no_passwords(ctx: Any, text: str) -> bool:
    """Trip on the word password."""
    return "password" in text


guarded = Agent(
    "guarded",
    model=FunctionModel(lambda messages, info: CALLS.append("guarded:model") or "hello"),
    input_guardrails=[no_passwords],
)

# -- limits: max_turns and max_cost --------------------------------------------------------------
looper = Agent(
    "looper",
    model=FunctionModel(_script(FunctionModel.tool_call("tick", {}))),
    max_turns=2,
)


@looper.tool
def tick() -> str:
    """Tick."""
    CALLS.append("tick")
    return "tock"


spender = Agent(
    "spender",
    model=FunctionModel(_script(FunctionModel.tool_call("spend", {})), cost_per_call=0.01),
    max_cost=0.015,
)


@spender.tool
def spend() -> str:
    """Spend."""
    CALLS.append("spend")
    return "spent"


# -- approvals: a tool that needs a person's yes -------------------------------------------------
cautious = Agent(
    "cautious",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("delete", {"path": "/tmp/x"}),
            lambda messages: "cautious: " + _tool_messages(messages)[-1],
        )
    ),
)


@cautious.tool(needs_approval=True)
def delete(path: str) -> str:
    """Delete ``path``."""
    CALLS.append(f"delete:{path}")
    return f"deleted {path}"


overseer = Agent(
    "overseer",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("cautious", {"input": "delete /tmp/x"}),
            lambda messages: "overseer: " + _tool_messages(messages)[-1],
        )
    ),
    tools=[cautious.as_tool()],
)

# -- a question for a person, from a tool that takes a Context (and its deps) --------------------
asker = Agent(
    "asker",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("confirm", {"what": "the refund"}),
            lambda messages: "asker: " + _tool_messages(messages)[-1],
        )
    ),
)


@asker.tool
def confirm(ctx: Context[dict[str, str]], what: str) -> str:
    """Ask a person to confirm ``what``."""
    CALLS.append(f"confirm:{what}")
    answer = ctx.request_input(f"Confirm {what}?")
    return f"{ctx.deps['user']} said {answer} to {what}"


# -- governance: a policy engine denies a call -------------------------------------------------
shredder = Agent(
    "shredder",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("shred", {"doc": "secret-plan"}),
            lambda messages: "shredder: " + _tool_messages(messages)[-1],
        )
    ),
)


@shredder.tool
def shred(doc: str) -> str:
    """Shred ``doc``."""
    CALLS.append(f"shred:{doc}")
    return f"shredded {doc}"


HOOKS = PolicyHooks(
    policy_engine=PolicyEngine(
        [PolicyRule(action="deny", tool="shred", args={"doc": "secret"}, reason="secrets stay")]
    )
)

# -- lifecycle: a deferred call, its result delivered later -------------------------------------
waiter = Agent(
    "waiter",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("order", {"dish": "soup"}),
            lambda messages: "waiter: " + _tool_messages(messages)[-1],
        )
    ),
)


@waiter.tool
def order(dish: str) -> Deferred:
    """Order ``dish`` from the kitchen (it comes later)."""
    CALLS.append(f"order:{dish}")
    return Deferred(f"kitchen-{dish}")


# -- events while running: the tool waits until a reader outside saw it start -------------------
herald = Agent(
    "herald",
    model=FunctionModel(
        _script(FunctionModel.tool_call("wait_for_reader", {}), lambda m: _tool_messages(m)[-1])
    ),
)


@herald.tool
async def wait_for_reader() -> str:
    """Finish once the reader saw this call start (at most 20 s)."""
    deadline = time.monotonic() + 20
    while not READER_SAW_THE_CALL.is_set():
        if time.monotonic() > deadline:
            return "the reader saw nothing while the workflow ran"
        await asyncio.sleep(0.02)
    return "the reader saw the call while the workflow ran"


def _scripted(messages: list[Message], info: AgentInfo) -> Any:
    tool_messages = [m for m in messages if m.role == "tool"]
    if not tool_messages:
        return FunctionModel.tool_calls(
            [("slow_echo", {"text": "first"}), ("echo", {"text": "second"}), ("opaque", {})]
        )
    return " | ".join(p.content for m in tool_messages for p in m.parts)  # type: ignore[attr-defined]


scribe = Agent("scribe", model=FunctionModel(_scripted))


@scribe.tool
async def slow_echo(text: str) -> str:
    """Echo ``text`` after a pause (it finishes after ``echo``)."""
    await asyncio.sleep(0.3)
    return text


@scribe.tool
def echo(text: str) -> str:
    """Echo ``text``."""
    return text


@scribe.tool
def opaque() -> Any:
    """Return a value Temporal cannot carry (a lock is not picklable)."""
    return threading.Lock()


scribe_durable = TemporalDurability([scribe], activity_timeout=timedelta(seconds=10))


@workflow.defn(name="ScribeWorkflow")
class ScribeWorkflow:
    """One durable run of the scribe."""

    @workflow.run
    async def run(self, question: str) -> str:
        """Run the scribe."""
        return str((await scribe_durable.run(scribe, question)).output)


stranger = Agent("stranger", model=FunctionModel(lambda messages, info: "hi"))


@workflow.defn(name="StrangerWorkflow")
class StrangerWorkflow:
    """Runs an agent the TemporalDurability was not built with."""

    @workflow.run
    async def run(self) -> str:
        """Run the stranger (refused)."""
        return str((await scribe_durable.run(stranger, "hi")).output)


# -- retries happen once: a provider model on a loopback server that fails ----------------------
MODEL_SERVER = ChatCompletionsServer().start()  # a daemon thread, for the whole session
flaky = Agent(
    "flaky",
    model=resolve_model(
        "openai-chat:gpt-4o-mini",
        api_key="test-key",
        base_url=MODEL_SERVER.base_url,
        # the runtime's retries, without waiting: the only retries there may be
        runtime=ModelRuntime(retry=RetryPolicy(initial_delay=0.001, max_delay=0.005), breaker=None),
    ),
)


# -- payloads: a result the engine cannot carry, one over Temporal's limit, one offloaded ------
def _echo_result(messages: list[Message]) -> str:
    return "model saw: " + _tool_messages(messages)[-1][:300]


carrier = Agent(
    "carrier",
    model=FunctionModel(
        _script(
            lambda m: FunctionModel.tool_call(
                "fetch", {"what": "lock" if "lock" in m[-1].text else "all"}
            ),
            _echo_result,
        )
    ),
)


@carrier.tool
def fetch(what: str) -> Any:
    """Fetch a lock (not picklable) or a huge text (3 MB)."""
    CALLS.append(f"fetch:{what}")
    return threading.Lock() if what == "lock" else "x" * 3_000_000


hoarder = Agent(
    "hoarder",
    model=FunctionModel(
        _script(
            FunctionModel.tool_call("dump", {}),
            lambda m: f"model saw {len(_tool_messages(m)[-1])} characters",
        )
    ),
)


@hoarder.tool
def dump() -> str:
    """A large result (100,000 characters)."""
    CALLS.append("dump")
    return "y" * 100_000


OFFLOAD = Offload(
    f"sqlite:///{tempfile.mkdtemp(prefix='tether-offload-')}/results.db",
    over=10_000,
    max_chars=200_000,
)

CASES: dict[str, tuple[Agent, str, RunConfig | None]] = {
    "handoff": (triage, "refund A7", None),
    "agent_as_tool": (boss, "tides?", None),
    "policy": (supervisor, "how deep?", None),
    "structured_output": (judge, "judge this", None),
    "input_guardrail": (guarded, "my password is hunter2", None),
    "max_turns": (looper, "tick forever", None),
    "max_cost": (spender, "spend it all", None),
    "approval": (cautious, "delete /tmp/x", None),
    "nested_approval": (overseer, "have it deleted", None),
    "approval_timeout": (cautious, "delete /tmp/x", RunConfig(approval_timeout=0.3)),
    "question": (asker, "refund it", None),
    "governance": (shredder, "shred the plan", None),
    "deferred": (waiter, "soup please", None),
    "events": (herald, "wait for me", None),
    "flaky": (flaky, "hello", None),
    "opaque": (carrier, "fetch a lock", None),
    "huge": (carrier, "fetch it all", None),
    "offload": (hoarder, "dump", None),
}

#: The deps a case runs with (the others have none).
DEPS: dict[str, Any] = {"question": {"user": "ada"}}

Run = Callable[[Agent, str, RunConfig | None, Any], Awaitable[Result[Any]]]


def summary(result: Result[Any]) -> dict[str, Any]:
    """What a test checks of a Result (plain data, so it crosses any engine)."""
    output = result.output
    return {
        "state": result.state,
        "output": output.model_dump() if isinstance(output, BaseModel) else output,
        "last_agent": result.last_agent,
        "tools": [(t.tool_name, t.agent_name) for t in result.tool_executions],
        "subagents": [s.agent_name for s in result.subagent_executions],
        "tool_outputs": [t.output for t in result.tool_executions],
        "error": None,
    }


def by_setting(durability: Any) -> Run:
    """Runs with the plain ``agent.run``, the engine chosen by ``RunConfig(durability=...)``."""

    async def run(agent: Agent, text: str, config: RunConfig | None, deps: Any) -> Result[Any]:
        chosen = RunConfig(durability=durability).over(config)
        return await agent.run(text, deps=deps, run_config=chosen)

    return run


async def run_case(name: str, run: Run) -> dict[str, Any]:
    """Run the case ``name`` with the engine's ``run``; an error is reported by its name."""
    name = name.removeprefix("setting:")
    agent, text, config = CASES[name]
    try:
        return summary(await run(agent, text, config, DEPS.get(name)))
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc)}


# -- the Temporal side: one durability for every case, one workflow ------------------------------
_OWN = {"offload", "governance"}  # run by durabilities of their own
temporal_durable = TemporalDurability([a for n, (a, _, _) in CASES.items() if n not in _OWN])
temporal_offloading = TemporalDurability([hoarder], offload=OFFLOAD)
temporal_governed = TemporalDurability([shredder], policy_hooks=HOOKS)


@workflow.defn(name="FeatureWorkflow")
class FeatureWorkflow:
    """Runs one case."""

    @workflow.run
    async def run(self, name: str) -> dict[str, Any]:
        """Run the case ``name``."""

        async def run(agent: Agent, text: str, config: RunConfig | None, deps: Any) -> Result[Any]:
            durable = temporal_durable
            if agent is hoarder or agent is shredder:
                durable = temporal_offloading if agent is hoarder else temporal_governed
            return await durable.run(agent, text, deps=deps, run_config=config)

        if name.startswith("setting:"):
            return await run_case(name, by_setting(temporal_durable))
        return await run_case(name, run)


# -- the DBOS side: one durability, one workflow per way of running ------------------------------
dbos_durable = DBOSDurability()
dbos_offloading = DBOSDurability(offload=OFFLOAD)
dbos_governed = DBOSDurability(runner=Runner(store=None, telemetry=None, policy_hooks=HOOKS))


@DBOS.workflow(name="tether_feature")
async def dbos_feature(name: str) -> dict[str, Any]:
    """Run the case ``name``."""

    async def run(agent: Agent, text: str, config: RunConfig | None, deps: Any) -> Result[Any]:
        durable = dbos_durable
        if agent is hoarder or agent is shredder:
            durable = dbos_offloading if agent is hoarder else dbos_governed
        return await durable.run(agent, text, deps=deps, run_config=config)

    if name.startswith("setting:"):
        return await run_case(name, by_setting(dbos_durable))
    return await run_case(name, run)


@DBOS.workflow(name="tether_feature_published")
async def dbos_feature_published(name: str) -> dict[str, Any]:
    """Run the case ``name``, its events on the workflow's stream "events"."""

    async def run(agent: Agent, text: str, config: RunConfig | None, deps: Any) -> Result[Any]:
        return await dbos_durable.run_published(agent, text, "events", deps=deps, run_config=config)

    return await run_case(name, run)


orphan = Agent("orphan", model=FunctionModel(lambda messages, info: "hi"))
orphan_durable = TemporalDurability([orphan])  # its activities are on no worker


@workflow.defn(name="OrphanWorkflow")
class OrphanWorkflow:
    """Runs an agent whose activities the worker does not have."""

    @workflow.run
    async def run(self) -> str:
        """Run the orphan; return what failed."""
        try:
            await orphan_durable.run(orphan, "hi")
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return "ran"


TEMPORAL_WORKFLOWS = [FeatureWorkflow, ScribeWorkflow, StrangerWorkflow, OrphanWorkflow]
