"""MCP client: the tools, resources and prompts of an MCP server, for tether agents.

A connection is owned by one background task (the MCP SDK's transports are anyio task groups,
which must be entered and left by the same task), so any task may call the server, and a dead
connection can be replaced from inside a tool call. A call that meets a dead connection is
reported as a tool error; the next call opens a new connection.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import shlex
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from ..errors import Retry, UserError
from ..tools import Tool
from ._errors import MCPConnectionError, describe_failure, is_connection_failure, safe_url

__all__ = ["MCPServer", "MCPServerHTTP", "MCPServerStdio"]

#: A bearer token, or a function (sync or async) that returns the current one.
TokenSource = str | Callable[[], str | Awaitable[str]]


def import_mcp() -> Any:
    """The ``mcp`` package, or a UserError naming the extra."""
    try:
        import mcp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UserError('MCP support needs the mcp extra: pip install "tether[mcp]"') from exc
    return mcp


class MCPServer:
    """A connection to one MCP server. Use it as an async context manager.

    ``connect_timeout`` bounds opening the connection (start and handshake); ``timeout`` bounds
    each tool call. ``reconnect=False`` turns off opening a new connection after one died.
    """

    def __init__(
        self,
        *,
        prefix: str | None = None,
        timeout: float | None = 30.0,
        needs_approval: bool = False,
        connect_timeout: float = 20.0,
        reconnect: bool = True,
    ) -> None:
        self.prefix = prefix
        self.timeout = timeout
        self.needs_approval = needs_approval
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self._session: Any = None
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._entered = False
        self._tools: list[Tool[Any]] | None = None
        self._remote_names: set[str] = set()
        #: The last HTTP error status the server answered (HTTP servers), for the errors.
        self._http_status: int | None = None
        #: How many connections were opened (1 after connecting, more after reconnects).
        self.connections = 0

    # -- what subclasses provide ----------------------------------------------------------------

    def describe(self) -> str:
        """The server as a person would recognise it (its URL or command line)."""
        raise NotImplementedError

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        raise NotImplementedError

    # -- the connection ------------------------------------------------------------------------

    async def __aenter__(self) -> MCPServer:
        self._entered = True
        try:
            await self._connect()
        except BaseException:
            self._entered = False
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._entered = False
        self._tools = None
        await self._disconnect()

    async def _connect(self) -> Any:
        mcp = import_mcp()
        self._http_status = None
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = loop.create_future()
        stop = asyncio.Event()

        async def own() -> None:
            try:
                async with AsyncExitStack() as stack:
                    read, write = await self._open_streams(stack)
                    session = await stack.enter_async_context(
                        mcp.ClientSession(read, write, message_handler=self._on_message)
                    )
                    await session.initialize()
                    if not ready.done():
                        ready.set_result(session)
                    await stop.wait()
            except BaseException as exc:  # the connection failed, or ended under us
                if not ready.done():
                    failure = describe_failure(
                        self.describe(), exc, opening=True, http_status=self._http_status
                    )
                    ready.set_exception(failure)
                if self._session is not None and self._owner is asyncio.current_task():
                    self._session = None
                if isinstance(exc, asyncio.CancelledError):
                    raise

        owner = loop.create_task(own(), name=f"mcp connection to {self.describe()}")
        try:
            async with asyncio.timeout(self.connect_timeout):
                session = await asyncio.shield(ready)
        except TimeoutError:
            ready.cancel()  # nobody waits for it now: the cut-short opening must not fill it
            owner.cancel()
            await asyncio.gather(owner, return_exceptions=True)
            raise MCPConnectionError(
                f"MCP server {self.describe()} did not answer the handshake within "
                f"{self.connect_timeout:g} s"
            ) from None
        except BaseException:
            await asyncio.gather(owner, return_exceptions=True)
            raise
        self._session, self._owner, self._stop = session, owner, stop
        self.connections += 1
        return session

    async def _disconnect(self) -> None:
        owner, stop = self._owner, self._stop
        self._session, self._owner, self._stop = None, None, None
        if owner is None or stop is None:
            return
        stop.set()
        try:
            async with asyncio.timeout(10):
                await asyncio.gather(owner, return_exceptions=True)
        except TimeoutError:  # pragma: no cover - a transport that does not close
            owner.cancel()
            await asyncio.gather(owner, return_exceptions=True)

    async def _live_session(self) -> Any:
        if not self._entered:
            raise UserError(
                f"the MCP server {self.describe()} is not connected: use it as `async with server:`"
            )
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._session is not None and self._owner is not None and not self._owner.done():
                return self._session
            if not self.reconnect and self.connections:
                raise MCPConnectionError(
                    f"the connection to MCP server {self.describe()} is closed"
                )
            await self._disconnect()
            return await self._connect()

    async def _on_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if method == "notifications/tools/list_changed":
            self._tools = None  # asked again on the next list_tools()

    async def _request(self, what: str, send: Callable[[Any], Awaitable[Any]]) -> Any:
        session = await self._live_session()
        try:
            return await send(session)
        except Exception as exc:
            if is_connection_failure(exc):
                # This connection is dead: the next call opens a new one.
                if self._session is session:
                    await self._disconnect()
                raise describe_failure(
                    self.describe(), exc, opening=False, what=what, http_status=self._http_status
                ) from None
            raise

    # -- tools ---------------------------------------------------------------------------------

    async def list_tools(self) -> list[Tool[Any]]:
        """The server's tools as tether tools.

        Asked once per connection and cached; a ``notifications/tools/list_changed`` from the
        server (or a reconnect) makes the next call ask again.
        """
        if self._tools is None:
            listing = await self._request("tools/list", lambda s: s.list_tools())
            self._remote_names = {t.name for t in listing.tools}
            self._tools = [self._make_tool(t) for t in listing.tools]
        return list(self._tools)

    def _make_tool(self, spec: Any) -> Tool[Any]:
        remote_name: str = spec.name
        schema = getattr(spec, "input_schema", None) or getattr(spec, "inputSchema", None) or {}
        schema = {k: v for k, v in schema.items() if k != "title"}

        async def call(**arguments: Any) -> Any:
            return await self.call_tool(remote_name, arguments)

        name = f"{self.prefix}_{remote_name}" if self.prefix else remote_name
        return Tool.from_schema(
            name,
            spec.description or "",
            schema,
            call,
            needs_approval=self.needs_approval,
            timeout=self.timeout,
        )

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call a tool on the server; its structured (or text) result, or Retry on an error.

        A dead connection raises :class:`MCPConnectionError` (a tool error inside a run) and
        the next call connects again.
        """
        result = await self._request(f"tools/call {name!r}", lambda s: s.call_tool(name, arguments))
        texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
        if getattr(result, "is_error", False):
            raise Retry("\n".join(texts) or f"MCP tool {name!r} failed")
        structured = getattr(result, "structured_content", None)
        if structured is not None:
            if set(structured) == {"result"}:
                return structured["result"]
            return structured
        if len(texts) == 1:
            return texts[0]
        return json.dumps(texts) if texts else ""

    # -- resources and prompts ----------------------------------------------------------------

    async def list_resources(self) -> list[dict[str, Any]]:
        """The server's resources: dicts with ``uri``, ``name``, ``description``, ``mime_type``."""
        listing = await self._request("resources/list", lambda s: s.list_resources())
        return [
            {
                "uri": str(r.uri),
                "name": r.name,
                "description": getattr(r, "description", None),
                "mime_type": getattr(r, "mime_type", None),
            }
            for r in listing.resources
        ]

    async def read_resource(self, uri: str) -> str | bytes:
        """A resource's content: its text, or its bytes for a binary resource."""
        import base64

        result = await self._request(f"resources/read {uri!r}", lambda s: s.read_resource(uri))
        texts: list[str] = []
        for item in result.contents:
            text = getattr(item, "text", None)
            if text is not None:
                texts.append(text)
                continue
            blob = getattr(item, "blob", None)
            if blob is not None:
                return base64.b64decode(blob)
        return "\n".join(texts)

    async def list_prompts(self) -> list[dict[str, Any]]:
        """The server's prompts: dicts with ``name``, ``description`` and ``arguments``."""
        listing = await self._request("prompts/list", lambda s: s.list_prompts())
        return [
            {
                "name": p.name,
                "description": getattr(p, "description", None),
                "arguments": [
                    {"name": a.name, "required": bool(getattr(a, "required", False))}
                    for a in (getattr(p, "arguments", None) or [])
                ],
            }
            for p in listing.prompts
        ]

    async def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None
    ) -> list[dict[str, str]]:
        """A prompt rendered by the server: a list of ``{"role", "content"}`` text messages."""
        result = await self._request(
            f"prompts/get {name!r}", lambda s: s.get_prompt(name, dict(arguments or {}))
        )
        messages: list[dict[str, str]] = []
        for message in result.messages:
            content = message.content
            text = getattr(content, "text", None)
            messages.append({"role": str(message.role), "content": text if text else str(content)})
        return messages


