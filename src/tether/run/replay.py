"""Moved to :mod:`tether.replay`; this path stays for imports written against it."""

from ..replay import ReplayModel, ReplaySeams, load_recorded_run, replay_run

__all__ = ["ReplayModel", "ReplaySeams", "load_recorded_run", "replay_run"]
