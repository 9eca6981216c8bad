"""Cost in USD of a model response: from a price you give, or the maintained ``genai-prices``
table.

A price you give wins: ``price=`` on the Agent (or ``resolve_model``), then ``[prices]`` in
``~/.tether/config.toml`` (keyed by the model string), then ``price`` under the provider's
``[providers.<prefix>]`` table; prices are USD per million tokens, and ``0`` means free::

    [prices]
    "vllm:Qwen/Qwen2.5-7B" = { input = 0.2, output = 0.6 }

    [providers.lmstudio]
    base_url = "http://127.0.0.1:1234/v1"
    price = 0                                  # every model of this server is free

Otherwise a model's prices are looked up once in the table (imported lazily) and kept as plain
floats when they are flat per-token rates, so pricing a response costs a few multiplications.
Tiered prices go through genai-prices itself. Anthropic cache writes are priced at their own
rate. A model nobody priced costs ``None``, with one warning logged per model and process
(logger ``tether.models.pricing``); a priced model never warns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..errors import UserError
from ..usage import Usage

__all__ = ["ModelPrice", "Pricer", "as_price", "configured_price", "pricer_for"]

_warned: set[tuple[str | None, str]] = set()


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's price in USD per million tokens; ``ModelPrice(0, 0)`` (or ``price=0``) is free.

    ``cached_input`` (tokens read from a prompt cache) and ``cache_write`` (tokens written to
    one) default to the ``input`` rate.
    """

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached_input", "cache_write"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                raise UserError(
                    f"ModelPrice.{name} must be a number >= 0 (USD per million tokens), "
                    f"got {value!r}"
                )


def as_price(value: Any, where: str = "price") -> ModelPrice | None:
    """``value`` as a ModelPrice: a ModelPrice, ``0`` (free), a mapping with ``input`` and
    ``output`` (and optionally ``cached_input``, ``cache_write``), or None."""
    if value is None or isinstance(value, ModelPrice):
        return value
    if not isinstance(value, bool) and isinstance(value, int | float) and value == 0:
        return ModelPrice(0.0, 0.0)
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"input", "output", "cached_input", "cache_write"})
        if not unknown and "input" in value and "output" in value:
            return ModelPrice(**value)
    raise UserError(
        f"{where}={value!r} is not a price: give 0 (free) or input and output in USD per "
        "million tokens, e.g. ModelPrice(input=0.2, output=0.6) or {input = 0.2, output = 0.6}"
    )


def configured_price(provider: str, table_name: str, model_name: str) -> ModelPrice | None:
    """The price ``~/.tether/config.toml`` gives ``provider:model_name`` (``[prices]``, then
    ``price`` in ``[providers.<table_name>]``), or None. Reads the file: not on the event loop."""
    from .keys import config_path, load_config

    config = load_config()
    prices = config.get("prices", {})
    spec = f"{provider}:{model_name}"
    if isinstance(prices, dict) and spec in prices:
        return as_price(prices[spec], f'[prices] "{spec}" in {config_path()}')
    providers = config.get("providers", {})
    for name in dict.fromkeys((provider, table_name)):
        table = providers.get(name) if isinstance(providers, dict) else None
        if isinstance(table, dict) and "price" in table:
            return as_price(table["price"], f"[providers.{name}] price in {config_path()}")
    return None


@dataclass(slots=True)
class Pricer:
    """Prices of one model at one provider; ``known`` is False when the table lacks them."""

    provider: str | None
    model: str
    known: bool
    input_rate: float = 0.0
    output_rate: float = 0.0
    cache_rate: float | None = None
    #: Per token written to a prompt cache (None: the input rate).
    cache_write_rate: float | None = None
    #: genai-prices (provider, model) objects for tiered prices, else None.
    _tiered: Any = None

    @classmethod
    def given(cls, provider: str | None, model: str, price: ModelPrice) -> Pricer:
        """A Pricer for a price given by the user (per million tokens)."""
        per = 1e6
        return cls(
            provider,
            model,
            True,
            price.input / per,
            price.output / per,
            price.cached_input / per if price.cached_input is not None else None,
            price.cache_write / per if price.cache_write is not None else None,
        )

    def cost(self, usage: Usage, cache_write_tokens: int = 0) -> float | None:
        """The cost of ``usage`` in USD, or None (logged once) when prices are unknown.

        ``cache_write_tokens`` of ``usage.input_tokens`` were written to a prompt cache
        (Anthropic): they are priced at the cache-write rate."""
        if not self.known:
            key = (self.provider, self.model)
            if key not in _warned:
                _warned.add(key)
                from .._log_scrub import get_logger  # only here: no logging at import

                get_logger(__name__).warning(
                    "no price known for model %r (provider %r): its cost is reported as None",
                    self.model,
                    self.provider,
                )
            return None
        if self._tiered is not None:
            return _tiered_cost(self._tiered, usage, cache_write_tokens)
        cached = usage.cached_tokens if self.cache_rate is not None else 0
        written = cache_write_tokens if self.cache_write_rate is not None else 0
        return (
            (usage.input_tokens - cached - written) * self.input_rate
            + cached * (self.cache_rate or 0.0)
            + written * (self.cache_write_rate or 0.0)
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
        found_provider, info = _find(provider, model)
        prices = info.get_prices(datetime.now(tz=UTC))
    except (LookupError, ValueError):
        return Pricer(provider, model, False)
    rates = prices.__dict__
    flat = [rates.get(name) for name in ("input_mtok", "output_mtok")]
    optional = [rates.get(name) for name in ("cache_read_mtok", "cache_write_mtok")]
    if all(isinstance(r, Decimal) for r in flat) and all(
        r is None or isinstance(r, Decimal) for r in optional
    ):
        per = 1e6
        cache_read, cache_write = (float(r) / per if r is not None else None for r in optional)
        return Pricer(
            provider,
            model,
            True,
            float(flat[0] or 0) / per,
            float(flat[1] or 0) / per,
            cache_read,
            cache_write,
        )
    return Pricer(provider, model, True, _tiered=(found_provider, info))


#: Providers that route to other vendors' models and bill those vendors' list prices: a model
#: they do not list under their own id (a bare ``claude-sonnet-4``) is priced as its vendor's.
_PASS_THROUGH = frozenset({"openrouter"})


def _find(provider: str, model: str) -> tuple[Any, Any]:
    """genai-prices' provider and model entry for ``model`` at ``provider`` (LookupError)."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    try:
        return snapshot.find_provider_model(model, None, provider, None)
    except LookupError:
        if provider not in _PASS_THROUGH:
            raise
    return snapshot.find_provider_model(model.rpartition("/")[2], None, None, None)


def _tiered_cost(tiered: Any, usage: Usage, cache_write_tokens: int) -> float:
    from genai_prices import Usage as PriceUsage

    provider, info = tiered
    priced = PriceUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_tokens,
        cache_write_tokens=cache_write_tokens,
    )
    return float(info.calc_price(priced, provider).total_price)
