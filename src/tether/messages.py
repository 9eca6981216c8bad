"""Provider-neutral messages, each made of parts.

A conversation is a list of :class:`Message`. A message has a role (``system``, ``user``,
``assistant`` or ``tool``) and parts: text, a tool call, a tool result, a refusal, or reasoning.
Every provider adapter maps these to and from its wire format; the loop speaks only these.
All types round-trip through plain JSON with :func:`message_to_dict` / :func:`message_from_dict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from .errors import UserError

__all__ = [
    "Message",
    "Part",
    "ReasoningPart",
    "RefusalPart",
    "Role",
    "TextPart",
    "ToolCallPart",
    "ToolResultPart",
    "estimate_tokens",
    "input_to_messages",
    "message_from_dict",
    "message_to_dict",
    "messages_to_input_list",
]

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]


@dataclass(slots=True)
class TextPart:
    """Plain text."""

    text: str
    kind: Literal["text"] = "text"


@dataclass(slots=True)
class ToolCallPart:
    """The model asks for a tool. ``arguments`` is the raw JSON text the model produced."""

    call_id: str
    name: str
    arguments: str
    kind: Literal["tool_call"] = "tool_call"

    def args_dict(self) -> dict[str, Any]:
        """The arguments parsed as a JSON object (raises ``ValueError`` when they are not one)."""
        if not self.arguments.strip():
            return {}
        import json  # not at `from tether import Agent`

        try:
            value = json.loads(self.arguments)
        except RecursionError:  # nested thousands of levels deep: a ValueError like bad JSON
            raise NestedTooDeep("tool arguments are nested too deeply to parse") from None
        if not isinstance(value, dict):
            raise ValueError("tool arguments must be a JSON object")
        return value


class NestedTooDeep(ValueError):
    """Tool arguments nested deeper than the JSON parser can go (``ToolCallPart.args_dict``)."""


@dataclass(slots=True)
class ToolResultPart:
    """The result of a tool call, as text sent back to the model."""

    call_id: str
    name: str
    content: str
    is_error: bool = False
    kind: Literal["tool_result"] = "tool_result"


@dataclass(slots=True)
class RefusalPart:
    """The model refused to answer."""

    refusal: str
    kind: Literal["refusal"] = "refusal"


@dataclass(slots=True)
class ReasoningPart:
    """Reasoning ("thinking") content; ``signature``/``provider_data`` let it be sent back."""

    text: str
    signature: str | None = None
    provider_data: dict[str, Any] | None = None
    kind: Literal["reasoning"] = "reasoning"


Part: TypeAlias = TextPart | ToolCallPart | ToolResultPart | RefusalPart | ReasoningPart

_PART_TYPES: dict[str, type[Any]] = {
    "text": TextPart,
    "tool_call": ToolCallPart,
    "tool_result": ToolResultPart,
    "refusal": RefusalPart,
    "reasoning": ReasoningPart,
}


@dataclass(slots=True)
class Message:
    """One message of a conversation."""

    role: Role
    parts: list[Part] = field(default_factory=list)
    #: The agent that produced an assistant message (for multi-agent transcripts).
    agent: str | None = None

    @classmethod
    def user(cls, text: str) -> Message:
        """A user message holding one text part."""
        return cls("user", [TextPart(text)])

    @classmethod
    def system(cls, text: str) -> Message:
        """A system message holding one text part."""
        return cls("system", [TextPart(text)])

    @classmethod
    def assistant(cls, text: str) -> Message:
        """An assistant message holding one text part."""
        return cls("assistant", [TextPart(text)])

    @property
    def text(self) -> str:
        """The concatenated text parts."""
        parts = self.parts
        if len(parts) == 1:  # the usual message: no generator for it
            part = parts[0]
            return part.text if isinstance(part, TextPart) else ""
        return "".join(p.text for p in parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        """The tool-call parts, in order."""
        return [p for p in self.parts if isinstance(p, ToolCallPart)]

    @property
    def tool_results(self) -> list[ToolResultPart]:
        """The tool-result parts, in order."""
        return [p for p in self.parts if isinstance(p, ToolResultPart)]


def part_to_dict(part: Part) -> dict[str, Any]:
    """A part as a JSON-ready dict (``kind`` names its type); ``None`` fields are left out."""
    out: dict[str, Any] = {}
    for name in part.__slots__:
        value = getattr(part, name)
        if value is not None:
            out[name] = value
    return out


def part_from_dict(data: dict[str, Any]) -> Part:
    """Rebuild a part from :func:`part_to_dict` output."""
    try:
        cls = _PART_TYPES[data["kind"]]
    except KeyError as exc:
        raise ValueError(f"unknown message part: {data!r}") from exc
    part: Part = cls(**{k: v for k, v in data.items() if k != "kind"})
    return part


def message_to_dict(message: Message) -> dict[str, Any]:
    """A message as a JSON-ready dict."""
    out: dict[str, Any] = {"role": message.role, "parts": [part_to_dict(p) for p in message.parts]}
    if message.agent is not None:
        out["agent"] = message.agent
    return out


def message_from_dict(data: dict[str, Any]) -> Message:
    """Rebuild a message from :func:`message_to_dict` output."""
    return Message(data["role"], [part_from_dict(p) for p in data["parts"]], data.get("agent"))


def _content_to_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for block in content:
            if isinstance(block, str):
                texts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                texts.append(block["text"])
            else:
                raise UserError(f"{where}: unsupported content block {block!r}")
        return "".join(texts)
    raise UserError(f"{where}: content must be a string or a list of text blocks")


def _item_to_message(item: Any, index: int) -> Message:
    where = f"input item {index}"
    if isinstance(item, Message):
        return item
    if not isinstance(item, dict):
        raise UserError(f"{where} must be a dict like {{'role': 'user', 'content': ...}}")
    if "parts" in item:
        return message_from_dict(item)
    kind = item.get("type")
    if kind == "function_call":
        part = _call(item, "call_id", item.get("name"), item.get("arguments", ""), where)
        return Message("assistant", [part])
    if kind == "function_call_output":
        output = item.get("output", "")
        call_id = _text_field(item, "call_id", where)
        result = ToolResultPart(call_id, item.get("name", ""), _content_to_text(output, where))
        return Message("tool", [result])
    role = item.get("role")
    if role not in ("system", "developer", "user", "assistant", "tool"):
        raise UserError(f"{where}: role must be system, user, assistant or tool, got {role!r}")
    if role == "tool":
        text = _content_to_text(item.get("content", ""), where)
        call_id = _text_field(item, "tool_call_id", where)
        return Message("tool", [ToolResultPart(call_id, item.get("name", ""), text)])
    parts: list[Part] = []
    content = item.get("content")
    if content:
        parts.append(TextPart(_content_to_text(content, where)))
    for call in item.get("tool_calls") or ():
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise UserError(f"{where}: each of tool_calls needs a 'function' object")
        parts.append(_call(call, "id", fn.get("name"), fn.get("arguments", ""), where))
    return Message("system" if role == "developer" else role, parts)


def _text_field(item: dict[str, Any], key: str, where: str) -> str:
    """``item[key]``, a non-empty string (a UserError naming the field else)."""
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise UserError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _call(item: dict[str, Any], id_key: str, name: Any, arguments: Any, where: str) -> ToolCallPart:
    """A tool call of an input item: its id under ``id_key``, a name, JSON text arguments."""
    call_id = _text_field(item, id_key, where)
    if not isinstance(name, str) or not name:
        raise UserError(f"{where}: a tool call needs a 'name' string, got {name!r}")
    if arguments is None:
        arguments = ""
    elif isinstance(arguments, dict):
        import json  # not at `from tether import Agent`

        arguments = json.dumps(arguments)
    if not isinstance(arguments, str):
        raise UserError(f"{where}: tool call arguments must be JSON text, got {arguments!r}")
    return ToolCallPart(call_id, name, arguments)


def input_to_messages(value: str | Message | Sequence[Any]) -> list[Message]:
    """Normalize run input: a string, a Message, or a list of OpenAI-style input items.

    Accepts ``{"role": ..., "content": ...}`` items (Chat Completions and Responses shapes,
    including ``function_call`` / ``function_call_output`` items and assistant ``tool_calls``)
    and tether's own message dicts. Consecutive tool results are merged into one tool message.
    """
    if isinstance(value, str):
        return [Message.user(value)]
    if isinstance(value, Message):
        return [value]
    if not isinstance(value, Sequence):
        raise UserError("input must be a string or a list of input items")
    messages: list[Message] = []
    for index, item in enumerate(value):
        message = _item_to_message(item, index)
        previous = messages[-1] if messages else None
        if (previous is not None and previous.role == message.role == "tool") or (
            previous is not None
            and previous.role == message.role == "assistant"
            and message.tool_calls
            and not message.text
        ):
            previous.parts.extend(message.parts)
        else:
            messages.append(message)
    if not messages:
        raise UserError("input is empty: give a prompt or at least one input item")
    return messages


def messages_to_input_list(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Messages as OpenAI-style input items, ready to be passed back as a run's input."""
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            for result in message.tool_results:
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": result.call_id,
                        "name": result.name,
                        "output": result.content,
                    }
                )
            continue
        text = message.text
        if text or not message.tool_calls:
            items.append({"role": message.role, "content": text})
        for call in message.tool_calls:
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                }
            )
    return items


def estimate_tokens(message: Message) -> int:
    """A rough token count of ``message`` (4 characters a token, plus a little per message
    and part): the one estimate tether makes, for history budgets, memory recall and the rate
    limiter. A provider's tokenizer counts differently; this only has to be close and cheap."""
    chars = 0
    for part in message.parts:
        if isinstance(part, TextPart):
            chars += len(part.text)
        elif isinstance(part, ToolCallPart):
            chars += len(part.name) + len(part.arguments)
        elif isinstance(part, ToolResultPart):
            chars += len(part.content)
        else:
            chars += len(str(getattr(part, "text", "") or getattr(part, "refusal", "")))
    return 4 + len(message.parts) + chars // 4
