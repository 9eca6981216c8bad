"""A2AAgent: a remote A2A agent as a tether Agent (a handoff target, or a tool via as_tool)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Generator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..agent import Agent
from ..errors import TetherError, UserError
from ..mcp._errors import safe_url
from ..messages import TextPart
from ..models.base import ModelRequest, ModelResponse, ModelStreamEvent
from ..usage import Usage

__all__ = ["A2AAgent", "A2AError"]


class A2AError(TetherError):
    """The remote A2A agent could not be reached, or its task failed (names the URL)."""


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    segment = [p for p in parts.path.split("/") if p][-1:] or [parts.hostname or "remote"]
    return segment[0]


def _last_user_text(request: ModelRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            text = message.text
            if text:
                return text
    return ""


def _no_url(exc: BaseException, url: str) -> str:
    """The exception's text with ``url`` (which may hold credentials) shown safely."""
    return str(exc).replace(url, safe_url(url))


def _origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, a scheme's default port as None."""
    parsed = httpx.URL(str(url))
    return parsed.scheme, parsed.host, parsed.port


class _OriginHeaders(httpx.Auth):
    """Sets the caller's headers on requests to the agent's own origin only: a card may name
    another host for its interfaces, and that host is not handed the credentials."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.origin = _origin(url)
        self.headers = headers

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) == self.origin:
            request.headers.update(self.headers)
        yield request


class _A2AModel:
    """A "model" that answers by sending the latest user message to a remote A2A agent."""

    def __init__(self, url: str, headers: Mapping[str, str], timeout: float) -> None:
        self.url = url
        self.headers = dict(headers)
        self.timeout = timeout
        self._card: Any = None

    @property
    def name(self) -> str:
        """``a2a:<url>``."""
        return f"a2a:{self.url}"

    async def _send(self, text: str) -> tuple[str, Any]:
        """Send ``text``; the final task (or message) as (final text, structured data or None)."""
        try:
            from a2a.client import ClientConfig, create_client
            from a2a.helpers.proto_helpers import get_data_parts, get_text_parts
            from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest, TaskState
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise UserError('A2AAgent needs the a2a extra: pip install "tether[a2a]"') from exc

        message = Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[Part(text=text)])
        try:
            auth = _OriginHeaders(self.url, self.headers) if self.headers else None
            async with httpx.AsyncClient(auth=auth, timeout=self.timeout) as http:
                config = ClientConfig(httpx_client=http, streaming=False)
                client = await create_client(self._card or self.url, client_config=config)
                if self._card is None:
                    self._card = getattr(client, "_card", None)
                task: Any = None
                reply: Any = None
                async for event in client.send_message(SendMessageRequest(message=message)):
                    if event.HasField("task"):
                        task = event.task
                    elif event.HasField("message"):
                        reply = event.message
        except A2AError:
            raise
        except Exception as exc:
            raise A2AError(
                f"A2A agent {safe_url(self.url)} failed: {type(exc).__name__}"
                + (f": {_no_url(exc, self.url)}" if str(exc) else "")
            ) from None
        if reply is not None:
            return "\n".join(get_text_parts(reply.parts)), None
        if task is None:
            raise A2AError(
                f"A2A agent {safe_url(self.url)} answered with neither a task nor a message"
            )
        state = task.status.state
        status_text = "\n".join(get_text_parts(task.status.message.parts))
        if state == TaskState.TASK_STATE_COMPLETED:
            texts: list[str] = []
            data: list[Any] = []
            for artifact in task.artifacts:
                texts.extend(get_text_parts(artifact.parts))
                data.extend(get_data_parts(artifact.parts))
            return "\n".join(texts) or status_text, (data[0] if data else None)
        if state == TaskState.TASK_STATE_INPUT_REQUIRED:
            return (
                f"The remote agent needs input (task {task.id}): {status_text}",
                None,
            )
        name = TaskState.Name(state).removeprefix("TASK_STATE_").lower()
        raise A2AError(
            f"A2A agent {safe_url(self.url)}: task {task.id} ended {name}"
            + (f": {status_text}" if status_text else "")
        )

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Forward the latest user message; the remote agent's answer is the response."""
        text, _data = await self._send(_last_user_text(request))
        return ModelResponse([TextPart(text)], usage=Usage(requests=1), model_name=self.name)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """The answer as one piece (the remote task runs to its end first)."""
        from ..models.base import TextDelta

        response = await self.request(request)
        yield TextDelta(response.text)
        yield response


class A2AAgent(Agent):
    """A remote A2A agent, as a tether :class:`~tether.Agent`.

    Use it as a handoff target (``handoffs=[A2AAgent(url)]``) or as a tool
    (``tools=[A2AAgent(url).as_tool()]``); ``await A2AAgent(url).run("...")`` asks it directly.
    Each run sends the latest user message to the agent at ``url`` (its card is read from
    ``url/.well-known/agent-card.json``) and answers with the text of the task's artifacts.
    ``headers`` (e.g. ``Authorization``) are sent with every request to ``url``'s own origin,
    never to another host a card names. A task that fails or is cancelled raises
    :class:`A2AError`; one that needs input answers with its question.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        description: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 120.0,
        **fields: Any,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise UserError(f"A2AAgent needs an http:// or https:// URL, got {url!r}")
        model = _A2AModel(url.rstrip("/"), headers or {}, timeout)
        super().__init__(
            name or _default_name(url),
            model=model,
            description=description or f"The remote A2A agent at {url}.",
            max_turns=fields.pop("max_turns", 2),
            **fields,
        )

    @property
    def url(self) -> str:
        """The remote agent's URL."""
        model = self.model
        assert isinstance(model, _A2AModel)
        return model.url
