"""The engine: the one loop (:mod:`tether.engine.loop`) and its phases, a model turn
(``_turn``), the tool phase (``_tools``, with ``_accept`` and ``_deliver``), the named steps
and endings (:mod:`tether.engine.steps`), a run's wiring (``_wiring``) and its control channel
(:mod:`tether.engine.control`). It reads agents through ``tether._spec.AgentSpec`` and knows
nothing of the Runner (:mod:`tether.run`), which builds the wiring and drives the loop."""
