"""The direct aiohttp transport (tether's own bytes on its own session) against the SDK's httpx
path: the same headers on the wire, and the answers no provider should give (oversize bodies
and events, a stream that is not UTF-8) as typed errors on both."""

from __future__ import annotations

from typing import Any

import pytest
from provider_helpers import PROVIDERS, model_for
from servers import HTTPError, ModelServer, Raw, Turn

from tether.errors import ModelProviderError
from tether.events import Event
from tether.messages import Message
from tether.models import _wire
from tether.models._aio import AioEndpoint
from tether.models.anthropic import AnthropicModel
from tether.models.base import ModelRequest
from tether.models.openai_chat import OpenAIChatModel
from tether.models.openai_responses import OpenAIResponsesModel

TRANSPORTS = ["httpx", "aiohttp"]
# Headers each client library adds its own way (framing, compression, connection reuse).
_OWN = {"host", "content-length", "accept-encoding", "connection", "transfer-encoding"}
_CLASSES: dict[str, Any] = {
    "openai-chat": OpenAIChatModel,
    "openai": OpenAIResponsesModel,
    "anthropic": AnthropicModel,
}


def _request(seen: list[Event] | None = None) -> ModelRequest:
    return ModelRequest(
        messages=[Message.user("hi")], observer=seen.append if seen is not None else None
    )


async def _ask(model: Any, stream: bool) -> Any:
    """One request, streamed or not; the ModelResponse."""
    if not stream:
        return await model.request(_request())
    return [e async for e in model.stream(_request())][-1]


