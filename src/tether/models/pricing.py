"""Cost in USD of a model response, from the maintained ``genai-prices`` table.

A model's prices are looked up once (the table is imported lazily) and kept as plain floats
when they are flat per-token rates, so pricing a response costs a few multiplications. Tiered
prices go through genai-prices itself. A model the table does not know costs ``None``, with one
warning logged per model (logger ``tether.models.pricing``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..usage import Usage

__all__ = ["Pricer", "pricer_for"]

logger = logging.getLogger(__name__)
_warned: set[tuple[str | None, str]] = set()


@dataclass(slots=True)
class Pricer:
    """Prices of one model at one provider; ``known`` is False when the table lacks them."""

    provider: str | None
    model: str
    known: bool
    input_rate: float = 0.0
    output_rate: float = 0.0
    cache_rate: float | None = None
    #: genai-prices (provider, model) objects for tiered prices, else None.
    _tiered: Any = None

    def cost(self, usage: Usage) -> float | None:
        """The cost of ``usage`` in USD, or None (logged once) when prices are unknown."""
        if not self.known:
            key = (self.provider, self.model)
            if key not in _warned:
                _warned.add(key)
                logger.warning(
                    "no price known for model %r (provider %r): its cost is reported as None",
                    self.model,
                    self.provider,
                )
            return None
        if self._tiered is not None:
            return _tiered_cost(self._tiered, usage)
        cached = usage.cached_tokens if self.cache_rate is not None else 0
        rate = self.cache_rate or 0.0
        return (
            (usage.input_tokens - cached) * self.input_rate
            + cached * rate
            + usage.output_tokens * self.output_rate
        )


_pricers: dict[tuple[str | None, str], Pricer] = {}


def pricer_for(provider: str | None, model: str) -> Pricer:
    """The (cached) Pricer of ``model`` at ``provider`` (a genai-prices provider id; ``"free"``
    for local servers that cost nothing; None when unknown)."""
    key = (provider, model)
    found = _pricers.get(key)
    if found is None:
        found = _pricers[key] = _lookup(provider, model)
    return found


def _lookup(provider: str | None, model: str) -> Pricer:
    if provider == "free":
        return Pricer(provider, model, True)
    if provider is None:
        return Pricer(provider, model, False)
    try:
        from genai_prices import data_snapshot

        found_provider, info = data_snapshot.get_snapshot().find_provider_model(
            model, None, provider, None
        )
        prices = info.get_prices(datetime.now(tz=UTC))
    except (LookupError, ValueError):
        return Pricer(provider, model, False)
    rates = prices.__dict__
    flat_in, flat_out = rates.get("input_mtok"), rates.get("output_mtok")
    flat_cache = rates.get("cache_read_mtok")
    if (
        isinstance(flat_in, Decimal)
        and isinstance(flat_out, Decimal)
        and (flat_cache is None or isinstance(flat_cache, Decimal))
    ):
        return Pricer(
            provider,
            model,
            True,
            float(flat_in) / 1e6,
            float(flat_out) / 1e6,
            float(flat_cache) / 1e6 if flat_cache is not None else None,
        )
    return Pricer(provider, model, True, _tiered=(found_provider, info))


def _tiered_cost(tiered: Any, usage: Usage) -> float:
    from genai_prices import Usage as PriceUsage

    provider, info = tiered
    priced = PriceUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_tokens,
    )
    return float(info.calc_price(priced, provider).total_price)
