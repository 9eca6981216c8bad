"""The README (the package's PyPI page) and the site's home page tell a user what to install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
USER_EXTRAS = sorted(set(PYPROJECT["project"]["optional-dependencies"]) - {"dev", "docs"})


def _install_section(page: Path) -> str:
    match = re.search(r"^## Install\n(.*?)^## ", page.read_text(), re.MULTILINE | re.DOTALL)
    assert match is not None, f"{page.name} has no ## Install section"
    return match.group(1)


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_install_section_names_every_extra(page: str) -> None:
    section = _install_section(ROOT / page)
    assert 'pip install "tether[server]"' in section
    named = sorted(re.findall(r"^\| `([\w-]+)` \|", section, re.MULTILINE))
    assert named == USER_EXTRAS


def test_the_readme_is_the_package_description() -> None:
    assert PYPROJECT["project"]["readme"] == "README.md"
