"""MkDocs hook: one page per system users migrate from, cut from docs/migrating.md.

docs/migrating.md stays the single source (the docs test runs its examples); each of its
``## <system>`` sections also becomes a page of its own, ``migrating-<slug>.md``, listed under
the nav's "Migrating to tether" section, so a user of one system reads only their page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

SOURCE = "migrating.md"
SECTION = "Migrating to tether"
# The sections that are systems (others, like the shared notes, stay on the overview only).
SYSTEMS = ("agentroute", "OpenAI Agents SDK", "afk", "routekitai", "Pydantic AI")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def on_files(files: Files, config: Any) -> Files:
    """Add a generated page per system section of docs/migrating.md."""
    source = Path(config["docs_dir"]) / SOURCE
    sections = _sections(source.read_text(encoding="utf-8"))
    missing = [name for name in SYSTEMS if name not in sections]
    if missing:
        raise PluginError(f"{SOURCE} has no section for: {', '.join(missing)}")
    for name in SYSTEMS:
        content = (
            f"# Migrating from {name}\n\n"
            f"This page is the {name} part of [Migrating to tether]({SOURCE}).\n{sections[name]}"
        )
        files.append(File.generated(config, f"migrating-{_slug(name)}.md", content=content))
    return files


def on_nav(nav: Navigation, config: Any, files: Files) -> Navigation:
    """List the generated pages under the nav item for docs/migrating.md."""
    for section in _walk(nav.items):
        for index, item in enumerate(section.children):
            if isinstance(item, Page) and item.file.src_uri == SOURCE:
                group = Section(SECTION, [item])
                group.parent = section
                item.parent = group
                for name in SYSTEMS:
                    file = files.get_file_from_path(f"migrating-{_slug(name)}.md")
                    if file is None:  # pragma: no cover - added by on_files above
                        continue
                    page = Page(f"From {name}", file, config)
                    page.parent = group
                    group.children.append(page)
                    nav.pages.insert(nav.pages.index(item) + len(group.children) - 1, page)
                section.children[index] = group
                return nav
    raise PluginError(f"mkdocs.yml's nav must list {SOURCE}")


def _walk(items: list[Any]) -> list[Section]:
    found = []
    for item in items:
        if isinstance(item, Section):
            found.append(item)
            found += _walk(item.children)
    return found
