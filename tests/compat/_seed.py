"""Run a seed document's example as written, with only named substitutions.

Each test keeps the example's text verbatim (copied from ../shared/seeds/) and lists what it
changes: import lines, and a real model name swapped for a test model. Every substitution must
match the text exactly once, so a test cannot silently run something other than the seed.
"""

from __future__ import annotations

import contextlib
import io
import textwrap
from typing import Any


def adapt(source: str, changes: dict[str, str]) -> str:
    """``source`` (dedented) with each ``old -> new`` change applied; each must occur."""
    text = textwrap.dedent(source)
    for old, new in changes.items():
        count = text.count(old)
        assert count >= 1, f"substitution does not match the seed text: {old!r}"
        text = text.replace(old, new)
    return text


def run_seed(source: str, changes: dict[str, str], namespace: dict[str, Any]) -> str:
    """Execute the adapted example in ``namespace``; return what it printed."""
    code = compile(adapt(source, changes), "<seed example>", "exec")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, namespace)
    return out.getvalue()


async def run_seed_async(source: str, changes: dict[str, str], namespace: dict[str, Any]) -> str:
    """Like :func:`run_seed` for examples with top-level ``await`` / ``async for``."""
    body = textwrap.indent(adapt(source, changes), "    ")
    wrapper = "async def __seed__():\n" + body + "\n    return locals()\n"
    exec(compile(wrapper, "<seed example>", "exec"), namespace)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        names = await namespace["__seed__"]()
    namespace.update(names)
    return out.getvalue()


async def printed_by(function: Any) -> str:
    """What ``await function()`` printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        await function()
    return out.getvalue()
