"""Agents and workflows whose runs keep their tether event log (and threads) in a tether store,
under DBOS and Temporal (tests/durable/test_engine_log.py). Registered with the package's DBOS
instance and Temporal worker by tests/durable/conftest.py.

The store is one SQLite file in a temp folder made at import (the durabilities are built at
import, as workflows' module-level objects are); :data:`STORE_URL` names it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from dbos import DBOS
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tether import Agent, Context, Message
    from tether.durable import DBOSDurability
    from tether.durable.temporal import TemporalDurability
    from tether.memory import MemorySQLite
    from tether.models import FunctionModel
    from tether.models.testing import AgentInfo

FOLDER = Path(tempfile.mkdtemp(prefix="tether-engine-log-"))
STORE_URL = f"sqlite:///{FOLDER}/runs.db"
#: Every call a tool really made, as "agent:tool:args".
CALLS: list[str] = []


def _ledger_model(messages: list[Message], info: AgentInfo) -> Any:
    done = sum(1 for m in messages if m.role == "tool")
    if done == 0:
        return FunctionModel.tool_call("add", {"a": 20, "b": 22})
    if done == 1:
        return FunctionModel.tool_call("add", {"a": 1, "b": 2})
    return "The sums are 42 and 3."


def make_ledger(name: str) -> Agent:
    """An agent that calls ``add`` twice, then answers (five steps)."""
    agent = Agent(name, model=FunctionModel(_ledger_model))

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        CALLS.append(f"{name}:add:{a},{b}")
        return a + b

    return agent


def _chat_model(messages: list[Message], info: AgentInfo) -> str:
    users = [m.text for m in messages if m.role == "user"]
    return f"heard {len(users)}: " + " / ".join(users)


def _keeper_model(messages: list[Message], info: AgentInfo) -> Any:
    last_user = max(i for i, m in enumerate(messages) if m.role == "user")
    now = messages[last_user:]  # this run's turn (the thread's earlier ones come before)
    results = [p.content for m in now if m.role == "tool" for p in m.parts]  # type: ignore[attr-defined]
    if results:
        return str(results[-1])
    said = now[0].text or ""
    if said.startswith("remember "):
        return FunctionModel.tool_call("keep", {"fact": said.removeprefix("remember ")})
    return FunctionModel.tool_call("look", {})


MEMORY = MemorySQLite(str(FOLDER / "memory.db"))


def make_keeper(name: str) -> Agent:
    """An agent that keeps a fact in its memory (keyed: a repeated keep replaces it), or
    tells the facts it has."""
    agent = Agent(name, model=FunctionModel(_keeper_model), memory=MEMORY)

    @agent.tool
    async def keep(ctx: Context[Any], fact: str) -> str:
        """Remember a fact."""
        CALLS.append(f"{name}:keep:{fact}")
        await ctx.memory.remember(fact, key="fact")
        return f"kept {fact}"

    @agent.tool
    async def look(ctx: Context[Any]) -> str:
        """Tell the facts remembered."""
        facts = await ctx.memory.facts()
        return "facts: " + ", ".join(f.text for f in facts)

    return agent


def _gate_model(messages: list[Message], info: AgentInfo) -> Any:
    if not any(m.role == "tool" for m in messages):
        return FunctionModel.tool_call("ship", {"what": "crate"})
    return "done: " + str(messages[-1].parts[0].content)  # type: ignore[attr-defined]


def make_gate(name: str) -> Agent:
    """An agent whose one tool call needs a person's approval."""
    agent = Agent(name, model=FunctionModel(_gate_model))

    @agent.tool(needs_approval=True)
    def ship(what: str) -> str:
        """Ship something (a person approves first)."""
        CALLS.append(f"{name}:ship:{what}")
        return f"shipped {what}"

    return agent


