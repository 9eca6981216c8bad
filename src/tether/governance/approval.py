"""Approvals: the gate that makes calls need a person's approval by policy, what a decision
carries (edited arguments, an expiry), and the digest an approval is bound to."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..context import Context
from ..errors import UserError

__all__ = ["Approval", "ApprovalGateHook", "args_digest", "as_approval", "expired"]


def args_digest(args: Any) -> str:
    """The SHA-256 of a call's arguments in canonical JSON (sorted keys, no spaces): what an
    approval is bound to. Equal arguments give equal digests whatever their key order."""
    text = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ApprovalGateHook:
    """Calls to the named ``tools`` (or all tools, when None and no predicate), or those the
    ``predicate`` picks, wait for approval exactly like ``needs_approval=True`` tools."""

    tools: Collection[str] | None = None
    predicate: Callable[[Context[Any], str, dict[str, Any]], bool] | None = None

    def requires(self, ctx: Context[Any], tool_name: str, args: dict[str, Any]) -> bool:
        """Whether this call needs approval."""
        if self.predicate is not None and self.predicate(ctx, tool_name, args):
            return True
        if self.tools is None:
            return self.predicate is None
        return tool_name in self.tools


@dataclass(frozen=True)
class Approval:
    """A person's decision on one pending tool call, for ``runner.resume(run_id,
    approvals={call_id: Approval(...)})`` (``True`` and a rejection reason string still work).

    - ``approved``: run the call (True) or reject it (False, with ``reason`` sent to the model);
    - ``args``: the arguments the person edited the call to; the call runs with them, the log
      records the edit (a ``tool_args_edited`` event before the decision), and the approval is
      bound to their digest;
    - ``expires_at`` (a Unix time or an aware datetime) or ``expires_in`` (seconds from when the
      decision is recorded): an approval not used by then is refused (an ``approval_expired``
      event says so) and the call asks for approval again;
    - ``args_digest``: the digest of the arguments the person was shown
      (``PendingApproval.args_digest``): the decision is refused, as a UserError, when the
      call pending under that id now has other arguments (the person never saw them).
    """

    approved: bool = True
    reason: str | None = None
    args: Mapping[str, Any] | None = None
    expires_at: float | datetime | None = None
    expires_in: float | None = None
    args_digest: str | None = None

    def deadline(self, now: float) -> float | None:
        """The Unix time this approval lapses at (None: never), recorded with the decision."""
        if self.expires_at is not None and self.expires_in is not None:
            raise UserError("an Approval takes expires_at or expires_in, not both")
        if self.expires_in is not None:
            if not _finite(self.expires_in):
                raise UserError(f"Approval expires_in must be a number, got {self.expires_in!r}")
            return now + float(self.expires_in)
        if isinstance(self.expires_at, datetime):
            if self.expires_at.tzinfo is None:
                raise UserError("Approval expires_at must be an aware datetime (with a timezone)")
            return self.expires_at.timestamp()
        if self.expires_at is not None and not _finite(self.expires_at):
            raise UserError(f"Approval expires_at must be a Unix time, got {self.expires_at!r}")
        return None if self.expires_at is None else float(self.expires_at)


_FIELDS = ("approved", "reason", "args", "expires_at", "expires_in", "args_digest")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def as_approval(call_id: str, verdict: Any) -> Approval:
    """A decision as given to resume, the CLI or the server, as an :class:`Approval`: ``True``
    approves, a string rejects with it as the reason, ``False`` rejects, a mapping holds
    Approval's fields. Anything else is a UserError naming the call."""
    if isinstance(verdict, Approval):
        decision = verdict
    elif verdict is True or verdict is False:
        decision = Approval(approved=verdict, reason=None if verdict else "rejected")
    elif isinstance(verdict, str):
        decision = Approval(approved=False, reason=verdict or "rejected")
    elif isinstance(verdict, Mapping):
        unknown = sorted(str(k) for k in verdict if k not in _FIELDS)
        if unknown:
            raise UserError(
                f"the decision for call {call_id!r} has unknown field(s) {', '.join(unknown)} "
                f"(known: {', '.join(_FIELDS)})"
            )
        approved = verdict.get("approved", True)
        if not isinstance(approved, bool):
            raise UserError(f"the decision for call {call_id!r}: approved must be true or false")
        decision = Approval(**{**dict(verdict), "approved": approved})
    else:
        raise UserError(
            f"the decision for call {call_id!r} must be True, a rejection reason, or an "
            f"Approval, got {type(verdict).__name__}"
        )
    if decision.reason is not None and not isinstance(decision.reason, str):
        raise UserError(f"the decision for call {call_id!r}: reason must be a string")
    if decision.args is not None:
        if not isinstance(decision.args, Mapping):
            raise UserError(f"the edited arguments for call {call_id!r} must be a JSON object")
        if not decision.approved:
            raise UserError(f"call {call_id!r}: edited arguments come with an approval only")
    decision.deadline(0.0)  # the expiry's shape is checked now, not when the call runs
    return decision


def expired(expires_at: float | None, now: float | None = None) -> bool:
    """Whether an approval recorded with ``expires_at`` has lapsed."""
    return expires_at is not None and (time.time() if now is None else now) >= expires_at
