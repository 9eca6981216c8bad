"""No module in src/tether is over 600 lines (the design contract's budget for one concept)."""

from __future__ import annotations

from pathlib import Path

import tether

BUDGET = 600


def test_no_module_over_the_line_budget() -> None:
    root = Path(tether.__file__).parent
    over = {
        str(path.relative_to(root)): lines
        for path in sorted(root.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > BUDGET
    }
    assert over == {}, f"over {BUDGET} lines (split by concept): {over}"
