"""Memory of facts across runs, retrieval memory by meaning, episodic memory of past runs, and
history policies that bound what the model is sent."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers; every name loads on first use (the table below)
    from ._wordllama import WordLlamaEmbedder as WordLlamaEmbedder
    from .embedders import Embedder as Embedder
    from .embedders import Embeddings as Embeddings
    from .embedders import HashEmbedder as HashEmbedder
    from .embedders import OpenAIEmbedder as OpenAIEmbedder
    from .episodic import EpisodicMemory as EpisodicMemory
    from .episodic import Retention as Retention
    from .history import History as History
    from .history import HistorySlidingWindow as HistorySlidingWindow
    from .history import HistorySummarize as HistorySummarize
    from .history import HistoryTokenBudget as HistoryTokenBudget
    from .memory import Fact as Fact
    from .memory import Memory as Memory
    from .memory import MemorySQLite as MemorySQLite
    from .memory import MemoryView as MemoryView
    from .recall import MemoryRecall as MemoryRecall
    from .recall_tools import memory_tools as memory_tools
    from .vector import Hit as Hit
    from .vector import Record as Record
    from .vector import VectorMemory as VectorMemory

# Every public name once. Names load on first use (retrieval memory opens SQLite/PostgreSQL
# connections of its own).
_LAZY = {
    "Embedder": ".embedders",
    "Embeddings": ".embedders",
    "HashEmbedder": ".embedders",
    "OpenAIEmbedder": ".embedders",
    "EpisodicMemory": ".episodic",
    "Retention": ".episodic",
    "History": ".history",
    "HistorySlidingWindow": ".history",
    "HistorySummarize": ".history",
    "HistoryTokenBudget": ".history",
    "Fact": ".memory",
    "Memory": ".memory",
    "MemorySQLite": ".memory",
    "MemoryView": ".memory",
    "MemoryRecall": ".recall",
    "memory_tools": ".recall_tools",
    "Hit": ".vector",
    "Record": ".vector",
    "VectorMemory": ".vector",
    "WordLlamaEmbedder": "._wordllama",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tether.memory' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
