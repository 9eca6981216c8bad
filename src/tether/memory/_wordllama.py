"""``WordLlamaEmbedder``: local embeddings from a small model whose weights ship in its wheel.

WordLlama (``pip install "tether[wordllama]"``, MIT) is a static embedding model: a token
embedding table distilled from a large language model's, pooled over the text's tokens. Its
wheel carries the default model (``l2_supercat``, 256 dimensions, 32k tokens, 16 MB) and its
tokenizer, so nothing is downloaded: the files are read from the installed package, never from a
model hub. It matches meaning a little (paraphrases, related words: "car" finds "automobile"),
runs on the CPU in microseconds a text, and is far weaker than a served embedding model.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from .embedders import Embeddings

__all__ = ["WordLlamaEmbedder"]

_DIMENSIONS = (64, 128, 256)  # the model is trained so that its leading dimensions stand alone
_MODEL = "l2_supercat"
_loaded: dict[int, Any] = {}
_loading = threading.Lock()


def _model(dimension: int) -> Any:
    """The inference object of the bundled model cut to ``dimension`` (loaded once a process)."""
    with _loading:
        if dimension in _loaded:
            return _loaded[dimension]
        import wordllama
        from safetensors import safe_open
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference

        root = Path(wordllama.__file__).parent
        weights = root / "weights" / f"{_MODEL}_256.safetensors"
        tokenizer = root / "tokenizers" / f"{_MODEL}_tokenizer_config.json"
        for path in (weights, tokenizer):
            if not path.is_file():
                raise UserError(
                    f"the installed wordllama has no {path.name} in its package: this embedder "
                    "reads the bundled model only (it never downloads one); reinstall "
                    '"tether[wordllama]"'
                )
        with safe_open(str(weights), framework="np") as handle:
            table = handle.get_tensor("embedding.weight")[:, :dimension]
        model = WordLlamaInference(table, Tokenizer.from_file(str(tokenizer)), binary=False)
        _loaded[dimension] = model
        return model


@dataclass(frozen=True, slots=True)
class WordLlamaEmbedder:
    """Embeddings from WordLlama's bundled model (see the module docstring); free and local."""

    #: 256 (the model's own), or 128 / 64 (its leading dimensions: smaller, a little weaker).
    dimension: int = 256

    def __post_init__(self) -> None:
        from .._extras import require

        if self.dimension not in _DIMENSIONS:
            raise UserError(
                f"WordLlamaEmbedder.dimension must be one of {_DIMENSIONS}, not {self.dimension!r}"
            )
        require("wordllama", "wordllama", "safetensors", "tokenizers")

    @property
    def name(self) -> str:
        """``wordllama:l2_supercat-<dimension>``."""
        return f"wordllama:{_MODEL}-{self.dimension}"

    def vectors(self, texts: Sequence[str]) -> list[list[float]]:
        """The vectors of ``texts`` (blocking: the first call loads the model, ~1 s)."""
        if not texts:
            return []
        array = _model(self.dimension).embed(list(texts), norm=True)
        # A text with no known token pools to nothing: a zero vector, not NaN.
        return [[0.0 if math.isnan(v) else v for v in row] for row in array.tolist()]

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Vectors for ``texts``, computed in a thread (the event loop is not held)."""
        vectors = await asyncio.to_thread(self.vectors, list(texts))
        return Embeddings(vectors, self.name, self.dimension)
