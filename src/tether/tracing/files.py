"""Trace files on disk: where they live, safe names, reading them back.

A JSONL trace is ``<dir>/<trace_id>.jsonl``, one event per line, as :meth:`Event.to_dict` gives
it; a trace holds its root run and the runs of its subagents. The directory is
``.tether/traces`` unless ``TETHER_TRACE_DIR`` or an explicit path says otherwise. Trace ids that
come from outside (URLs, the command line) go through :func:`check_trace_id`, and every id is
turned into its file name by :func:`file_name_for`, so no id can name a file outside the
directory (an id holding ``/``, such as ``tenant/run-1``, is one file of the directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..events import Event, event_from_dict
from .spans import Trace, build_trace

__all__ = [
    "TraceFile",
    "check_trace_id",
    "default_trace_dir",
    "file_name_for",
    "list_trace_files",
    "load_trace",
    "read_events",
    "trace_path",
]

DEFAULT_TRACE_DIR = ".tether/traces"
_PART = r"[A-Za-z0-9][A-Za-z0-9_.:\-]*"
_ID = re.compile(rf"{_PART}(?:/{_PART})*")
_HASHED = re.compile(r"-[0-9a-f]{16}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:\-]")


def default_trace_dir() -> Path:
    """``$TETHER_TRACE_DIR``, else ``.tether/traces`` (relative to the working directory)."""
    return Path(os.environ.get("TETHER_TRACE_DIR") or DEFAULT_TRACE_DIR)


def check_trace_id(trace_id: str) -> str:
    """``trace_id`` if it is a trace id, else UserError: letters, digits and ``_ . : -``, in
    parts joined by ``/`` that each start with a letter or digit, no ``..``, at most 200
    characters."""
    if (
        not isinstance(trace_id, str)
        or len(trace_id) > _MAX_STEM
        or not _ID.fullmatch(trace_id)
        or ".." in trace_id
    ):
        raise UserError(
            f"invalid trace id {trace_id[:60] if isinstance(trace_id, str) else trace_id!r}: "
            "use letters, digits and _ . : - in parts joined by '/' "
            "(at most 200 characters, no '..')"
        )
    return trace_id


def file_name_for(trace_id: str) -> str:
    """The file stem for a trace id (ids we write ourselves): a safe id is its own stem; any
    other has its unsafe characters made ``_``, is cut to 180 characters and gets a hash of
    the whole id, so two ids (``tenant/a`` and ``tenant_a``, long ids sharing a prefix) never
    share a file."""
    stem = _UNSAFE.sub("_", trace_id).replace("..", "__").lstrip(".") or "trace"
    if stem == trace_id and len(stem) <= _MAX_STEM:
        return stem
    digest = hashlib.sha256(trace_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{stem[:180]}-{digest}"


_MAX_STEM = 200


def trace_path(directory: Path, trace_id: str) -> Path:
    """The JSONL file of a trace id given from outside (validated; named as the exporter
    names it, so ``tenant/run-1`` is found)."""
    return directory / f"{file_name_for(check_trace_id(trace_id))}.jsonl"


def read_events(path: Path) -> list[Event]:
    """The events of a JSONL trace file (a torn line, from a crash, is skipped); a line that
    is JSON but not an event this tether knows is a :class:`UserError` naming the file and
    the line."""
    events: list[Event] = []
    with path.open(encoding="utf-8", errors="surrogateescape") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            except RecursionError:  # JSON nested deeper than Python parses: no event either
                raise _unreadable(path, number, "RecursionError: nested too deeply") from None
            try:
                events.append(event_from_dict(data))
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
                raise _unreadable(path, number, f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return events


def _unreadable(path: Path, number: int, why: str) -> UserError:
    return UserError(f"{path}:{number}: not an event this version of tether can read ({why})")


@dataclass(slots=True)
class TraceFile:
    """A trace file found in a directory."""

    trace_id: str
    path: Path
    mtime: float
    size: int


def list_trace_files(directory: Path) -> list[TraceFile]:
    """The JSONL traces of ``directory``, most recently written first ([] if it is missing)."""
    found: list[TraceFile] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.is_file() and entry.name.endswith(".jsonl"):
            stat = entry.stat()
            stem = entry.name[: -len(".jsonl")]
            trace_id = _named_id(Path(entry.path), stem) if _HASHED.search(stem) else stem
            found.append(TraceFile(trace_id, Path(entry.path), stat.st_mtime, stat.st_size))
    found.sort(key=lambda t: t.mtime, reverse=True)
    return found


def _named_id(path: Path, stem: str) -> str:
    """The trace id a hashed file name stands for (``tenant/a`` for ``tenant_a-<hash>``): the
    run id of its first event, when that id gives this name; else the name itself."""
    try:
        with path.open(encoding="utf-8", errors="surrogateescape") as f:
            run_id = json.loads(f.readline()).get("run_id")
    except (OSError, ValueError, AttributeError):
        return stem
    return run_id if isinstance(run_id, str) and file_name_for(run_id) == stem else stem


def load_trace(directory: Path, trace_id: str) -> Trace:
    """The trace with this id from ``directory`` (UserError when there is none)."""
    path = trace_path(directory, trace_id)
    if not path.is_file():
        raise UserError(f"no trace {trace_id!r} in {directory}")
    return build_trace(read_events(path), trace_id=trace_id)
