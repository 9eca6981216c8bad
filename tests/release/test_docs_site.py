"""The documentation site: built strict (as `make docs` does) and read in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _install_chromium

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page(served: str) -> Iterator[Any]:
    _install_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page()
        outside: list[str] = []  # the site must load nothing from another host
        tab.on(
            "request",
            lambda request: None if request.url.startswith(served) else outside.append(request.url),
        )
        yield tab
        assert outside == []
        browser.close()


def test_every_page_of_the_nav_and_the_api_reference_is_built(site: Path) -> None:
    for page in ("index.html", "agents.html", "benchmarks.html", "versioning.html"):
        assert (site / page).is_file(), page
    reference = site / "reference" / "tether.html"
    text = reference.read_text()
    assert "tether.Agent" in text and "tether.Runner" in text  # from the docstrings
    assert (site / "search" / "search_index.json").is_file()
    for system in ("agentroute", "openai-agents-sdk", "afk", "routekitai", "pydantic-ai"):
        page = (site / f"migrating-{system}.html").read_text()
        assert "Migrating from" in page  # one page per system users come from
    for package in ("tether.memory", "tether.distributed", "tether.server", "tether.evals"):
        assert (site / "reference" / f"{package}.html").is_file(), package


def test_every_link_to_a_heading_lands_on_one(site: Path) -> None:
    # A link into another page's heading must find that id on the built page (it did not for
    # serving.md -> scaling.md#tether-serve---engine-ray, GitHub's slug, under mkdocs' own).
    ids: dict[Path, set[str]] = {}
    broken = []
    for html in site.rglob("*.html"):
        if "reference" in html.parts:
            continue
        for href in re.findall(r'href="([^"#:]+\.html)#([^"]+)"', html.read_text()):
            target = (html.parent / href[0]).resolve()
            if target not in ids:
                ids[target] = set(re.findall(r'id="([^"]+)"', target.read_text()))
            if href[1] not in ids[target]:
                broken.append(f"{html.relative_to(site)} -> {href[0]}#{href[1]}")
    assert broken == []


def test_search_finds_a_page_and_code_blocks_render(page: Any, served: str) -> None:
    page.goto(f"{served}/tools.html")
    code = page.locator(".highlight code").first
    assert code.is_visible()
    assert "import" in code.inner_text() or "def " in code.inner_text()
    page.keyboard.press("/")  # the site's search shortcut
    page.keyboard.type("checkpoint")
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 1
    assert "checkpoint" in page.locator(".md-search-result").inner_text().lower()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-search.png"))


def test_the_benchmarks_page_shows_its_chart(page: Any, served: str) -> None:
    page.goto(f"{served}/benchmarks.html")
    chart = page.locator("img[src$='bench-chart.svg']")
    assert chart.count() == 1
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
