"""A read-only view of a WAL database's wal-index (its ``-shm`` file), to tell whether the
write transaction a connection just opened may start the WAL over.

A write starts the WAL over (and syncs the new WAL header: the one sync of a commit under
``synchronous=NORMAL``) when, as its transaction began, every frame of the WAL had been copied
into the database (``nBackfill == mxFrame``; an empty WAL too: its first frame writes the
header). Both counters sit at fixed offsets of the wal-index (SQLite's file format, in the
machine's byte order): ``mxFrame`` in the index header (offset 16), ``nBackfill`` in the
checkpoint information after the header's two copies (offset 96). Read once the write lock
is held (``BEGIN IMMEDIATE``), they cannot move the wrong way: no other writer adds frames, and
a checkpoint that copies more only makes the answer "may restart" (the safe side).

The answer only decides where a commit runs (a sync kept off the event loop), never whether it
is durable: a wrong one costs a stall of the loop, not data. The file is mapped, not read, so
the check is a memory read. It stays valid while the
connection is open: SQLite only truncates the ``-shm`` file when a first connection opens the
database, and this process's open connection rules that out.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct

__all__ = ["WalIndex"]

_U32 = struct.Struct("=I")
_MX_FRAME = 16  # WalIndexHdr.mxFrame
_BACKFILL = 96  # WalCkptInfo.nBackfill, after the two 48-byte copies of the header
_LENGTH = 136  # the header copies and the checkpoint information


class WalIndex:
    """The wal-index of the database at ``path`` (:meth:`open`), mapped read-only."""

    def __init__(self, view: mmap.mmap) -> None:
        self._view = view

    @classmethod
    def open(cls, path: str) -> WalIndex | None:
        """The wal-index of ``path``, or None when there is none to read (no ``-shm`` file:
        an in-memory wal-index, or not WAL at all)."""
        try:
            fd = os.open(path + "-shm", os.O_RDONLY)
        except OSError:
            return None
        try:
            if os.fstat(fd).st_size < _LENGTH:
                return None
            return cls(mmap.mmap(fd, _LENGTH, access=mmap.ACCESS_READ))
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)  # the mapping keeps the file

    def continues(self) -> bool:
        """Whether the write transaction open now goes on with the WAL as it is: False when
        it may start the WAL over (see the module)."""
        view = self._view
        backfilled: int = _U32.unpack_from(view, _BACKFILL)[0]
        frames: int = _U32.unpack_from(view, _MX_FRAME)[0]
        return backfilled != frames

    def close(self) -> None:
        """Unmap it."""
        with contextlib.suppress(BufferError, ValueError):
            self._view.close()
