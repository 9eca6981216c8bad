"""MkDocs hook: the API reference, one page per public package, generated from its ``__all__``.

Generated at build time (never committed), so a name added to or removed from a package face is
in the reference at once, and a docstring that does not render fails the strict build.
"""

from __future__ import annotations

import importlib
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

# Package faces, in the order of the reference section. Missing optional ones are skipped.
PACKAGES = (
    "tether",
    "tether.models",
    "tether.events",
    "tether.store",
    "tether.tracing",
    "tether.governance",
    "tether.memory",
    "tether.policies",
    "tether.mcp",
    "tether.skills",
    "tether.server",
    "tether.evals",
    "tether.distributed",
    "tether.a2a",
    "tether.compat",
)


def _targets(package: str) -> list[tuple[str, str]] | None:
    """(public name, where it is defined) for each name of a package's ``__all__``.

    Faces load their names lazily, so the definition is found by importing, not by reading the
    face's source; values without a home of their own (constants) are left to the prose pages.
    """
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    found = []
    for name in sorted(getattr(module, "__all__", ())):
        if name.startswith("_"):
            continue
        try:
            value = getattr(module, name)
        except Exception as exc:  # a broken public name must fail the build, naming itself
            raise PluginError(f"{package}.{name} is in __all__ but does not load: {exc}") from exc
        home, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
        if not home or not qualname or "<" in qualname or not home.startswith("tether"):
            continue
        found.append((name, f"{home}.{qualname}"))
    return found


def page_path(package: str) -> str:
    """Where a package's reference page lives in the site."""
    return f"reference/{package}.md"


def on_files(files: Files, config: Any) -> Files:
    """Add one generated page per package face; each definition is documented once, where it is
    first exported, and listed by name on the later faces that export it too."""
    documented: dict[str, str] = {}  # definition -> the package page it is on
    for package in PACKAGES:
        targets = _targets(package)
        if targets is None:
            continue
        lines = [f"# `{package}`", "", f"::: {package}", "    options:", "      members: false", ""]
        also = [(n, t) for n, t in targets if t in documented]
        if also:
            lines += ["Also exported here (documented where first exported):", ""]
            for name, target in also:
                home = documented[target]
                link = f"{page_path(home)[len('reference/') :]}#{target}"
                lines.append(f"- [`{package}.{name}`]({link}) (see `{home}`)")
            lines.append("")
        for name, target in targets:
            if target in documented:
                continue
            documented[target] = package
            lines += [
                f"::: {target}",
                "    options:",
                f"      heading: {package}.{name}",
                "      heading_level: 2",
                "",
            ]
        files.append(File.generated(config, page_path(package), content="\n".join(lines)))
    return files


def on_nav(nav: Navigation, config: Any, files: Files) -> Navigation:
    """List every generated page under the nav's "API reference" section (mkdocs.yml names only
    the first), so a new package face needs no edit of mkdocs.yml."""
    section = next((item for item in nav.items if item.title == "API reference"), None)
    if not isinstance(section, Section):
        raise PluginError('mkdocs.yml needs an "API reference" section in its nav')
    listed = {page.file.src_uri for page in section.children if isinstance(page, Page)}
    for package in PACKAGES:
        file = files.get_file_from_path(page_path(package))
        if file is None or file.src_uri in listed:
            continue
        page = Page(package, file, config)
        page.parent = section
        section.children.append(page)
        nav.pages.append(page)
    in_nav = {page.file.src_uri for page in nav.pages}
    missing = sorted(
        f.src_uri
        for f in files.documentation_pages()
        if f.src_uri not in in_nav and not f.generated_by
    )
    if missing:  # mkdocs only says so at INFO once this hook extends the nav: keep it an error
        raise PluginError(f"pages missing from mkdocs.yml's nav: {', '.join(missing)}")
    return nav