def _retried_model() -> Any:
    """A model whose first answer of each run fails (a 503), retried once by the runtime."""
    from tether.errors import ModelProviderError
    from tether.models.resilience import ModelRuntime
    from tether.models.retry import RetryPolicy

    failed: set[int] = set()

    def answer(messages: list[Message], info: AgentInfo) -> str:
        if id(messages[0]) not in failed:
            failed.add(id(messages[0]))
            raise ModelProviderError("busy", status=503)
        return "answered after a retry"

    runtime = ModelRuntime(retry=RetryPolicy(initial_delay=0.001, max_delay=0.005), breaker=None)
    return runtime.wrap(FunctionModel(answer))


#: What a failing tool's exception quotes (tests/durable/test_engine_secrets.py).
LEAKED_KEY = "sk-proj-engineLeak0123456789abcd"
LEAKED_BEARER = "eyJengine.leaked-bearer.987654321"


def _leaky_model(messages: list[Message], info: AgentInfo) -> Any:
    if not any(m.role == "tool" for m in messages):
        return FunctionModel.tool_call("login", {"user": "ops"})
    return "login failed"


def make_leaky(name: str) -> Agent:
    """An agent whose one tool fails with an exception quoting a key and a bearer token."""
    agent = Agent(name, model=FunctionModel(_leaky_model))

    @agent.tool
    def login(user: str) -> str:
        """Log in."""
        raise PermissionError(f"{user}: Authorization: Bearer {LEAKED_BEARER} key={LEAKED_KEY}")

    return agent


def _refusing_model(messages: list[Message], info: AgentInfo) -> Any:
    from tether.errors import ModelProviderError

    said = f"Incorrect API key provided: {LEAKED_KEY}"
    raise ModelProviderError(said, status=401, body={"error": {"message": said}})


dbos_leaky = make_leaky("leaky_dbos")
temporal_leaky = make_leaky("leaky_temporal")
dbos_refused = Agent("refused_dbos", model=FunctionModel(_refusing_model))
temporal_refused = Agent("refused_temporal", model=FunctionModel(_refusing_model))
dbos_retried = Agent("retried_dbos", model=_retried_model())
dbos_ledger = make_ledger("ledger_dbos")
temporal_ledger = make_ledger("ledger_temporal")
dbos_chat = Agent("chat_dbos", model=FunctionModel(_chat_model))
temporal_chat = Agent("chat_temporal", model=FunctionModel(_chat_model))
dbos_keeper = make_keeper("keeper_dbos")
dbos_gate = make_gate("gate_dbos")
temporal_gate = make_gate("gate_temporal")
temporal_keeper = make_keeper("keeper_temporal")

dbos_logged = DBOSDurability(store=STORE_URL)
temporal_logged = TemporalDurability(
    [
        temporal_ledger,
        temporal_chat,
        temporal_keeper,
        temporal_gate,
        temporal_leaky,
        temporal_refused,
    ],
    store=STORE_URL,
)


@DBOS.workflow()
async def dbos_ledger_workflow(question: str) -> str:
    """One logged run of the ledger."""
    return str((await dbos_logged.run(dbos_ledger, question)).output)


@DBOS.workflow()
async def dbos_chat_workflow(question: str, thread_id: str) -> str:
    """One turn of a conversation thread kept in the store."""
    return str((await dbos_logged.run(dbos_chat, question, thread_id=thread_id)).output)


@DBOS.workflow()
async def dbos_keeper_workflow(question: str, thread_id: str) -> str:
    """One run of the keeper on a thread."""
    return str((await dbos_logged.run(dbos_keeper, question, thread_id=thread_id)).output)


@DBOS.workflow()
async def dbos_retried_workflow(question: str) -> str:
    """One run whose model call the runtime retries (a retry event inside the model step)."""
    return str((await dbos_logged.run(dbos_retried, question)).output)


@DBOS.workflow()
async def dbos_leaky_workflow(question: str) -> str:
    """One run whose tool fails quoting secrets."""
    return str((await dbos_logged.run(dbos_leaky, question)).output)


