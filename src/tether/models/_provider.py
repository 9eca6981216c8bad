"""What the provider models share: name, key, endpoint, prices, and the request/stream frame.

A subclass maps the neutral request to its wire body (:meth:`ProviderModel.build_body`), a JSON
answer back to a ModelResponse (:meth:`ProviderModel.parse_response`), and a stream of
server-sent events to deltas (:meth:`ProviderModel.parse_stream`).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from ..errors import ModelProviderError
from ..messages import ReasoningPart, RefusalPart, TextPart, ToolCallPart
from ..usage import Usage
from ._http import (
    DEFAULT_MAX_INFLIGHT,
    NO_KEY,
    Sender,
    Transport,
    default_transport,
    get_endpoint,
)
from .base import ModelRequest, ModelResponse, ModelStreamEvent
from .keys import PROVIDERS, is_own_host, key_for_base_url, resolve_key
from .pricing import ModelPrice, Pricer, configured_price, pricer_for

__all__ = ["ProviderModel", "normalize_finish", "openai_client", "shape_error", "with_hint"]

#: What reading a JSON value of the wrong shape raises (a str where an object was, ...).
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)


def shape_error(where: str, exc: Exception, body: Any = None) -> ModelProviderError:
    """A JSON answer or stream event that is valid JSON but not of the protocol's shape (a
    string where an object belongs, ...): the server does not speak the protocol the model
    string names. Not retryable: the same server answers the same way."""
    return ModelProviderError(
        f"{where}: the answer is not in this protocol's shape ({type(exc).__name__}: {exc}); "
        "check that the server speaks the protocol of the model string's prefix",
        body=body,
        retryable=False,
    )


_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "function_call": "tool_calls",
}


def normalize_finish(reason: str | None) -> str | None:
    """A provider's finish reason in Chat Completions words (stop, length, tool_calls,
    content_filter); unknown reasons pass through."""
    if reason is None:
        return None
    return _FINISH.get(reason, reason)


#: Keys shorter than this are not scrubbed (they would scrub ordinary words).
_SCRUBBED_KEY_LENGTH = 8


class ProviderModel:
    """Base of the HTTP provider models. Construct through ``resolve_model`` or directly."""

    #: Path of the model endpoint below the base URL.
    path: ClassVar[str] = ""
    #: The model-string prefix of this protocol (``openai-chat`` ...), for keys and names.
    default_prefix: ClassVar[str] = ""
    #: The HTTP client bounds each attempt by ``settings.timeout`` (the loop need not).
    handles_timeout: ClassVar[bool] = True

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        provider: str | None = None,
        transport: Transport | None = None,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
        default_headers: dict[str, str] | None = None,
        price: ModelPrice | None = None,
    ) -> None:
        self.model_name = model
        self.provider = provider or self.default_prefix
        info = PROVIDERS.get(self.provider)
        config_url: str | None = None
        #: The environment variable the key came from (re-read per request: rotation).
        self._key_env: str | None = None
        if base_url is not None and not is_own_host(info, base_url):
            # A custom endpoint gets only a key meant for it, never the environment's.
            api_key = key_for_base_url(api_key, base_url)
        elif info is not None:
            given = api_key
            api_key, config_url = resolve_key(info, api_key, self.provider)
            env = info.env_var
            if given is None and env is not None and api_key == os.environ.get(env):
                self._key_env = env
        self.base_url = base_url or config_url or (info.base_url if info else None)
        self._api_key = api_key
        if api_key is not None and self._key_env is None:
            # A key given as api_key= or read from the config file is known to no scrubber
            # (a key from a secret-named variable is): a provider's error that quotes it must
            # not carry it into the log, a trace, an error message or a log line.
            from ..tracing.redact import register_secrets

            if len(api_key) >= _SCRUBBED_KEY_LENGTH:
                register_secrets(api_key)
        self.transport: Transport = transport or default_transport()
        self.max_inflight = max_inflight
        self.default_headers = default_headers
        # Priced by model name at the provider's list prices, whatever the base URL (a proxy
        # of the provider); a model the table does not know costs None.
        self._price_provider = info.price_provider if info is not None else None
        self._table_name = info.name if info is not None else self.provider
        self._price = price
        self._pricer: Pricer | None = None
        self._endpoint_key = (
            type(self).__name__,
            self.base_url,
            api_key,
            transport,
            tuple(sorted((default_headers or {}).items())),
        )

    @property
    def name(self) -> str:
        """``provider:model``."""
        return f"{self.provider}:{self.model_name}"

    @property
    def endpoint(self) -> str:
        """The base URL requests go to (a circuit breaker key)."""
        return self.base_url or f"{self.provider} default endpoint"

    @property
    def pricer(self) -> Pricer:
        """This model's prices, looked up once: the ``price`` given, else one configured in
        config.toml, else the genai-prices table (reads files: keep it off the event loop)."""
        pricer = self._pricer
        if pricer is None:
            price = self._price or configured_price(
                self.provider, self._table_name, self.model_name
            )
            if price is not None:
                pricer = Pricer.given(self._price_provider, self.model_name, price)
            else:
                pricer = pricer_for(self._price_provider, self.model_name)
            self._pricer = pricer
        return pricer

    @property
    def prices_loaded(self) -> bool:
        """Whether :attr:`pricer` is looked up already (the look-up reads files)."""
        return self._pricer is not None

    @property
    def prices_known(self) -> bool:
        """Whether the price table knows this model (else costs are None)."""
        return self.pricer.known

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_name!r}, base_url={self.base_url!r})"

    # -- protocol hooks ----------------------------------------------------------------------

    def make_client(self, http_client: Any) -> Any:
        """The official SDK client for this endpoint."""
        raise NotImplementedError

    def build_body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        """The JSON request body."""
        raise NotImplementedError

    def parse_response(self, data: Any) -> ModelResponse:
        """A JSON answer as a ModelResponse."""
        raise NotImplementedError

    def parse_stream(
        self, events: AsyncIterator[tuple[str | None, str]]
    ) -> AsyncIterator[ModelStreamEvent]:
        """Server-sent events as deltas, ending with the ModelResponse."""
        raise NotImplementedError

    # -- the frame ---------------------------------------------------------------------------

    async def _get_endpoint(self) -> Sender:
        if self._key_env is not None:
            current = os.environ.get(self._key_env)
            if current and current != self._api_key:  # the key was rotated
                self._api_key = current
                self._endpoint_key = (*self._endpoint_key[:2], current, *self._endpoint_key[3:])
        if self._pricer is None:  # loading the price table reads files: not on the loop
            await asyncio.to_thread(lambda: self.pricer)
        return await get_endpoint(
            self._endpoint_key, self.make_client, self.path, self.transport, self.max_inflight
        )

    def priced(self, usage: Usage, cache_write_tokens: int = 0) -> Usage:
        """``usage`` with its cost filled in (``cache_write_tokens`` of its input tokens were
        written to a prompt cache, at that rate)."""
        usage.cost = self.pricer.cost(usage, cache_write_tokens)
        return usage

    def explain(self, error: ModelProviderError) -> ModelProviderError:
        """``error`` with a hint this protocol can give (default: as it is)."""
        return error

    async def request(self, request: ModelRequest) -> ModelResponse:
        """One non-streamed call."""
        endpoint = await self._get_endpoint()  # first: the SDK build_body may use is imported
        body = self.build_body(request, False)
        try:
            data = await endpoint.post_json(body, request.settings.timeout, self.name)
        except ModelProviderError as exc:
            raise self.explain(exc) from None
        try:
            return check_parts(self.parse_response(data))
        except _SHAPE_ERRORS as exc:
            raise shape_error(self.name, exc, data) from None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """One streamed call: deltas, then the complete ModelResponse."""
        endpoint = await self._get_endpoint()
        body = self.build_body(request, True)
        events = endpoint.stream_events(body, request.settings.timeout, self.name)
        try:
            async for item in self.parse_stream(events):
                yield item
        except json.JSONDecodeError as exc:
            raise ModelProviderError(
                f"{self.name}: the stream carried invalid JSON ({exc})", retryable=True
            ) from None
        except ModelProviderError as exc:
            explained = self.explain(exc)
            if explained is exc:
                raise
            raise explained from None
        except _SHAPE_ERRORS as exc:
            raise shape_error(self.name, exc) from None
        finally:
            await events.aclose()  # type: ignore[attr-defined]


_TEXT_FIELDS: dict[type, tuple[str, ...]] = {
    TextPart: ("text",),
    RefusalPart: ("refusal",),
    ReasoningPart: ("text",),
    ToolCallPart: ("call_id", "name", "arguments"),
}


def check_parts(response: ModelResponse) -> ModelResponse:
    """``response``, once each of its parts' text fields is a string (a TypeError else)."""
    for part in response.parts:
        for name in _TEXT_FIELDS.get(type(part), ()):
            value = getattr(part, name)
            if value.__class__ is not str:
                kind = type(value).__name__
                raise TypeError(f"{part.kind} part's {name} is {kind}, not a string")
    return response


def with_hint(error: ModelProviderError, hint: str) -> ModelProviderError:
    """A copy of ``error`` (status, body, retry facts kept) whose message ends with ``hint``."""
    message = str(error)
    suffix = f" (HTTP {error.status})" if error.status is not None else ""
    if suffix and message.endswith(suffix):
        message = message[: -len(suffix)]
    return ModelProviderError(
        f"{message}. {hint}",
        status=error.status,
        body=error.body,
        retry_after=error.retry_after,
        retryable=error.retryable,
    )


def merge_extra(body: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """``extra`` provider fields merged into the body (they win)."""
    if extra:
        body.update(extra)
    return body


def openai_client(
    api_key: str | None, base_url: str | None, http_client: Any, headers: dict[str, str] | None
) -> Any:
    """An ``openai.AsyncOpenAI`` client for both OpenAI protocols (SDK retries off: tether's
    runtime retries)."""
    import openai

    return openai.AsyncOpenAI(
        api_key=api_key or NO_KEY,
        base_url=base_url,
        max_retries=0,
        http_client=http_client,
        default_headers=headers,
    )
