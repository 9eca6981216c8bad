"""The agents that `tether serve` replicas serve in tests/server/test_replicas.py.

Their model is the loopback Chat Completions server whose URL is in ``TETHER_TEST_MODEL_URL``;
tool calls append to the ledger file ``TETHER_TEST_LEDGER`` (one line per execution).
"""

from __future__ import annotations

import os
from pathlib import Path

from tether import Agent

_URL = os.environ["TETHER_TEST_MODEL_URL"]
_LEDGER = Path(os.environ["TETHER_TEST_LEDGER"])

worker = Agent(
    "worker", model="openai-chat:test-model", base_url=_URL, api_key="test-key", max_turns=5
)


@worker.tool
def record(item: str) -> str:
    """Record an item (a side effect: one ledger line per execution)."""
    with _LEDGER.open("a") as ledger:
        ledger.write(f"{os.getpid()} {item}\n")
    return f"recorded {item}"


@worker.tool(needs_approval=True)
def pay(amount: int) -> str:
    """Pay an amount (needs approval)."""
    with _LEDGER.open("a") as ledger:
        ledger.write(f"{os.getpid()} pay {amount}\n")
    return f"paid {amount}"


agents = [worker]
