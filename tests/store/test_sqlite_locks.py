"""A SQLite store keeps SQLite's own file locks for as long as it is open.

POSIX record locks belong to the process and the file, not to the descriptor: closing *any*
descriptor of a file drops every lock the process holds on it. Code that opens and closes the
database's ``-shm`` (or the database file) beside SQLite's connection silently drops SQLite's
locks; another process opening the database then takes itself for the first, starts the
shared memory over under the live connection (a SIGBUS, or a corrupt WAL index). A child
process looks at the lock SQLite holds while a connection is open (the "DMS" byte of the
``-shm`` file)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from tether.events import RunStarted, TurnStarted
    from tether.store.sqlite import SQLiteStore

    async def main() -> None:
        store = SQLiteStore(sys.argv[1])
        await store.append("r", [RunStarted(run_id="r", seq=1, at=1.0, agent="a", input=[])])
        await store.append("r", [TurnStarted(run_id="r", seq=2, at=2.0, turn=1, agent="a")])
        await store.load("r")
        print("open", flush=True)
        sys.stdin.readline()  # held open until the test has looked
        await store.close()

    asyncio.run(main())
    """
)

_DMS_BYTE = 128  # SQLite's unix VFS: (22 + 8) * 4 for the locks, then the DMS byte


def test_an_open_store_keeps_sqlites_shared_memory_lock(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        fd = os.open(f"{path}-shm", os.O_RDWR)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _DMS_BYTE)
            except OSError:
                held = True  # SQLite's shared lock of the open connection: as it must be
            else:
                held = False
        finally:
            os.close(fd)
        assert held, "the open store lost SQLite's lock on its -shm file"
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(30) == 0
        assert holder.stdout is not None
        holder.stdout.close()