class MCPServerStdio(MCPServer):
    """An MCP server started as a subprocess, spoken to over its stdin/stdout."""

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        *,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        prefix: str | None = None,
        timeout: float | None = 30.0,
        needs_approval: bool = False,
        connect_timeout: float = 20.0,
        reconnect: bool = True,
    ) -> None:
        super().__init__(
            prefix=prefix,
            timeout=timeout,
            needs_approval=needs_approval,
            connect_timeout=connect_timeout,
            reconnect=reconnect,
        )
        self.command = command
        self.args = list(args)
        self.env = env
        self.cwd = cwd

    def describe(self) -> str:
        """The command line that starts the server."""
        return f"`{shlex.join([self.command, *self.args])}`"

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        mcp = import_mcp()
        params = mcp.StdioServerParameters(
            command=self.command, args=self.args, env=self.env, cwd=self.cwd
        )
        streams = await stack.enter_async_context(mcp.stdio_client(params))
        return streams[0], streams[1]


class MCPServerHTTP(MCPServer):
    """An MCP server reached over Streamable HTTP at ``url``.

    ``headers`` are sent with every request (an API key header, say). ``auth`` is a bearer
    token, a function (sync or async) returning the current token (asked for every request, so
    a refreshed OAuth token is picked up), or an ``httpx2.Auth`` such as the MCP SDK's
    ``OAuthClientProvider``. Header values never appear in tether's errors or traces.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: TokenSource | Any = None,
        prefix: str | None = None,
        timeout: float | None = 30.0,
        needs_approval: bool = False,
        connect_timeout: float = 20.0,
        reconnect: bool = True,
    ) -> None:
        super().__init__(
            prefix=prefix,
            timeout=timeout,
            needs_approval=needs_approval,
            connect_timeout=connect_timeout,
            reconnect=reconnect,
        )
        if not url.startswith(("http://", "https://")):
            raise UserError(f"MCPServerHTTP needs an http:// or https:// URL, got {url!r}")
        self.url = url
        self.headers = dict(headers or {})
        self.auth = auth

    def describe(self) -> str:
        """The server's URL (without credentials or query values)."""
        return safe_url(self.url)

    def _httpx_auth(self) -> Any:
        import httpx2

        auth = self.auth
        if auth is None or isinstance(auth, httpx2.Auth):
            return auth
        if not (isinstance(auth, str) or callable(auth)):
            raise UserError(
                "MCPServerHTTP auth= takes a bearer token, a function returning one, "
                f"or an httpx2.Auth; got {type(auth).__name__}"
            )
        return _bearer_auth(auth)

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        import_mcp()
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        client = await stack.enter_async_context(
            create_mcp_http_client(headers=self.headers or None, auth=self._httpx_auth())
        )

        async def note_status(response: Any) -> None:  # the SDK's errors drop the status
            if response.status_code >= 400:
                self._http_status = response.status_code

        client.event_hooks["response"] = [*client.event_hooks["response"], note_status]
        streams = await stack.enter_async_context(
            streamable_http_client(self.url, http_client=client)
        )
        return streams[0], streams[1]


def _bearer_auth(source: TokenSource) -> Any:
    """An ``httpx2.Auth`` that sets ``Authorization: Bearer <token>`` on every request."""
    import httpx2

    class _Bearer(httpx2.Auth):
        async def async_auth_flow(self, request: Any) -> Any:
            token = source() if callable(source) else source
            if inspect.isawaitable(token):
                token = await token
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    return _Bearer()
