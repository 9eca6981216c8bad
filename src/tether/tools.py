"""Tools: plain functions the model may call, with a JSON schema built from their signature.

The schema comes from the type hints (through pydantic) and the docstring (parameter
descriptions in Google, NumPy or reST style, through docstring-parser). A parameter annotated
:class:`~tether.Context` is injected by the run and never shown to the model. Sync functions run
in a worker thread so they cannot block the event loop; async functions are awaited.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    TypedDict,
    TypeVar,
    Unpack,
    cast,
    get_origin,
    get_type_hints,
    overload,
)

from ._lazy_model import validation_error
from ._schema import model_schema
from ._schema_check import schema_problems
from ._typeddicts import portable
from .context import Context
from .errors import Retry, UserError
from .models.base import ToolSpec

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from ._spec import AgentSpec
    from .governance.permissions import ToolPermissions
    from .governance.sandbox import ToolSandbox

__all__ = [
    "ApprovalPredicate",
    "Deferred",
    "Tool",
    "ToolArgumentsError",
    "ToolEffect",
    "ToolOptions",
    "tool",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
#: What a tool's call does outside the run (see ``Tool.effect``).
ToolEffect = Literal["none", "external"]
ApprovalPredicate = Callable[[Context[Any], dict[str, Any]], bool | Awaitable[bool]]

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ToolOptions(TypedDict, total=False):
    """How a tool is run, as :class:`Tool`, :func:`tool`, ``Agent.tool`` and
    ``Tool.from_schema`` take it (each key optional; the defaults are :class:`Tool`'s).

    - ``needs_approval``: True, or ``fn(ctx, args) -> bool``: a person approves each call.
    - ``timeout``: seconds a call may take. ``idempotent``: running a call twice is harmless.
    - ``strict``: the model must send exactly the schema (``additionalProperties: false``).
    - ``permissions`` / ``sandbox``: what the tool touches, and the worker that enforces it.
    - ``effect``: ``"external"`` (recorded in the effect ledger) or ``"none"``.
    """

    needs_approval: bool | ApprovalPredicate
    timeout: float | None
    idempotent: bool
    strict: bool
    permissions: ToolPermissions | Mapping[str, Any] | None
    sandbox: bool | ToolSandbox
    effect: ToolEffect | None


#: Each option's value when it is not given: what :class:`Tool` uses, and the signatures show.
_OPTION_DEFAULTS: dict[str, Any] = {
    "needs_approval": False,
    "timeout": None,
    "idempotent": False,
    "strict": False,
    "permissions": None,
    "sandbox": False,
    "effect": None,
}


def spell_out_options(function: F) -> F:
    """Show ``**options: Unpack[ToolOptions]`` as the keyword arguments it stands for, to
    ``inspect.signature`` and ``help()`` (type checkers read the TypedDict itself)."""
    signature = inspect.signature(function)
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    spelled = [
        inspect.Parameter(option, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for option, declared in ToolOptions.__annotations__.items()
        for kind in (getattr(declared, "__forward_arg__", declared),)
        for default in (_OPTION_DEFAULTS[option],)
    ]
    function.__signature__ = signature.replace(parameters=[*kept, *spelled])  # type: ignore[attr-defined]
    return function


def _checked_options(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - set(ToolOptions.__annotations__))
    if unknown:
        raise UserError(
            f"unknown tool option {', '.join(map(repr, unknown))}: the options are "
            f"{', '.join(ToolOptions.__annotations__)}"
        )


class ToolArgumentsError(Retry):
    """The model's arguments for a tool did not validate; ``message`` is sent back to it (a
    :class:`~tether.Retry`: the model is asked to call again)."""


def _checked_predicate(name: str, decide: Any) -> bool | ApprovalPredicate:
    """``needs_approval`` once it is a bool or a function ``(ctx, args) -> bool``."""
    if isinstance(decide, bool) or callable(decide):
        return cast("bool | ApprovalPredicate", decide)
    raise UserError(f"tool {name!r}: needs_approval must be a bool or a function, got {decide!r}")


def _checked_effect(name: str, effect: Any, idempotent: bool) -> ToolEffect | None:
    if effect is not None and effect not in ("none", "external"):
        raise UserError(f"tool {name!r}: effect= takes 'external', 'none' or None, got {effect!r}")
    if effect == "external" and idempotent:
        raise UserError(
            f"tool {name!r}: effect='external' and idempotent=True contradict each other: an "
            "external effect cut short by a crash is never run again by itself (drop "
            "idempotent=True), or declare effect='none' for a call that is safe to repeat"
        )
    return effect  # type: ignore[no-any-return]


def _annotated(function: Callable[..., Any]) -> Any:
    """Where a callable's annotations live: the function itself, a partial's function, or the
    ``__call__`` of a callable object."""
    if isinstance(function, functools.partial):
        return _annotated(function.func)
    if inspect.isroutine(function):
        return function
    return type(function).__call__


def _is_context(annotation: Any) -> bool:
    return annotation is Context or get_origin(annotation) is Context


def format_validation_error(tool_name: str, error: ValidationError) -> str:
    """A precise, model-readable description of what was wrong with the arguments."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "(arguments)"
        got = item.get("input")
        import json  # not at `from tether import Agent`

        shown = json.dumps(got, default=repr)[:80] if item["type"] != "missing" else "nothing"
        problems.append(f"- {where}: {item['msg']} (got {shown})")
    return (
        f"Invalid arguments for tool {tool_name!r}:\n" + "\n".join(problems) + "\n"
        "Fix the arguments and call the tool again."
    )