@DBOS.workflow()
async def dbos_refused_workflow(question: str) -> str:
    """One run whose model refuses the key, quoting it."""
    return str((await dbos_logged.run(dbos_refused, question)).output)


@DBOS.workflow()
async def dbos_gate_workflow(question: str) -> str:
    """One run of the gate: it waits for an approval."""
    return str((await dbos_logged.run(dbos_gate, question)).output)


@workflow.defn(name="EngineLogGate")
class GateWorkflow:
    """One run of the gate: it waits for an approval."""

    @workflow.run
    async def run(self, question: str) -> str:
        return str((await temporal_logged.run(temporal_gate, question)).output)


@workflow.defn(name="EngineLogKeeper")
class KeeperWorkflow:
    """One run of the keeper on a thread."""

    @workflow.run
    async def run(self, question: str, thread_id: str) -> str:
        result = await temporal_logged.run(temporal_keeper, question, thread_id=thread_id)
        return str(result.output)


@workflow.defn(name="EngineLogLedger")
class LedgerWorkflow:
    """One logged run of the ledger."""

    @workflow.run
    async def run(self, question: str) -> str:
        return str((await temporal_logged.run(temporal_ledger, question)).output)


@workflow.defn(name="EngineLogLeaky")
class LeakyWorkflow:
    """One run whose tool fails quoting secrets."""

    @workflow.run
    async def run(self, question: str) -> str:
        return str((await temporal_logged.run(temporal_leaky, question)).output)


@workflow.defn(name="EngineLogRefused")
class RefusedWorkflow:
    """One run whose model refuses the key, quoting it: the error's text is the result (an
    exception would fail the workflow task, retried, not the workflow)."""

    @workflow.run
    async def run(self, question: str) -> str:
        try:
            return str((await temporal_logged.run(temporal_refused, question)).output)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"


@workflow.defn(name="EngineLogChat")
class ChatWorkflow:
    """One turn of a conversation thread kept in the store."""

    @workflow.run
    async def run(self, question: str, thread_id: str) -> str:
        result = await temporal_logged.run(temporal_chat, question, thread_id=thread_id)
        return str(result.output)


BROKEN_URL = f"sqlite:///{FOLDER}/not-a-store.db?mode=ro"  # a read-only file, no tables
(FOLDER / "not-a-store.db").write_bytes(b"")
broken_dbos = DBOSDurability(store=BROKEN_URL)
broken_ledger = make_ledger("ledger_broken")
broken_temporal = TemporalDurability([broken_ledger], store=BROKEN_URL)


@DBOS.workflow()
async def dbos_broken_workflow(question: str) -> str:
    """A run whose log cannot be written: it fails, saying so."""
    return str((await broken_dbos.run(dbos_ledger, question)).output)


@workflow.defn(name="EngineLogBroken")
class BrokenWorkflow:
    """A run whose log cannot be written: it fails, saying so."""

    @workflow.run
    async def run(self, question: str) -> str:
        return str((await broken_temporal.run(broken_ledger, question)).output)


unstored_dbos = DBOSDurability()
unstored_chat = Agent("chat_unstored", model=FunctionModel(_chat_model))
unstored_temporal = TemporalDurability([unstored_chat])


@DBOS.workflow()
async def dbos_unstored_workflow(question: str, thread_id: str) -> str:
    """A thread without a store: refused at start."""
    return str((await unstored_dbos.run(dbos_chat, question, thread_id=thread_id)).output)


@workflow.defn(name="EngineLogUnstored")
class UnstoredWorkflow:
    """A thread without a store: refused at start."""

    @workflow.run
    async def run(self, question: str, thread_id: str) -> str:
        result = await unstored_temporal.run(unstored_chat, question, thread_id=thread_id)
        return str(result.output)


TEMPORAL_WORKFLOWS = [
    LedgerWorkflow,
    LeakyWorkflow,
    RefusedWorkflow,
    ChatWorkflow,
    KeeperWorkflow,
    GateWorkflow,
    UnstoredWorkflow,
    BrokenWorkflow,
]