@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_both_transports_send_the_same_headers(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-env")
    server = PROVIDERS[prefix][0]().start()
    try:
        seen: dict[str, dict[str, str]] = {}
        for transport in TRANSPORTS:
            model = _CLASSES[prefix](
                PROVIDERS[prefix][1],
                api_key="sk-test-key",
                base_url=server.base_url,
                transport=transport,
                default_headers={"X-Team": "blue"},
            )
            server.add(Turn(text="ok"))
            assert (await model.request(_request())).text == "ok"
            headers = server.requests[-1].headers
            seen[transport] = {k: v for k, v in headers.items() if k not in _OWN}
    finally:
        server.stop()
    assert seen["aiohttp"] == seen["httpx"]
    sent = seen["aiohttp"]
    assert sent["x-team"] == "blue" and sent["content-type"] == "application/json"
    if prefix == "anthropic":
        assert "sk-test-key" in sent.get("x-api-key", sent.get("authorization", ""))
        assert "anthropic-version" in sent
    else:
        assert sent["authorization"] == "Bearer sk-test-key"
        assert sent["openai-organization"] == "org-from-env"


async def test_the_aiohttp_transport_posts_without_the_sdk(chat_server: ModelServer) -> None:
    model: Any = model_for(chat_server, transport="aiohttp", runtime=None)
    chat_server.add_text("ok")
    assert (await model.request(_request())).text == "ok"
    endpoint = await model._get_endpoint()
    assert isinstance(endpoint, AioEndpoint)
    assert endpoint.url == chat_server.base_url + "/chat/completions"
    assert chat_server.requests[0].body["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_oversize_answer_is_a_typed_error_not_retried(
    chat_server: ModelServer, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_wire, "MAX_RESPONSE_BYTES", 2000)
    chat_server.add(Turn(text="x" * 5000), Turn(text="never"))
    with pytest.raises(ModelProviderError, match="larger than 2000 bytes") as caught:
        await model_for(chat_server, transport=transport).request(_request())
    assert caught.value.retryable is False and caught.value.status == 200
    assert len(chat_server.requests) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_compressed_answer_is_bounded_by_what_it_unpacks_to(
    chat_server: ModelServer, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip
    import json

    monkeypatch.setattr(_wire, "MAX_RESPONSE_BYTES", 2000)
    answer = {"choices": [{"message": {"content": "z" * 5000}, "finish_reason": "stop"}]}
    packed = gzip.compress(json.dumps(answer).encode())
    assert len(packed) < 2000
    chat_server.add(Raw(200, packed, headers={"content-encoding": "gzip"}))
    model = model_for(chat_server, transport=transport)
    with pytest.raises(ModelProviderError, match="larger than 2000 bytes"):
        await model.request(_request())
    monkeypatch.setattr(_wire, "MAX_RESPONSE_BYTES", 10_000)
    chat_server.add(Raw(200, packed, headers={"content-encoding": "gzip"}))
    assert (await model.request(_request())).text == "z" * 5000


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_oversize_stream_event_is_a_typed_error(
    chat_server: ModelServer, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_wire, "MAX_RESPONSE_BYTES", 2000)
    chat_server.add(Raw(200, b"data: " + b"x" * 5000, "text/event-stream"))
    model = model_for(chat_server, transport=transport, runtime=None)
    with pytest.raises(ModelProviderError, match="stream event is larger than 2000 bytes"):
        async for _ in model.stream(_request()):
            pass
    # Events that fit pass, however many bytes the whole stream has.
    chat_server.add(Turn(text="y" * 3000))
    text = [e async for e in model.stream(_request())][-1].text  # type: ignore[union-attr]
    assert text == "y" * 3000


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_stream_that_is_not_utf8_is_retried(
    chat_server: ModelServer, transport: str
) -> None:
    chat_server.add(Raw(200, b"data: \xff\xfe{}\n\n", "text/event-stream"), Turn(text="ok"))
    seen: list[Event] = []
    events = [e async for e in model_for(chat_server, transport=transport).stream(_request(seen))]
    assert events[-1].text == "ok"  # type: ignore[union-attr]
    [retry] = seen
    assert "not UTF-8" in retry.error  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_stream_left_early_frees_its_connection(
    chat_server: ModelServer, transport: str
) -> None:
    model = model_for(chat_server, transport=transport, runtime=None)
    model.max_inflight = 1  # type: ignore[attr-defined]
    chat_server.add(Turn(text="a b c d e f"), Turn(text="after"))
    stream = model.stream(_request())
    await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    # The one slot in flight is free again: the next request goes through.
    assert (await model.request(_request())).text == "after"


def test_sse_parser_splits_events_across_chunks() -> None:
    parser = _wire.SseParser("m")
    assert parser.feed(b"event: a\r\ndata: 1\r") == []
    assert parser.feed(b"\n\r\n: comment\ndata: x\ndata:y\n") == [("a", "1")]
    assert parser.feed(b"\nda") == [(None, "x\ny")]
    assert parser.feed(b"ta: cut") == []
    assert parser.end() == []  # a last line without its line end was cut: dropped
    assert _wire.SseParser("m").feed(b"data: z\n") == []


def test_sse_parser_reads_characters_split_across_chunks() -> None:
    parser = _wire.SseParser("m")
    text = "data: h\u00e9llo \u2713\n\n".encode()
    cut = text.index("\u2713".encode()) + 1  # inside the three bytes of the check mark
    assert parser.feed(text[:cut]) == []
    assert parser.feed(text[cut:] + b"event: e\ndata: 1\n\ndata: 2\r\n\r\n") == [
        (None, "h\u00e9llo \u2713"),
        ("e", "1"),
        (None, "2"),  # the event name of the one before is not carried over
    ]
    # A line that is not UTF-8 fails once it is complete, not while it is being cut.
    broken = _wire.SseParser("m")
    assert broken.feed(b"data: \xff") == []
    with pytest.raises(ModelProviderError, match="not UTF-8"):
        broken.feed(b"\n\n")


def _events_line_by_line(stream: bytes) -> list[tuple[str | None, str]]:
    """The events of a whole stream, read one line at a time (what the parser must agree with,
    however the stream is cut into chunks)."""
    out: list[tuple[str | None, str]] = []
    event: str | None = None
    data: list[str] = []
    *lines, _ = stream.decode().split("\n")
    for line in lines:
        line = line.removesuffix("\r")
        if not line:
            if data:
                out.append((event, "\n".join(data)))
            event, data = None, []
        elif line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif line.startswith("event:"):
            event = line[6:].strip()
    return out


def test_sse_parser_agrees_with_line_by_line_reading_however_the_stream_is_cut() -> None:
    import random

    shapes = [
        b'data: {"a": 1}\n\n',
        b"data:x\n\n",
        b"data: \n\n",
        b"data: one\ndata: two\n\n",
        b"event: e\ndata: named\n\n",
        b"data: then named\nevent: late\n\n",
        b": comment\n\n",
        b"\n\n",
        b"id: 7\nretry: 10\ndata: with fields\n\n",
        b"data: crlf\r\n\r\n",
        "data: caf\u00e9 \u2713\n\n".encode(),
        b"event: ping\ndata: {}\n\n",
        b"event:  spaced \ndata: s\n\n",
        b"event: x\nid: 1\ndata: y\n\n",
        b"event: \ndata: nameless\n\n",
        b"event: only\n\n",
        b"event: two\ndata: a\ndata: b\n\n",
    ]
    rng = random.Random(22)
    for _ in range(600):
        stream = b"".join(rng.choice(shapes) for _ in range(rng.randint(1, 8)))
        stream += rng.choice([b"", b"data: unfinished\n", b"data: cut"])
        cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 4))))
        parser = _wire.SseParser("m")
        got: list[tuple[str | None, str]] = []
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            got.extend(parser.feed(stream[start:end]))
        assert got == _events_line_by_line(stream), stream
        pending = stream.endswith(b"data: unfinished\n")
        assert parser.end() == ([(None, "unfinished")] if pending else [])


