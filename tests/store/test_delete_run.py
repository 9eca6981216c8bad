"""Deleting a run (retention): its row and its whole event log go, other runs stay."""

from __future__ import annotations

from typing import Any

from tests.store.test_stores import a_run, stamp


async def test_delete_run_removes_the_log_and_the_row_only(store: Any) -> None:
    await store.append("keep", stamp("keep", a_run("keep")))
    await store.append("drop", stamp("drop", a_run("drop")))
    assert await store.delete_run("drop") is True
    assert await store.load("drop") == [] and await store.run_info("drop") is None
    assert [e.type for e in await store.load("keep")] and await store.run_info("keep") is not None
    assert await store.delete_run("drop") is False
