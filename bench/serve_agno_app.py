"""The same agent as tests/server/load_app.py, served by Agno's AgentOS (bench/serve_bench.py).

Run inside the Agno venv that bench/serve_bench.py builds: ``uvicorn serve_agno_app:app``. The
model is the loopback server at ``TETHER_TEST_MODEL_URL``; sessions and runs go to PostgreSQL
(``AGNO_DB_URL``, a schema of its own ``AGNO_DB_SCHEMA``) when given, like tether's store.
Agno's telemetry is off: nothing leaves the machine.
"""

from __future__ import annotations

import os

from agno.agent import Agent
from agno.models.openai import OpenAIChat
from agno.os import AgentOS


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


_db = None
if os.environ.get("AGNO_DB_URL"):
    from agno.db.postgres import PostgresDb

    _db = PostgresDb(db_url=os.environ["AGNO_DB_URL"], db_schema=os.environ["AGNO_DB_SCHEMA"])

agent = Agent(
    id="assistant",
    name="assistant",
    model=OpenAIChat(id="gpt-4o-mini", base_url=os.environ["TETHER_TEST_MODEL_URL"], api_key="k"),
    tools=[add],
    db=_db,
    telemetry=False,
)
app = AgentOS(agents=[agent], telemetry=False).get_app()
