"""The task every framework runs: one tool call to ``add(1, 2)``, then the answer."""

from __future__ import annotations

PROMPT = "What is 1 + 2?"
ANSWER = "The answer is 3"
STREAM_PIECES = ("The ", "answer ", "is ", "3")
MODEL = "gpt-4o-mini"
API_KEY = "sk-test"
TOOL_ARGS = {"a": 1, "b": 2}
TOOL_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
    "additionalProperties": False,
}


async def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def check(answer: object) -> str:
    """The answer as text, or an error when a framework got the task wrong."""
    text = str(answer)
    if not text.endswith("3"):
        raise RuntimeError(f"wrong answer: {text!r}")
    return text
