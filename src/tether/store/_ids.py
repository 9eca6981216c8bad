"""Run ids are checked up front, the same for every store, so no database refuses one later."""

from __future__ import annotations

import re

from ..errors import UserError

__all__ = ["MAX_RUN_ID_LENGTH", "check_run_id", "check_thread_id"]

#: Longest run id accepted (characters); PostgreSQL's index would refuse ~2.7 KB.
MAX_RUN_ID_LENGTH = 256
# Control characters (NUL among them: PostgreSQL text cannot hold it) and lone surrogates
# (not encodable as UTF-8, so no database can store them).
_BAD = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def check_run_id(run_id: object) -> str:
    """``run_id`` if every store can keep it, else :class:`UserError` saying why."""
    return _check("run id", run_id)


def check_thread_id(thread_id: object) -> str:
    """``thread_id`` if every store can keep it (the rules of run ids), else :class:`UserError`."""
    return _check("thread id", thread_id)


def _check(kind: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise UserError(f"a {kind} must be a non-empty string, got {value!r}")
    if len(value) > MAX_RUN_ID_LENGTH:
        raise UserError(
            f"{kind} {value[:40]!r}... is {len(value)} characters long; the limit is "
            f"{MAX_RUN_ID_LENGTH} (use a hash of a longer key)"
        )
    bad = _BAD.search(value)
    if bad is not None:
        raise UserError(
            f"{kind} {value!r} holds {bad.group()!r} at position {bad.start()}: {kind}s may "
            "not contain control characters or unpaired surrogates"
        )
    return value
