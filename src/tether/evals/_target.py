"""Objects named on the command line: ``package.module:attr`` or ``path/to/file.py:attr``,
loaded by the one loader every command uses (:func:`tether._loading.load_object`): a file's
folder is importable, as with ``python path/to/file.py``, and a dotted ``attr`` is looked up part by
part."""

from __future__ import annotations

from typing import Any

__all__ = ["load_target"]


def load_target(spec: str, what: str = "the agent") -> Any:
    """The object ``MODULE:ATTR`` (or ``path/to/file.py:ATTR``) names."""
    from .._loading import load_object

    return load_object(spec, what)