class _Shape:
    """What a function looks like as a tool: built once per function and name (pydantic's
    model and schema generation is the slow part of defining a tool), then shared."""

    __slots__ = (
        "args_model",
        "context_param",
        "description",
        "is_async",
        "parameters",
        "positional",
    )

    def __init__(self, function: Callable[..., Any], name: str) -> None:
        # A partial of an async function, or an object with `async def __call__`, is async too.
        self.is_async = inspect.iscoroutinefunction(_annotated(function))
        import docstring_parser  # only needed when a tool is defined: keep it off import time

        doc = docstring_parser.parse(inspect.getdoc(function) or "")
        self.description = "\n\n".join(
            part for part in (doc.short_description, doc.long_description) if part
        )
        param_docs = {p.arg_name: p.description for p in doc.params if p.description}
        self.context_param: str | None = None
        positional: list[str] = []
        self.args_model = self._build_args_model(function, name, param_docs, positional)
        self.positional = tuple(positional)
        self.parameters: dict[str, Any] = model_schema(self.args_model.model_json_schema())
        self.parameters.setdefault("properties", {})

    def _build_args_model(
        self,
        function: Callable[..., Any],
        name: str,
        param_docs: dict[str, str],
        positional: list[str],
    ) -> type[BaseModel]:
        # pydantic loads when the first tool is defined, not at `from tether import Agent`
        from pydantic import ConfigDict, Field, create_model

        signature = inspect.signature(function)
        try:
            hints = get_type_hints(_annotated(function), include_extras=True)
        except Exception as exc:  # a forward reference that cannot be resolved
            raise UserError(
                f"tool {name!r}: cannot resolve type hints: {exc}. Types named in a tool's "
                "signature must be importable from its module (a class defined inside a "
                "function is not, under `from __future__ import annotations`)"
            ) from exc
        field_defs: dict[str, Any] = {}
        for index, (pname, param) in enumerate(signature.parameters.items()):
            annotation = portable(hints.get(pname, Any))  # a typing.TypedDict before 3.12
            if _is_context(annotation):
                if index != 0:
                    raise UserError(
                        f"tool {name!r}: the Context parameter {pname!r} must come first"
                    )
                self.context_param = pname
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise UserError(
                    f"tool {name!r}: *args/**kwargs cannot be described to a model; "
                    "declare each parameter with a type"
                )
            if param.kind is param.POSITIONAL_ONLY:
                positional.append(pname)
            default = ... if param.default is param.empty else param.default
            # Only pass a description we have: description=None would erase one given in
            # Annotated[..., Field(description=...)].
            doc = param_docs.get(pname)
            field_defs[pname] = (
                annotation,
                Field(default, description=doc) if doc else Field(default),
            )
        return create_model(
            f"{name}_args",
            __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
            **field_defs,
        )


