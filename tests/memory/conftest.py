"""The PostgreSQL with pgvector the memory tests use (started by scripts/services.sh)."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from tests.store.conftest import ROOT

DEFAULT_PGVECTOR_URL = "postgresql://tether:tether@127.0.0.1:54330/tether_test"


def pgvector_url() -> str:
    """The pgvector server's URL; started with scripts/pgvector.sh when it is not running."""
    port = os.environ.get("TETHER_PGVECTOR_PORT", "54330")  # as scripts/pgvector.sh reads it
    given = "TETHER_TEST_PGVECTOR_URL" in os.environ
    url = os.environ.get("TETHER_TEST_PGVECTOR_URL", DEFAULT_PGVECTOR_URL.replace("54330", port))
    for attempt in range(2):
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                if conn.execute("select 1 from pg_extension where extname = 'vector'").fetchone():
                    return url
                problem = "the vector extension is not created in that database"
        except psycopg.OperationalError as exc:
            problem = str(exc)
        if attempt or given:
            pytest.fail(
                f"the pgvector tests need PostgreSQL with pgvector at {url} ({problem}); run "
                "`make services` (scripts/pgvector.sh) or set TETHER_TEST_PGVECTOR_URL",
                pytrace=False,
            )
        subprocess.run(["bash", str(ROOT / "scripts" / "pgvector.sh")], check=False, timeout=600)
    raise AssertionError("unreachable")
