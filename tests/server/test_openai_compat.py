"""The official ``openai`` client against the server's Chat Completions and Responses endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tether import Agent, Runner
from tether.models import FunctionModel
from tether.store import open_store

from .conftest import LiveServer, serve


@pytest.fixture
async def oai(live: LiveServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0) as made:
        yield made


async def test_models_are_the_agents(oai: AsyncOpenAI) -> None:
    models = [m.id async for m in oai.models.list()]
    assert {"helper", "guarded", "slow"} <= set(models)


async def test_chat_completions_plain(oai: AsyncOpenAI) -> None:
    raw = await oai.chat.completions.with_raw_response.create(
        model="helper", messages=[{"role": "user", "content": "please add"}], temperature=0.2
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "the sum is 5"  # the tool ran inside
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    run_id = raw.headers["x-tether-run-id"]
    assert completion.id == f"chatcmpl-{run_id}"


async def test_chat_completions_streamed(oai: AsyncOpenAI) -> None:
    stream = await oai.chat.completions.create(
        model="helper",
        messages=[{"role": "user", "content": "hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert text == "echo: hello" and finish == "stop"
    assert usage is not None and usage.prompt_tokens > 0


async def test_chat_completions_errors(oai: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="no agent named 'ghost'"):
        await oai.chat.completions.create(
            model="ghost", messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(openai.UnprocessableEntityError, match="client-side tools"):
        await oai.chat.completions.create(
            model="helper",
            messages=[{"role": "user", "content": "x"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    with pytest.raises(openai.InternalServerError, match="the model broke"):
        await oai.chat.completions.create(
            model="helper", messages=[{"role": "user", "content": "fail"}]
        )


async def test_a_failed_run_is_not_run_again_by_the_sdks_own_retries(tmp_path: Path) -> None:
    """A run that failed may have had effects (its tools ran): the answer tells the official
    SDK, which retries a 500 twice by default, not to retry (x-should-retry: false)."""

    def broken(messages: list[Any], info: Any) -> Any:
        raise RuntimeError("the model broke")

    url = f"sqlite:///{tmp_path}/runs.db"
    agent = Agent("broken", model=FunctionModel(broken))
    server = serve(Runner(store=url, telemetry=None, agents=[agent]))
    try:
        async with AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused") as sdk:
            assert sdk.max_retries == 2  # the SDK's default, left as a user leaves it
            with pytest.raises(openai.InternalServerError, match="the model broke") as chat:
                await sdk.chat.completions.create(
                    model="broken", messages=[{"role": "user", "content": "x"}]
                )
            with pytest.raises(openai.InternalServerError, match="the model broke") as responses:
                await sdk.responses.create(model="broken", input="x")
    finally:
        server.stop()
    for failed in (chat.value, responses.value):
        assert failed.response.headers["x-should-retry"] == "false"
        assert failed.response.headers["x-tether-run-id"]
    store = open_store(url)
    try:
        runs = await store.list_runs()
    finally:
        await store.close()
    assert len(runs) == 2 and {r.status for r in runs} == {"failed"}  # one run per request
    assert {r.run_id for r in runs} == {
        chat.value.response.headers["x-tether-run-id"],
        responses.value.response.headers["x-tether-run-id"],
    }


async def test_responses_plain(oai: AsyncOpenAI) -> None:
    raw = await oai.responses.with_raw_response.create(
        model="helper", input="please add", instructions="be brief"
    )
    response = raw.parse()
    assert response.output_text == "the sum is 5"
    assert response.status == "completed"
    assert response.usage is not None and response.usage.input_tokens > 0
    assert response.id == f"resp_{raw.headers['x-tether-run-id']}"


async def test_responses_streamed(oai: AsyncOpenAI) -> None:
    stream = await oai.responses.create(model="helper", input="hello there", stream=True)
    kinds, deltas, final = [], "", None
    async for event in stream:
        kinds.append(event.type)
        if event.type == "response.output_text.delta":
            deltas += event.delta
        elif event.type == "response.completed":
            final = event.response
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert deltas == "echo: hello there"
    assert final is not None and final.output_text == "echo: hello there"


async def test_hints_for_openais_own_serving_are_accepted(oai: AsyncOpenAI) -> None:
    # what clients send for OpenAI's prompt cache, abuse tracking and answer length: an agent
    # decides its own model settings, so they are accepted and ignored, not a 422
    hints = {"prompt_cache_key": "k1", "safety_identifier": "user-1"}
    completion = await oai.chat.completions.create(
        model="helper",
        messages=[{"role": "user", "content": "hello"}],
        verbosity="low",
        prompt_cache_retention="24h",
        **hints,
    )
    assert completion.choices[0].message.content == "echo: hello"
    response = await oai.responses.create(
        model="helper", input="hello", prompt_cache_retention="24h", **hints
    )
    assert response.output_text == "echo: hello"


async def test_responses_refuses_unknown_fields(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url) as client:
        body = {"model": "helper", "input": "x", "previous_response_id": "resp_1"}
        answer = await client.post("/v1/responses", json=body)
    assert answer.status_code == 422
    assert "previous_response_id" in answer.json()["error"]["message"]
