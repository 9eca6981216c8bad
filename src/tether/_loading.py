"""Loading an object named on a command line or in a config: ``package.module:attribute`` or
``path/to/app.py:attribute`` (the file's folder made importable, as ``python FILE`` does). One
loader for every command (run, serve, eval, the workers), so they accept the same names and
fail with the same one-line errors."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from .errors import UserError

__all__ = ["canonical_spec", "load_object"]


def _is_file_spec(module_name: str) -> bool:
    return module_name.endswith(".py") or "/" in module_name or "\\" in module_name


def canonical_spec(spec: str) -> str:
    """``spec`` as another process can load it: a file's path made absolute."""
    module_name, _, attribute = spec.rpartition(":")
    if module_name and _is_file_spec(module_name):
        return f"{Path(module_name).resolve()}:{attribute}"
    return spec


def _import_file(path_text: str, what: str) -> Any:
    """The module in the file ``path_text`` (its directory is importable, as with ``python
    FILE``)."""
    path = Path(path_text).resolve()
    if path.suffix != ".py" or not path.is_file():
        raise UserError(f"no Python file {path_text!r} for {what} (give 'path/to/app.py:agent')")
    if path.stem in sys.stdlib_module_names:
        _taken(path, path_text, what, "of the standard library")
    folder = str(path.parent)
    if folder not in sys.path:
        _refuse_taken_name(path, path_text, what)  # the file would shadow it, or be shadowed
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(path.stem)
    except ImportError as exc:
        raise UserError(f"cannot import {path_text!r} for {what}: {exc}") from exc
    except Exception as exc:  # the module itself failed while importing
        raise _failed_import(path_text, what, exc) from exc
    found = getattr(module, "__file__", None)
    if found is None or Path(found).resolve() != path:
        _taken(path, path_text, what, found or repr(module))
    return module


def _refuse_taken_name(path: Path, path_text: str, what: str) -> None:
    import importlib.util

    try:
        other = importlib.util.find_spec(path.stem)
    except (ImportError, ValueError):
        return
    if other is not None and (other.origin is None or Path(other.origin).resolve() != path):
        _taken(path, path_text, what, other.origin or "a built-in module")


def _taken(path: Path, path_text: str, what: str, other: str) -> None:
    raise UserError(
        f"cannot import {path_text!r} for {what}: the name {path.stem!r} is already the "
        f"module {other}; rename the file"
    )


def _failed_import(name: str, what: str, exc: Exception) -> UserError:
    return UserError(
        f"importing {name!r} for {what} failed: {type(exc).__name__}: {exc} "
        "(run with --debug for the traceback)"
    )


def load_object(spec: str, what: str = "the agent") -> Any:
    """The object ``package.module:attribute`` (or ``path/to/file.py:attribute``) names; the
    working directory is importable."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise UserError(
            f"{what} must be given as 'package.module:variable' or 'path/to/app.py:variable' "
            f"(e.g. 'app:agent'), got {spec!r}"
        )
    if _is_file_spec(module_name):
        module = _import_file(module_name, what)
    else:
        cwd = str(Path.cwd())
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(module_name)
        except (ImportError, TypeError) as exc:  # TypeError: a relative name ('.app')
            raise UserError(
                f"cannot import module {module_name!r} for {what}: {exc} "
                "(run from the directory that holds it, or set PYTHONPATH)"
            ) from exc
        except Exception as exc:  # the module itself failed while importing
            raise _failed_import(module_name, what, exc) from exc
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError as exc:
            raise UserError(f"module {module_name!r} has no attribute {attribute!r}") from exc
    return found
