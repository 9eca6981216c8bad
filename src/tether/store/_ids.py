"""Run ids are checked up front, the same for every store, so no database refuses one later."""

from __future__ import annotations

import os
import re

from ..errors import UserError

__all__ = ["MAX_RUN_ID_LENGTH", "check_run_id", "check_thread_id", "new_run_id"]

#: Longest run id accepted (characters); PostgreSQL's index would refuse ~2.7 KB.
MAX_RUN_ID_LENGTH = 256
# Control characters (NUL among them: PostgreSQL text cannot hold it) and lone surrogates
# (not encodable as UTF-8, so no database can store them).
_BAD = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


# A version-4 UUID's bits: the version nibble and the variant's two top bits are fixed.
_UUID4_KEEP = ((1 << 128) - 1) & ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_run_id() -> str:
    """A fresh run id: ``uuid.uuid4().hex`` exactly (32 hex digits of a random version-4 UUID),
    made without building a UUID object (every run without an id of its own makes one)."""
    return f"{int.from_bytes(os.urandom(16), 'big') & _UUID4_KEEP | _UUID4_SET:032x}"


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
