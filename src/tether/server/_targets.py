"""What ``tether serve MODULE:ATTR`` names: the object, and the Runner serving it (used by the
serve command and by the Ray serving executor, so it sits below both)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    from ..run.runner import Runner

__all__ = ["import_target", "load_runner"]


def import_target(target: str) -> Any:
    """The object ``MODULE:ATTR`` (or ``path/to/app.py:ATTR``) names, loaded as every command
    loads one (the working directory importable)."""
    from .._loading import load_object

    return load_object(target, what="the served app")


def load_runner(target: str, store: str | None) -> Runner:
    """The Runner serving ``MODULE:ATTR`` (an Agent, a list of Agents or a Runner)."""
    from ..agent import Agent
    from ..run.runner import DEFAULT_STORE, Runner

    value = import_target(target)
    if isinstance(value, Runner):
        if store is not None:
            # --store wins over the store the Runner was made with (replicas of an app whose
            # Runner says sqlite share PostgreSQL this way), as long as it is not open yet:
            # the Runner opens its store on first use (a Ray engine reads the same spec).
            if value._store is not None:
                raise UserError(
                    f"{target} is a Runner whose store is already open (used at import), so "
                    "--store cannot replace it: drop --store, or make the Runner with that store"
                )
            value._store_spec = store
        return value
    agents = [value] if isinstance(value, Agent) else value
    if not isinstance(agents, list | tuple) or not agents:
        raise UserError(f"{target} must be an Agent, a list of Agents or a Runner")
    if not all(isinstance(a, Agent) for a in agents):
        raise UserError(f"{target} must be an Agent, a list of Agents or a Runner")
    return Runner(store=store or DEFAULT_STORE, agents=list(agents))
