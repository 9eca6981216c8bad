"""Run ids are checked up front, the same for every store, so no database refuses one later."""

from __future__ import annotations

import re

from ..errors import UserError

__all__ = ["MAX_RUN_ID_LENGTH", "check_run_id"]

#: Longest run id accepted (characters); PostgreSQL's index would refuse ~2.7 KB.
MAX_RUN_ID_LENGTH = 256
# Control characters (NUL among them: PostgreSQL text cannot hold it) and lone surrogates
# (not encodable as UTF-8, so no database can store them).
_BAD = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def check_run_id(run_id: object) -> str:
    """``run_id`` if every store can keep it, else :class:`UserError` saying why."""
    if not isinstance(run_id, str) or not run_id:
        raise UserError(f"a run id must be a non-empty string, got {run_id!r}")
    if len(run_id) > MAX_RUN_ID_LENGTH:
        raise UserError(
            f"run id {run_id[:40]!r}... is {len(run_id)} characters long; the limit is "
            f"{MAX_RUN_ID_LENGTH} (use a hash of a longer key)"
        )
    bad = _BAD.search(run_id)
    if bad is not None:
        raise UserError(
            f"run id {run_id!r} holds {bad.group()!r} at position {bad.start()}: run ids may "
            "not contain control characters or unpaired surrogates"
        )
    return run_id
