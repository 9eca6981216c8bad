"""Objects named on the command line: ``package.module:attr`` or ``path/to/file.py:attr``,
loaded by the CLI's one loader (:func:`tether.cli._common.load_object`): a file's folder is
importable, as with ``python path/to/file.py``, and a dotted ``attr`` is looked up part by
part."""

from __future__ import annotations

from typing import Any

__all__ = ["load_target"]


def load_target(spec: str, what: str = "the agent") -> Any:
    """The object ``MODULE:ATTR`` (or ``path/to/file.py:ATTR``) names."""
    from ..cli._common import load_object

    return load_object(spec, what)
