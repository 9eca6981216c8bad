"""Agents for the batch and serve tests, imported by path on Ray workers
(``tests.distributed.agents:...``; ``served`` is what `tether serve` serves in the tests).

The model is the loopback Chat Completions server at $TETHER_TEST_MODEL_URL. ``record`` appends
to the ledger file (one line per real execution); ``crash_once`` SIGKILLs its own worker process
the first time it runs for an item listed in $TETHER_TEST_CRASH.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from tether import Agent
from tether.models import OpenAIChatModel

# Read when the module is imported: tests set these first (see conftest.py).
MODEL_URL = os.environ.get("TETHER_TEST_MODEL_URL", "http://127.0.0.1:9/v1")
LEDGER = Path(os.environ.get("TETHER_TEST_LEDGER", "/tmp/tether-batch-ledger"))

batcher = Agent(
    "batcher",
    model=OpenAIChatModel("batch-model", base_url=MODEL_URL, api_key="test-key"),
    instructions="Record the item, check it, answer.",
    max_turns=6,
)


payer = Agent(
    "payer",
    model=OpenAIChatModel("batch-model", base_url=MODEL_URL, api_key="test-key"),
    instructions="Pay for the item.",
    max_turns=4,
)

served = [batcher, payer]


def _write_ledger(item: str) -> None:
    node = "-"
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()
    with LEDGER.open("a") as ledger:
        ledger.write(f"{item} {os.getpid()} {node}\n")


@batcher.tool
def record(item: str) -> str:
    """Record an item (a side effect: a line in the ledger)."""
    _write_ledger(item)
    return f"recorded {item}"


@payer.tool(needs_approval=True)
def pay(item: str) -> str:
    """Pay for an item (needs approval; a line in the ledger)."""
    _write_ledger(item)
    return f"paid for {item}"


@batcher.tool(idempotent=True)
def crash_once(item: str) -> str:
    """Check an item (kills the worker once for the items in $TETHER_TEST_CRASH)."""
    marker = Path(f"{LEDGER}.{item}.crashed")
    if item in os.environ.get("TETHER_TEST_CRASH", "").split(",") and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return f"checked {item}"
