"""Embedders: text to vectors, for :class:`~tether.memory.VectorMemory`.

- :class:`HashEmbedder` runs locally and needs no download: it hashes word unigrams, word bigrams
  and character trigrams of the text into a fixed number of buckets (signed feature hashing) and
  normalizes the result. It matches texts that share words and word pieces ("refund" finds
  "refunds", "refunded"), not synonyms ("car" does not find "automobile"): a good default for
  tests, for offline use and for keyword-like facts; use a model's embeddings for meaning.
- :class:`OpenAIEmbedder` calls any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, Ollama,
  vLLM, LM Studio, llama.cpp) through the official ``openai`` SDK: batched, cached by text,
  retried with tether's :class:`~tether.models.RetryPolicy`, and priced from genai-prices (or
  from ``price_per_million``).

Every batch says what it cost and which embedder, model and dimension made it; VectorMemory keeps
that with every vector.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..errors import ModelProviderError, UserError

__all__ = ["Embedder", "Embeddings", "HashEmbedder", "OpenAIEmbedder"]

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Embeddings:
    """The vectors of one batch of texts, with what they cost."""

    vectors: list[list[float]]
    #: Who made them, as ``"<embedder>:<model>"``: stored with every vector.
    model: str
    dimension: int
    input_tokens: int = 0
    #: USD for the whole batch; None when the price is unknown; 0.0 for local embedders.
    cost: float | None = 0.0


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one fixed ``dimension``."""

    @property
    def name(self) -> str:
        """``"<embedder>:<model>"``, stored with each vector; vectors of different names never
        share an index."""
        ...

    @property
    def dimension(self) -> int:
        """The length of every vector."""
        ...

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """One vector per text, in order."""
        ...


