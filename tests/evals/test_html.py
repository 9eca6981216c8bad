"""The HTML report in headless Chromium: one self-contained file (nothing fetched), a bar per
case, the diff against the baseline, and each case linked to its trace."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from ui.conftest import CHROMIUM, CHROMIUM_ARGS, _install_chromium

from tether import Agent
from tether.evals import Case, Dataset, Report, evaluate_sync

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _install_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` in a thread: Playwright's sync API keeps an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result(timeout=30)


def _baseline(report: Report) -> Report:
    """The report as it was "yesterday": chile passed then, japan failed."""
    data = report.to_dict()
    for case in data["cases"]:
        if case["name"] == "chile":
            case["scores"]["exact"] = 1.0
        if case["name"] == "japan":
            case["scores"]["exact"] = 0.0
    return Report.from_dict(data)


def test_the_report_page(
    browser: Any, sample_agent: Agent, sample_data: Dataset, tmp_path: Path, trace_dir: Path
) -> None:
    report = in_thread(evaluate_sync, sample_agent, sample_data, ["exact", "tool:lookup"])
    page_file = tmp_path / "report.html"
    report.to_html(page_file, baseline=_baseline(report))
    requests: list[str] = []
    page = browser.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri())

    assert page.title() == "tether eval: capitals"
    assert "67%" in page.inner_text("#aggregates")
    # the chart: one bar per case, its mean score; the baseline's score marked beside it
    bars = page.locator("svg#chart rect.bar")
    assert bars.count() == 6
    scores = {
        bars.nth(i).get_attribute("data-case"): bars.nth(i).get_attribute("data-score")
        for i in range(6)
    }
    assert scores == {
        "france": "1",
        "japan": "1",
        "kenya": "1",
        "peru": "1",
        "chile": "0.5",  # exact 0, tool:lookup 1
        "greeting": "0.5",  # exact 1, tool:lookup 0
    }
    assert page.locator("svg#chart rect.bar.fail").count() == 2
    assert page.locator("svg#chart line.base").count() == 6
    assert float(bars.nth(0).get_attribute("width") or 0) > 0
    # the diff against the baseline
    assert page.inner_text("#diff-summary").startswith("1 regression(s), 1 improvement(s)")
    regression = page.locator("#diff tr.regression")
    assert regression.count() == 1 and "chile" in regression.inner_text()
    assert "japan" in page.inner_text("#diff tr.improvement")
    chile = page.locator('#cases tr.case[data-case="chile"]')
    assert "(-1 vs 1)" in chile.inner_text()
    # every case links to its JSONL trace file, which is there
    links = page.locator("#cases a.trace")
    assert links.count() == 6
    for i in range(6):
        href = links.nth(i).get_attribute("href") or ""
        trace_id = links.nth(i).inner_text()
        assert href == (trace_dir / f"{trace_id}.jsonl").resolve().as_uri()
        assert (trace_dir / f"{trace_id}.jsonl").is_file()
    # self-contained: the page asked for nothing but itself
    assert requests == [page_file.as_uri()]
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.close()


def test_a_report_without_baseline_or_traces(browser: Any, tmp_path: Path) -> None:
    cases = [Case("plain", "x", "X"), Case("<b>bold</b>", "<i>&</i>", "<I>&</I>")]
    report = in_thread(evaluate_sync, lambda text: text.upper(), cases)
    page_file = tmp_path / "r.html"
    report.to_html(page_file, trace_url="http://127.0.0.1:8321/#/trace/{trace_id}")
    page = browser.new_page()
    page.goto(page_file.as_uri())
    assert page.locator("#comparison").count() == 0
    assert page.locator("svg#chart rect.bar").count() == 2
    assert page.locator("#cases a.trace").count() == 0  # a function task has no trace
    assert "<script" not in page_file.read_text()
    # names and outputs are text, never markup
    assert page.locator("#cases b, #cases i").count() == 0
    assert "<I>&</I>" in page.inner_text('#cases tr.case[data-case="<b>bold</b>"]')
    page.close()
