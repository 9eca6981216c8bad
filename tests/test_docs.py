"""Every code block in docs/ and every file in examples/ runs, so the docs cannot rot.

- docs/*.md: the ```python blocks of one page run in order, in one namespace, as a script
  (``__name__ == "__main__"``) with a temporary directory as the working directory. Mark a block
  ```python skip-test only when it cannot run offline (a real provider key, a real server).
  A failure's traceback points at the page and the line in it.
- examples/*.py: each runs as ``python examples/<file>.py`` in a fresh interpreter, offline.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
EXAMPLE_TIMEOUT = 60

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`]*)$")


@dataclass
class Block:
    """One fenced code block of a page."""

    line: int  # 1-based line of the first code line in the page
    info: str  # the fence's info string, e.g. "python" or "python skip-test"
    code: str

    @property
    def runs(self) -> bool:
        words = self.info.split()
        return bool(words) and words[0] in ("python", "py") and "skip-test" not in words[1:]


def code_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order (indented fences, e.g. in lists, too)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent = opening["indent"]
        body: list[str] = []
        index += 1
        start = index + 1
        while index < len(lines) and lines[index].strip() != "```":
            body.append(
                lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index]
            )
            index += 1
        if index == len(lines):
            raise AssertionError(f"unclosed ``` fence opened at line {start - 1}")
        blocks.append(Block(start, opening["info"].strip(), textwrap.dedent("\n".join(body))))
        index += 1
    return blocks


def test_the_block_parser() -> None:
    page = textwrap.dedent(
        """\
        # Title

        ```python
        x = 1
        ```

        - a list item:

          ```python
          y = x + 1
          ```

        ```python skip-test
        needs_a_key()
        ```

        ```sh
        make test
        ```
        """
    )
    blocks = code_blocks(page)
    assert [(b.line, b.info, b.code, b.runs) for b in blocks] == [
        (4, "python", "x = 1", True),
        (10, "python", "y = x + 1", True),
        (14, "python skip-test", "needs_a_key()", False),
        (18, "sh", "make test", False),
    ]
    with pytest.raises(AssertionError, match="unclosed"):
        code_blocks("```python\nx = 1\n")


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_doc_page(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__", "__file__": str(page)}
    for block in code_blocks(page.read_text()):
        if not block.runs:
            continue
        # Padding with blank lines makes a traceback name the line of the page itself.
        source = "\n" * (block.line - 1) + block.code
        exec(compile(source, str(page), "exec"), namespace)


def test_there_are_pages_and_examples() -> None:
    names = {p.name for p in DOCS}
    assert {"agents.md", "tools.md", "results.md", "errors.md", "testing.md"} <= names
    assert "quickstart.py" in {p.name for p in EXAMPLES}


def test_results_page_lists_every_result_field() -> None:
    """docs/results.md names every field, property and method of Result (issue 12)."""
    import dataclasses
    import inspect

    from tether import Result

    text = (ROOT / "docs" / "results.md").read_text()
    names = [f.name for f in dataclasses.fields(Result)]
    names += [n for n, v in inspect.getmembers(Result) if isinstance(v, property)]
    names += [n for n, v in vars(Result).items() if callable(v) and not n.startswith("_")]
    missing = [n for n in names if not re.search(rf"[`.]{n}[`(]", text)]
    assert not missing, f"docs/results.md does not list Result.{missing}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example(example: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{example.name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{example.name} printed nothing"
