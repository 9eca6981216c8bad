"""The store's typed error: the database failed or holds what tether cannot read."""

from __future__ import annotations

from ..errors import LogFormatError, TetherError

__all__ = ["StoreError"]


class StoreError(TetherError):
    """The store could not do what was asked: the database is unreachable (after retries),
    the disk is full or gone, or a stored event cannot be encoded or read back.

    The message names the cause (and the run and position when there is one). A run that
    fails this way keeps what was checkpointed before: once the store is back,
    ``runner.resume(run_id)`` continues it.
    """

    def __init__(self, message: str, *, run_id: str | None = None, seq: int | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id
        #: The position in the run's log the error concerns, when there is one.
        self.seq = seq


class _UnreadableLog(StoreError, LogFormatError):
    """A stored event in a format this tether cannot read: a StoreError naming the run and
    position, and a LogFormatError naming the log's version (``except`` either one)."""

    def __init__(self, message: str, *, run_id: str, seq: int | None, version: int | None) -> None:
        super().__init__(message, run_id=run_id, seq=seq)
        self.version = version
