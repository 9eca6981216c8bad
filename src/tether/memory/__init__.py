"""Memory of facts across runs, and history policies that bound what the model is sent."""

from __future__ import annotations

from .history import History, HistorySlidingWindow, HistorySummarize, HistoryTokenBudget
from .memory import Fact, Memory, MemorySQLite, MemoryView

__all__ = [
    "Fact",
    "History",
    "HistorySlidingWindow",
    "HistorySummarize",
    "HistoryTokenBudget",
    "Memory",
    "MemorySQLite",
    "MemoryView",
]
