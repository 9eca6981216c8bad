"""Memory of facts across runs, retrieval memory by meaning, episodic memory of past runs, and
history policies that bound what the model is sent."""

from __future__ import annotations

import importlib
from typing import Any

from .history import History, HistorySlidingWindow, HistorySummarize, HistoryTokenBudget
from .memory import Fact, Memory, MemorySQLite, MemoryView

# Retrieval memory loads on first use (it opens SQLite/PostgreSQL connections of its own).
_LAZY = {
    "Embedder": ".embedders",
    "Embeddings": ".embedders",
    "EpisodicMemory": ".episodic",
    "HashEmbedder": ".embedders",
    "Hit": ".vector",
    "MemoryRecall": ".recall",
    "OpenAIEmbedder": ".embedders",
    "Record": ".vector",
    "Retention": ".episodic",
    "VectorMemory": ".vector",
    "WordLlamaEmbedder": "._wordllama",
    "memory_tools": ".recall_tools",
}

__all__ = [
    "Embedder",
    "Embeddings",
    "EpisodicMemory",
    "Fact",
    "HashEmbedder",
    "History",
    "HistorySlidingWindow",
    "HistorySummarize",
    "HistoryTokenBudget",
    "Hit",
    "Memory",
    "MemoryRecall",
    "MemorySQLite",
    "MemoryView",
    "OpenAIEmbedder",
    "Record",
    "Retention",
    "VectorMemory",
    "WordLlamaEmbedder",
    "memory_tools",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tether.memory' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