#: Shapes by function (weakly: a function dropped by its owner drops its shapes), then name.
_SHAPES: weakref.WeakKeyDictionary[Any, dict[str, _Shape]] = weakref.WeakKeyDictionary()


def _shape_of(function: Callable[..., Any], name: str) -> _Shape:
    """The function's shape as a tool called ``name``, built on first use."""
    try:
        by_name = _SHAPES.get(function)
    except TypeError:  # neither hashable nor weakly referable: built every time
        return _Shape(function, name)
    if by_name is not None:
        found = by_name.get(name)
        if found is not None:
            return found
    shape = _Shape(function, name)
    with contextlib.suppress(TypeError):
        _SHAPES.setdefault(function, {})[name] = shape
    return shape


class Tool(Generic[T]):
    """A function the model can call. Build one with :func:`tool` or ``@agent.tool``."""

    _args_model: type[BaseModel] | None

    __slots__ = (
        "_args_model",
        "_checked",
        "_positional",
        "context_param",
        "description",
        "effect",
        "function",
        "idempotent",
        "is_async",
        "name",
        "needs_approval",
        "parameters",
        "permissions",
        "sandbox",
        "strict",
        "subagent",
        "timeout",
    )

    def __init__(
        self,
        function: Callable[..., T] | Callable[..., Awaitable[T]],
        *,
        name: str | None = None,
        description: str | None = None,
        **options: Unpack[ToolOptions],
    ) -> None:
        _checked_options(options)
        given: dict[str, Any] = {**_OPTION_DEFAULTS, **options}
        needs_approval = given["needs_approval"]
        timeout = given["timeout"]
        idempotent, strict, effect = given["idempotent"], given["strict"], given["effect"]
        if not callable(function):
            raise UserError(f"a tool must wrap a callable, got {function!r}")
        if isinstance(function, Tool):
            raise UserError(f"{function!r} is already a Tool: use it as it is, or .with_name()")
        self.function = function
        self.name: str = name or str(getattr(function, "__name__", ""))
        if not self.name:
            raise UserError(f"{function!r} has no __name__: give the tool a name=")
        if not _NAME_RE.match(self.name):
            raise UserError(
                f"tool name {self.name!r} is invalid: use 1-64 letters, digits, '_' or '-'"
            )
        if timeout is not None and timeout <= 0:
            raise UserError(f"tool {self.name!r}: timeout must be positive, got {timeout}")
        self.needs_approval = _checked_predicate(self.name, needs_approval)
        self.timeout = timeout
        #: What calling the tool does outside the run: "external" (a payment, a mail: recorded
        #: in the store's effect ledger, never re-run by itself after a crash), "none" (safe
        #: to run again), or None (undeclared; ``idempotent`` decides).
        self.effect: ToolEffect | None = _checked_effect(self.name, effect, idempotent)
        self.idempotent = idempotent or effect == "none"
        self.strict = strict
        shape = _shape_of(function, self.name)
        self.is_async = shape.is_async
        self.subagent: AgentSpec | None = None
        self.description = description or shape.description
        self.context_param: str | None = shape.context_param
        self._positional: list[str] = list(shape.positional)
        self._args_model = shape.args_model
        #: validate_args' last dict, a copy of it and its result (see invoke)
        self._checked: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None
        # Shared between the tools made from one function (read-only once built); strict
        # tools get their own copy, with additionalProperties closed.
        self.parameters: dict[str, Any] = shape.parameters
        if strict:
            self.parameters = {**shape.parameters, "additionalProperties": False}
        self._govern(given["permissions"], given["sandbox"])

    def _govern(
        self,
        permissions: ToolPermissions | Mapping[str, Any] | None,
        sandbox: bool | ToolSandbox | None,
    ) -> None:
        """``permissions`` (what the tool touches, see tether.governance.permissions) and
        ``sandbox`` (True or a ToolSandbox: run each call in a worker that enforces them)."""
        #: What the tool declares it touches (None: nothing declared).
        self.permissions: ToolPermissions | None = None
        #: The sandbox each call runs in (None: in the run's process).
        self.sandbox: ToolSandbox | None = None
        if permissions is None and sandbox is False:
            return
        from .governance.permissions import ToolPermissions
        from .governance.sandbox import ToolSandbox

        self.permissions = ToolPermissions.parse(permissions)
        if sandbox is True:
            sandbox = ToolSandbox()
        if sandbox is not False and sandbox is not None:
            if not isinstance(sandbox, ToolSandbox):
                raise UserError(f"tool {self.name!r}: sandbox= takes True or a ToolSandbox")
            if self.context_param is not None:
                raise UserError(
                    f"tool {self.name!r}: a sandboxed tool runs in another process and "
                    "cannot take a Context"
                )
            self.sandbox = sandbox

    def spec(self) -> ToolSpec:
        """The description sent to the model."""
        return ToolSpec(self.name, self.description, self.parameters, self.strict)

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: dict[str, Any],
        function: Callable[..., Awaitable[Any]],
        **options: Unpack[ToolOptions],
    ) -> Tool[Any]:
        """A tool described by a JSON schema rather than a signature (MCP tools, remote APIs).

        ``function`` is async and receives the arguments as keyword arguments. Arguments are
        checked against the schema's top level (required names, unknown names, basic types);
        deeper checks are the function's own.
        """

        async def placeholder() -> Any:  # gives __init__ a signature without parameters
            return None

        made: Tool[Any] = Tool(placeholder, name=name, description=description or name, **options)
        made.function = function
        made.parameters = {"type": "object", "properties": {}, **parameters}
        made._args_model = None
        return made

    def validate_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Validate the model's arguments; raises :class:`ToolArgumentsError` with a hint.

        The next :meth:`invoke` with the same dict, unchanged, runs with this result rather
        than validating it again (the run validates before it starts the call)."""
        kwargs = self._validated(args)
        self._checked = (args, dict(args), dict(kwargs))
        return kwargs

    def _validated(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._args_model is None:
            problems = schema_problems(self.parameters, args)
            if problems:
                raise ToolArgumentsError(
                    f"Invalid arguments for tool {self.name!r}:\n"
                    + "\n".join(problems)
                    + "\nFix the arguments and call the tool again."
                )
            return dict(args)
        try:  # (model_validate without its Python frame)
            model = self._args_model.__pydantic_validator__.validate_python(args)
        except validation_error() as exc:  # evaluated only when validation failed
            raise ToolArgumentsError(format_validation_error(self.name, exc)) from None
        return dict(model.__dict__)  # the fields, by name (extra="forbid": nothing else)

    async def requires_approval(self, ctx: Context[Any], args: dict[str, Any]) -> bool:
        """Whether this call must wait for a person's approval."""
        decide = self.needs_approval
        if isinstance(decide, bool):
            return decide
        try:
            verdict = decide(ctx, args)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:  # the person's rule is broken: say whose, do not run the call
            raise UserError(
                f"tool {self.name!r}: its needs_approval function raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return bool(verdict)

    async def invoke(self, ctx: Context[Any], args: dict[str, Any]) -> T:
        """Validate ``args`` and run the function (in a thread when it is sync, in a
        sandboxed worker process when the tool has a ``sandbox``)."""
        import asyncio  # not at import time: the loop that runs this has loaded it

        from ._threads import contained_call, run_sync  # not at `from tether import Agent`

        checked, self._checked = self._checked, None  # used once
        if checked is not None and checked[0] is args and checked[1] == args:
            kwargs = checked[2]  # validate_args checked this very dict, unchanged since
        else:
            kwargs = self._validated(args)
        if self.sandbox is not None:
            from .governance.sandbox import run_sandboxed

            # the worker has no Context: the call's key reaches it as $TETHER_IDEMPOTENCY_KEY
            key = ctx.idempotency_key if ctx is not None and ctx.tool_call_id else None
            sandboxed = run_sandboxed(self, args, idempotency_key=key)
            if self.timeout is None:
                return await sandboxed  # type: ignore[no-any-return]
            async with asyncio.timeout(self.timeout):
                return await sandboxed  # type: ignore[no-any-return]
        positional = [kwargs.pop(p) for p in self._positional] if self._positional else []
        if self.context_param is not None:
            positional.insert(0, ctx)
        if self.is_async:
            # SystemExit/KeyboardInterrupt of the tool fails this call only (ToolRaisedExit);
            # a question for a person (ctx.request_input, InputRequired) passes.
            coro: Any = contained_call(self.function(*positional, **kwargs))  # type: ignore[arg-type]
            if self.timeout is None:
                return await coro  # type: ignore[no-any-return]
            async with asyncio.timeout(self.timeout):
                return await coro  # type: ignore[no-any-return]
        call: Any = contained_call(run_sync(self.function, *positional, **kwargs))  # threads
        if self.timeout is None:
            return await call  # type: ignore[no-any-return]
        async with asyncio.timeout(self.timeout):
            return await call  # type: ignore[no-any-return]

    def with_name(self, name: str, description: str | None = None) -> Tool[T]:
        """A copy of this tool under another name (and description)."""
        clone: Tool[T] = Tool.__new__(Tool)
        for slot in Tool.__slots__:
            setattr(clone, slot, getattr(self, slot))
        if not _NAME_RE.match(name):
            raise UserError(f"tool name {name!r} is invalid: use 1-64 letters, digits, '_' or '-'")
        clone.name = name
        if description is not None:
            clone.description = description
        return clone

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly (handy in tests)."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r})"


class Deferred:
    """Return this from a tool whose result will come later (a background job, a human task).

    The call stays open under ``ticket``: the run finishes the rest of the turn's calls, then
    waits (interactive) or ends ``awaiting_deferred`` (headless). The result is delivered with
    ``handle.resolve(call_id, output)`` or ``runner.resolve_deferred(run_id, call_id, output)``,
    from any process sharing the store.
    """

    __slots__ = ("message", "ticket")

    def __init__(self, ticket: str, message: str | None = None) -> None:
        self.ticket = ticket
        self.message = message

    def __repr__(self) -> str:
        return f"Deferred(ticket={self.ticket!r})"


_BIG_INT = 1 << 64  # an int past it is left to the encoder (str() limits an int's digits)


def tool_output_to_text(value: Any) -> str:
    """How a tool's return value is shown to the model: strings as they are, the rest as JSON."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int and -_BIG_INT < value < _BIG_INT:  # as JSON, without the encoder
        return str(value)
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    from pydantic_core import to_json  # loaded by the first tool, not at import

    try:
        return to_json(value).decode()
    except Exception:
        return repr(value)


@overload
def tool(function: Callable[..., Any], /) -> Tool[Any]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    **options: Unpack[ToolOptions],
) -> Callable[[Callable[..., Any]], Tool[Any]]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    **options: Unpack[ToolOptions],
) -> Tool[Any] | Callable[[Callable[..., Any]], Tool[Any]]:
    """Make a :class:`Tool` from a function; use bare (``@tool``) or with arguments.

    ``idempotent=True`` declares that running the call twice is harmless, so a call cut short by
    a crash may be run again on resume. ``effect="external"`` declares that the call changes
    something outside the run (pass ``ctx.idempotency_key`` on): each call is recorded in the
    store's effect ledger, and one cut short by a crash resumes ``interrupted`` with its key
    for the caller to check; ``effect="none"`` is the same as ``idempotent=True``.
    ``permissions={"network": [...], "filesystem": {"read": [...], "write": [...]},
    "subprocess": False}`` declares what the tool touches;
    ``sandbox=True`` (or a ``ToolSandbox``) runs each call in a worker process that enforces
    it (see docs/governance.md).
    """

    _checked_options(options)  # now, not when the decorator is applied

    def wrap(fn: Callable[..., Any]) -> Tool[Any]:
        return Tool(fn, name=name, description=description, **options)

    return wrap(function) if function is not None else wrap


def as_tool(value: Tool[Any] | Callable[..., Any]) -> Tool[Any]:
    """A Tool as it is, or a callable wrapped as one."""
    return value if isinstance(value, Tool) else Tool(value)


spell_out_options(Tool.__init__)
spell_out_options(Tool.from_schema.__func__)  # type: ignore[attr-defined]
spell_out_options(tool)