def test_request_bytes_are_json_even_with_lone_surrogates() -> None:
    import json

    assert json.loads(_wire.encode_body({"a": "\udc80", "b": [1, None]})) == {
        "a": "\udc80",
        "b": [1, None],
    }
    assert json.loads(_wire.encode_body({"text": "héllo"})) == {"text": "héllo"}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_escaped_lone_surrogate_in_an_answer_is_read(
    chat_server: ModelServer, transport: str
) -> None:
    body = b'{"choices": [{"message": {"content": "a\\udc80"}, "finish_reason": "stop"}]}'
    chat_server.add(Raw(200, body))
    response = await model_for(chat_server, transport=transport).request(_request())
    assert response.text == "a\udc80"
    with pytest.raises(ValueError):
        _wire.loads("[1, 2")


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_redirect_is_not_followed_and_not_retried(
    chat_server: ModelServer, transport: str, stream: bool
) -> None:
    elsewhere = "http://elsewhere.example/v1/chat/completions?sig=secret-token"
    chat_server.add(HTTPError(307, headers={"location": elsewhere}), Turn(text="never"))
    model = model_for(chat_server, transport=transport)
    with pytest.raises(ModelProviderError) as caught:
        await _ask(model, stream)
    error = caught.value
    assert error.status == 307 and error.retryable is False
    assert "elsewhere.example/v1/chat/completions" in str(error)
    assert "secret-token" not in str(error)
    assert len(chat_server.requests) == 1 and chat_server.pending == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_endpoints_per_loop_are_bounded_and_busy_ones_stay(
    chat_server: ModelServer, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from servers import Delay

    from tether.models import _http

    models: list[Any] = [
        OpenAIChatModel(
            "gpt-4o-mini", api_key=f"key-{i}", base_url=chat_server.base_url, transport=transport
        )
        for i in range(4)
    ]
    chat_server.add(Delay(0.2, Turn(text="slow")))
    slow = asyncio.create_task(models[0].request(_request()))
    await asyncio.sleep(0.05)  # models[0]'s request is in flight
    busy = await models[0]._get_endpoint()
    cache = _http._endpoints[asyncio.get_running_loop()]
    monkeypatch.setattr(_http, "MAX_ENDPOINTS", 1)
    chat_server.add_text("one")
    assert (await models[1].request(_request())).text == "one"
    assert next(iter(cache.values())) is busy and len(cache) == 2  # the bound gave way
    assert (await slow).text == "slow"
    for model in models[2:]:
        chat_server.add_text("ok")
        assert (await model.request(_request())).text == "ok"
        assert len(cache) == 1  # ...and holds again once nothing is in flight
    assert busy not in cache.values()
    assert busy.http.is_closed if transport == "httpx" else busy._session is None
    chat_server.add_text("back")
    assert (await models[0].request(_request())).text == "back"  # opened again when needed
    assert chat_server.requests[-1].headers["authorization"] == "Bearer key-0"


def test_without_aiohttp_the_sdk_path_is_the_default_and_aiohttp_a_clear_error(
    chat_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import importlib.util
    import sys

    from tether.errors import UserError
    from tether.models import _http

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiohttp" else found(name, *a)
    )
    monkeypatch.setattr(_http, "_default_transport", None)
    monkeypatch.delenv("TETHER_HTTP_TRANSPORT", raising=False)
    assert _http.default_transport() == "httpx"
    chat_server.add_text("via the SDK")
    model: Any = model_for(chat_server, runtime=None)
    assert model.transport == "httpx"
    assert asyncio.run(model.request(_request())).text == "via the SDK"
    # aiohttp asked for but not importable: a UserError naming the extra.
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.delitem(sys.modules, "tether.models._aio", raising=False)
    forced: Any = model_for(chat_server, runtime=None, transport="aiohttp")
    with pytest.raises(UserError, match=r"tether\[aiohttp\]"):
        asyncio.run(forced.request(_request()))