def _normalize(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return vector if norm == 0 else [v / norm for v in vector]


@dataclass(frozen=True, slots=True)
class HashEmbedder:
    """Local, deterministic embeddings by signed feature hashing (see the module docstring)."""

    dimension: int = 512

    def __post_init__(self) -> None:
        if not isinstance(self.dimension, int) or not 8 <= self.dimension <= 8192:
            raise UserError(
                f"HashEmbedder.dimension must be an int from 8 to 8192, not {self.dimension!r}"
            )

    @property
    def name(self) -> str:
        """``hash:v2-<dimension>``."""
        return f"hash:v2-{self.dimension}"

    def _features(self, text: str) -> list[tuple[str, float]]:
        words = [w.lower() for w in _WORD.findall(text)]
        features = [(f"w:{w}", 1.0) for w in words]
        features += [(f"b:{a} {b}", 0.7) for a, b in itertools.pairwise(words)]
        for word in words:
            padded = f"<{word}>"
            features += [(f"c:{padded[i : i + 3]}", 0.35) for i in range(len(padded) - 2)]
        return features

    def vector(self, text: str) -> list[float]:
        """The vector of one text (no I/O)."""
        out = [0.0] * self.dimension
        for feature, weight in self._features(text):
            # Two signed buckets per feature: a collision with another feature costs half as much.
            digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=16)
            raw = digest.digest()
            for part in (raw[:8], raw[8:]):
                value = int.from_bytes(part, "little")
                out[value % self.dimension] += weight if value >> 63 else -weight
        return _normalize(out)

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Vectors for ``texts``; free and local."""
        return Embeddings([self.vector(t) for t in texts], self.name, self.dimension)


@dataclass
class OpenAIEmbedder:
    """An OpenAI-compatible embeddings endpoint.

    ``base_url`` selects another server (``http://localhost:11434/v1`` for Ollama); a custom
    ``base_url`` gets only an explicit ``api_key`` (or the one configured for that URL in
    ``~/.tether/config.toml``), never ``OPENAI_API_KEY``, and may have none. ``dimension`` is
    the vector length the model gives (asked for with ``dimensions=`` when ``send_dimensions``).
    ``price_per_million`` (USD per million input tokens; 0 for local servers) overrides the
    genai-prices table.
    """

    model: str = "text-embedding-3-small"
    dimension: int = 1536
    base_url: str | None = None
    api_key: str | None = None
    batch_size: int = 64
    price_per_million: float | None = None
    send_dimensions: bool = False
    cache_size: int = 10_000
    timeout: float = 30.0
    retry: Any = None  # tether.models.RetryPolicy; None: the default policy
    _cache: OrderedDict[str, list[float]] = field(default_factory=OrderedDict, repr=False)
    _client: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.dimension < 1:
            raise UserError("OpenAIEmbedder needs batch_size >= 1 and dimension >= 1")

    @property
    def name(self) -> str:
        """``openai:<model>``."""
        return f"openai:{self.model}"

    async def _sdk(self) -> Any:
        if self._client is None:  # in a thread: the key may come from a config file
            self._client = await asyncio.to_thread(self._make_client)
        return self._client

    def _make_client(self) -> Any:
        import os

        from openai import AsyncOpenAI

        from ..models.keys import key_for_base_url

        key: str | None
        if self.base_url is not None:  # a custom host gets only its own key, never the env's
            key = key_for_base_url(self.api_key, self.base_url) or "none"
        else:
            key = self.api_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                raise UserError(
                    "OpenAIEmbedder has no API key: set OPENAI_API_KEY, pass api_key=..., or "
                    "pass base_url=... for a local server that needs none"
                )
        return AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout)

    def _cost(self, tokens: int) -> float | None:
        if self.price_per_million is not None:
            return tokens * self.price_per_million / 1_000_000
        from ..models.pricing import pricer_for
        from ..usage import Usage

        provider = "openai" if self.base_url is None else None
        return pricer_for(provider, self.model).cost(Usage(requests=1, input_tokens=tokens))

    async def _call(self, texts: list[str]) -> tuple[list[list[float]], int]:
        import openai

        from ..models.resilience import RetryPolicy

        policy = self.retry or RetryPolicy()
        attempt = 0
        while True:
            attempt += 1
            try:
                kwargs: dict[str, Any] = {"model": self.model, "input": texts}
                if self.send_dimensions:
                    kwargs["dimensions"] = self.dimension
                response = await (await self._sdk()).embeddings.create(**kwargs)
            except openai.APIStatusError as exc:
                error = ModelProviderError(
                    f"embeddings request to {self.base_url or 'OpenAI'} failed: {exc.message}",
                    status=exc.status_code,
                )
            except openai.APIConnectionError as exc:
                error = ModelProviderError(
                    f"could not reach the embeddings endpoint {self.base_url or 'OpenAI'}: {exc}"
                )
            else:
                return self._vectors(response, len(texts))
            pause = policy.delay(attempt, error)
            if pause is None:
                raise error
            await asyncio.sleep(pause)

    def _vectors(self, response: Any, count: int) -> tuple[list[list[float]], int]:
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != count:
            raise ModelProviderError(
                f"embeddings endpoint gave {len(rows)} vectors for {count} texts"
            )
        vectors = [list(map(float, row.embedding)) for row in rows]
        for vector in vectors:
            if len(vector) != self.dimension:
                raise UserError(
                    f"{self.name} gave vectors of dimension {len(vector)}, but the embedder was "
                    f"configured with dimension={self.dimension}: set dimension={len(vector)}"
                )
        usage = getattr(response, "usage", None)
        return vectors, int(getattr(usage, "prompt_tokens", 0) or 0)

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Vectors for ``texts``: cached ones from memory, the rest in batches of ``batch_size``."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        tokens = 0
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            vectors, used = await self._call(batch)
            tokens += used
            for text, vector in zip(batch, vectors, strict=True):
                self._cache[text] = vector
        out = []
        for text in texts:
            self._cache.move_to_end(text)
            out.append(self._cache[text])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return Embeddings(
            out, self.name, self.dimension, tokens, self._cost(tokens) if tokens else 0.0
        )
