"""Objects named on the command line: ``package.module:attr`` or ``path/to/file.py:attr``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError

__all__ = ["load_target"]


def load_target(spec: str) -> Any:
    """The object ``MODULE:ATTR`` (or ``path/to/file.py:ATTR``) names."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise UserError(f"{spec!r} must look like 'package.module:name' or 'path/to/file.py:name'")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise UserError(f"no file {module_name!r} for {spec!r}")
        loader = importlib.util.spec_from_file_location(f"_tether_eval_{path.stem}", path)
        if loader is None or loader.loader is None:  # pragma: no cover - a .py file always loads
            raise UserError(f"cannot load {module_name!r}")
        module = importlib.util.module_from_spec(loader)
        sys.modules[loader.name] = module
        try:
            loader.loader.exec_module(module)
        except Exception as exc:
            raise UserError(f"cannot import {module_name!r}: {exc!r}") from exc
    else:
        cwd = str(Path.cwd())
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UserError(f"cannot import {module_name!r}: {exc}") from exc
        except Exception as exc:  # the module itself failed while importing
            raise UserError(f"cannot import {module_name!r}: {exc!r}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UserError(f"module {module_name!r} has no {attribute!r}") from None
