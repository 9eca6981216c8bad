"""Fault-test fixtures: the stores of tests/store, and a cuttable proxy to PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from store.conftest import pg_url, sql_store, store  # noqa: F401 (fixtures)

from .proxy import Proxy


@pytest.fixture(scope="module")
def pg_proxy(pg_url: str) -> Iterator[tuple[Proxy, str]]:  # noqa: F811
    """A proxy in front of the test PostgreSQL, and the URL that goes through it."""
    parts = urlsplit(pg_url)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{proxy.port}"
    yield proxy, urlunsplit(parts._replace(netloc=netloc))
    proxy.close()
