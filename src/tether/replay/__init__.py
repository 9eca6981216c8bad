"""Replay: re-run a recorded run with the model's answers served from its event log.

The replayed run goes through the one loop like any run. Its model is a :class:`ReplayModel`
that, for the n-th request, first checks that the run's messages equal the messages the
recorded run had at that point (rebuilt by folding the recorded events up to its n-th
``model_response``), then answers with the recorded response. The first request that differs
raises :class:`~tether.errors.ReplayDivergence` with a readable diff. Tools run again
(``tools="live"``) or their recorded results are served (``tools="recorded"``); subagent calls
and calls that waited for a person's approval are always served from the record.

The Runner hands this module what it needs of it (``Runner.replay`` passes its own start and
finish steps as :class:`ReplaySeams`), so replay reads no private member of another module.
"""

from ._model import ReplayModel
from ._run import ReplaySeams, load_recorded_run, replay_run

__all__ = ["ReplayModel", "ReplaySeams", "load_recorded_run", "replay_run"]
