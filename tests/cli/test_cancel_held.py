"""`tether runs cancel` of a run whose lease a live process holds and that does not stop it (a
``run_lease`` block that reads no cancel marks): the command marks the lease, waits ``--wait``
seconds, then gives up with one line; the mark stays for the holder. Once the lease is free the
cancel goes through."""

from __future__ import annotations

import asyncio
import json

from tether.store.lease import owner_id
from tether.store.sqlite import SQLiteStore

from .conftest import Cli


def test_a_cancel_the_holder_never_acts_on_ends_in_one_line_and_leaves_the_mark(cli: Cli) -> None:
    done = cli.here("run", "cli_app:agent", "deploy it")
    assert done.code == 3, done.out + done.err
    [row] = json.loads(cli.here("runs", "ls", "--json", "--state", "awaiting_approval").out)
    run_id = row["run_id"]
    store = SQLiteStore(str(cli.cwd / "runs.db"))
    holder = owner_id()  # this process: alive, so its lease is not freed as a dead one's

    async def hold() -> None:
        assert await store.acquire_lease(run_id, holder, 60.0)

    asyncio.run(hold())
    refused = cli.here("runs", "cancel", run_id, "--reason", "superseded", "--wait", "0.3")
    assert refused.code == 2
    [line] = refused.err.strip().splitlines()
    assert run_id in line and "asked to cancel it" in line and holder in line
    shown = json.loads(cli.here("runs", "show", run_id, "--json").out)
    assert shown["state"] == "awaiting_approval"  # nothing written without the lease

    async def mark_then_release() -> str | None:
        lease = await store.get_lease(run_id)
        await store.release_lease(run_id, holder)
        return None if lease is None else lease.cancel_requested

    assert asyncio.run(mark_then_release()) == "superseded"
    cancelled = cli.here("runs", "cancel", run_id, "--reason", "superseded")
    assert cancelled.code == 0, cancelled.err
    assert json.loads(cli.here("runs", "show", run_id, "--json").out)["state"] == "cancelled"
