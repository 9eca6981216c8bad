"""docs/ links only to files in the repository (and to headings that exist), and the examples
the issue names run when pasted alone into a file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

# [text](target) and [text]: target; images too. Code spans and fenced blocks are skipped.
_INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
_FENCE = re.compile(r"^\s*```.*?^\s*```", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_EXTERNAL = ("http://", "https://", "mailto:")


def _prose(text: str) -> str:
    return _CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub and mkdocs make it (lowercase, punctuation dropped)."""
    text = _CODE.sub(lambda m: m.group(0).strip("`"), heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)}


def links(page: Path) -> list[str]:
    """The link targets of a page's prose."""
    text = _prose(page.read_text())
    return [m.group(1) for m in _INLINE.finditer(text)] + _REFERENCE.findall(text)


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """What in ``page`` links to nothing in ``root`` (or to a missing heading)."""
    problems = []
    for target in links(page):
        if target.startswith(_EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        try:
            resolved.relative_to(root)
        except ValueError:
            problems.append(f"{target}: outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_link_only_to_files_in_the_repository(page: Path) -> None:
    assert broken_links(page) == []


def test_the_checker_finds_broken_links(tmp_path: Path) -> None:
    assert links(ROOT / "docs" / "models.md")  # the real pages have links to check
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "models.md").write_text("# Models\n\n## Model strings\n")
    probe = docs / "probe.md"
    probe.write_text(
        "# Probe\n\n[ok](models.md) [gone](nowhere.md) [out](../../shared/DESIGN.md) "
        "[anchor](models.md#no-such-heading) [good](models.md#model-strings) [self](#probe) "
        "[web](https://example.com)\n`[in code](missing.md)`\n\n```md\n[in a block](x.md)\n```\n"
    )
    assert broken_links(probe, tmp_path) == [
        "nowhere.md: no such file",
        "../../shared/DESIGN.md: outside the repository",
        "models.md#no-such-heading: no heading #no-such-heading in models.md",
    ]


def _block_after(page: Path, heading: str) -> str:
    text = page.read_text()
    section = text[text.index(heading) :]
    match = re.search(r"^```python\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert match is not None, f"no python block after {heading!r}"
    return match.group(1)


@pytest.mark.allow_blocking
def test_the_approvals_across_processes_example_runs_pasted_alone(tmp_path: Path) -> None:
    code = _block_after(ROOT / "docs" / "durability.md", "## Approvals across processes")
    script = tmp_path / "approvals.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "waiting: refund {'amount': 30}" in done.stdout
    assert "still waiting: refund {'amount': 30}" in done.stdout
