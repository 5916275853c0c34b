"""The HTML report in a real headless Chromium, opened from file:// with the network blocked.

Needs the system Chromium (`apt-get install chromium`) and the playwright package
(`pip install -e '.[test]'`; `playwright install` is not needed). Without them these tests skip,
except under CI (the `CI` environment variable set), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from dedup import Report
from dedup.html import render_html
from dedup.render import report_to_dict

from .test_render import XSS_IMG, XSS_SCRIPT, sample_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Records every blocked Content-Security-Policy request and any script that ran from data.
WATCH = """
window.__blocked = [];
document.addEventListener("securitypolicyviolation", (e) => window.__blocked.push(e.blockedURI));
"""


INSTALL = "install them with: apt-get install chromium; pip install -e '.[test]'"


def _unavailable(reason: str) -> NoReturn:
    message = f"{reason}; the browser tests need Chromium and playwright, {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (required when CI is set)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pipeline_report(folder: Path) -> Report:
    """The real reader and detector over one fixture folder."""
    try:
        from dedup.detect import detect
        from dedup.readers import read_articles
    except ImportError as exc:
        pytest.skip(f"the reader or detector is not available yet: {exc}")
    read = read_articles([folder])
    return detect(read.articles, skipped=read.skipped)


@dataclass
class Opened:
    """A report open in a page, with every request the page tried beyond the report itself."""

    page: Page
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_quiet(self) -> None:
        assert self.requests == [], "the page tried to reach the network"
        assert self.page.evaluate("window.__blocked") == []
        assert self.errors == []


@pytest.fixture
def open_report(browser: Browser, tmp_path: Path) -> Iterator[Callable[..., Opened]]:
    contexts: list[BrowserContext] = []

    def open_(report: Report, fragment: str = "") -> Opened:
        path = tmp_path / "report.html"
        path.write_text(render_html(report), encoding="utf-8")
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        opened = Opened(page=context.new_page(), url=path.as_uri())

        def block(route: Route) -> None:
            if route.request.url.split("#")[0] == opened.url:
                route.continue_()
            else:
                opened.requests.append(route.request.url)
                route.abort()

        context.route("**/*", block)
        opened.page.add_init_script(WATCH)
        opened.page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
        opened.page.goto(opened.url + fragment)
        opened.page.wait_for_selector("[data-story-detail]", state="attached")
        return opened

    yield open_
    for context in contexts:
        context.close()


def _kim_putin(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The seed story about Kim and Putin, and the index of its match with most passages."""
    for story in data["stories"]:
        titles = " ".join(m["title"] for m in story["members"])
        if "Kim" in titles and "Putin" in titles and story["matches"]:
            best = max(
                range(len(story["matches"])), key=lambda i: len(story["matches"][i]["passages"])
            )
            return story, best
    raise AssertionError("no Kim/Putin story in the seed report")


def _check_highlights(opened: Opened, report: Report, match: dict[str, Any]) -> None:
    page = opened.page
    passages = match["passages"]
    assert passages, "the pair has shared passages to highlight"
    marks_a = page.locator(".pane-a mark[data-passage]")
    marks_b = page.locator(".pane-b mark[data-passage]")
    assert marks_a.count() == len(passages)
    assert marks_b.count() == len(passages)
    text_b = report.articles[match["b"]].text
    # passages are in the order of a; on b's side they are in b's order
    assert [marks_a.nth(k).get_attribute("data-passage") for k in range(len(passages))] == [
        str(k) for k in range(len(passages))
    ]
    for k, passage in enumerate(passages):
        assert page.locator(f'.pane-a mark[data-passage="{k}"]').text_content() == passage["text"]
        assert (
            page.locator(f'.pane-b mark[data-passage="{k}"]').text_content()
            == text_b[passage["b_start"] : passage["b_end"]]
        )
    for side, key in (("a", "a"), ("b", "b")):
        text = report.articles[match[key]].text
        used = sum(p[f"{key}_end"] - p[f"{key}_start"] for p in passages) / len(text)
        shown = page.locator(f".pane-{side} .reuse").get_attribute("data-share")
        assert shown is not None and abs(float(shown) - used) < 1e-3


def test_seed_story_highlights_every_shared_passage(open_report: Callable[..., Opened]) -> None:
    report = pipeline_report(FIXTURES / "seed")
    data = report_to_dict(report)
    story, index = _kim_putin(data)
    match = story["matches"][index]

    opened = open_report(report)
    page = opened.page
    page.locator(f'[data-story="{story["id"]}"] a').click()
    page.locator(f'.matches button[data-match="{index}"]').click()
    page.wait_for_selector(f'.panes[data-match-index="{index}"]')
    assert page.locator(".pane-a").get_attribute("data-article") == match["a"]
    assert page.locator(".pane-b").get_attribute("data-article") == match["b"]
    _check_highlights(opened, report, match)

    # the same passage is linked on both sides
    page.locator('.pane-a mark[data-passage="0"]').hover()
    assert "active" in (page.locator('.pane-b mark[data-passage="0"]').get_attribute("class") or "")
    last = len(match["passages"]) - 1
    page.locator(f'.pane-b mark[data-passage="{last}"]').click()
    assert "active" in (
        page.locator(f'.pane-a mark[data-passage="{last}"]').get_attribute("class") or ""
    )
    # clicking a passage on one side scrolls the other side to it
    page.wait_for_function(
        """(k) => {
            const box = document.querySelector(".pane-a .pane-text").getBoundingClientRect();
            const mark = document.querySelector(`.pane-a mark[data-passage="${k}"]`)
                .getBoundingClientRect();
            return mark.top >= box.top && mark.top < box.bottom;
        }""",
        arg=last,
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#compare").screenshot(path=str(ARTIFACTS / "seed-side-by-side.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "seed-story.png"), full_page=True)
    opened.assert_quiet()


def test_deep_link_opens_the_story_and_pair(open_report: Callable[..., Opened]) -> None:
    report = sample_report()
    opened = open_report(report, "#s2")
    page = opened.page
    assert page.locator('[data-story="s2"]').get_attribute("aria-current") == "true"
    assert page.locator("[data-story-detail]").get_attribute("data-story-detail") == "s2"

    opened = open_report(report, "#s1/m2")
    page = opened.page
    assert page.locator("[data-story-detail]").get_attribute("data-story-detail") == "s1"
    match = report_to_dict(report)["stories"][0]["matches"][2]
    assert page.locator(".panes").get_attribute("data-match-index") == "2"
    _check_highlights(opened, report, match)
    opened.assert_quiet()


def test_offsets_count_code_points_not_utf16_units(open_report: Callable[..., Opened]) -> None:
    # The hostile story's text starts with an emoji (two UTF-16 units, one code point).
    report = sample_report()
    opened = open_report(report, "#s2/m0")
    _check_highlights(opened, report, report_to_dict(report)["stories"][1]["matches"][0])
    opened.assert_quiet()


def test_pair_without_texts_says_so(open_report: Callable[..., Opened]) -> None:
    report = sample_report()
    bare = Report(report.settings, report.stats, report.skipped, report.stories)  # no articles
    opened = open_report(bare, "#s1/m0")
    page = opened.page
    assert page.locator(".pane-a .pane-text.missing").is_visible()
    assert page.locator("mark[data-passage]").count() == 0
    assert page.locator(".passages li").count() == len(report.stories[0].matches[0].passages)
    opened.assert_quiet()


def _assert_nothing_ran(opened: Opened) -> None:
    page = opened.page
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img").count() == 0
    assert page.evaluate("document.scripts.length") == 2  # the data block and the page's code
    opened.assert_quiet()


def test_xss_fixture_runs_nothing(open_report: Callable[..., Opened]) -> None:
    report = pipeline_report(FIXTURES / "xss")
    data = report_to_dict(report)
    assert len(data["stories"]) == 1, "the two XSS articles copy each other"
    story = data["stories"][0]

    opened = open_report(report)
    page = opened.page
    page.locator(f'[data-story="{story["id"]}"] a').click()
    for index in range(len(story["matches"])):
        page.locator(f'.matches button[data-match="{index}"]').click()
        page.locator(".pane-a mark[data-passage]").first.hover()
    # the payloads are shown as text
    heading = page.locator("[data-story-detail] h1").text_content() or ""
    assert XSS_SCRIPT in heading or XSS_IMG in heading
    assert XSS_SCRIPT in (page.locator(".pane-a .pane-text").text_content() or "")
    assert XSS_IMG in (page.locator(".pane-b .pane-text").text_content() or "")
    _assert_nothing_ran(opened)


def test_hand_built_hostile_report_runs_nothing(open_report: Callable[..., Opened]) -> None:
    opened = open_report(sample_report(), "#s2")
    opened.page.locator('[data-story="s2"] .si-title').wait_for()
    assert XSS_SCRIPT in (opened.page.locator('[data-story="s2"] .si-title').text_content() or "")
    # a javascript: URL never becomes a link
    opened.page.goto(opened.url + "#s1/m0")
    assert opened.page.locator('a[href^="javascript"]').count() == 0
    _assert_nothing_ran(opened)


def test_filters_narrow_the_story_list(open_report: Callable[..., Opened]) -> None:
    from playwright.sync_api import expect

    opened = open_report(sample_report())
    page = opened.page

    def shown(*ids: str) -> None:
        expect(page.locator("#story-list li:visible")).to_have_count(len(ids))
        for story_id in ids:
            expect(page.locator(f'#story-list li[data-story="{story_id}"]')).to_be_visible()

    shown("s1", "s2")
    page.fill("#filter", "tabloid")
    shown("s2")
    page.fill("#filter", "calloway WIRE")  # every word, any case, in a title, outlet or id
    shown("s1")
    page.fill("#filter", "no such outlet")
    shown()
    expect(page.locator("#shown")).to_have_text("0 of 2 stories")
    page.fill("#filter", "")
    shown("s1", "s2")
    page.locator('label[data-kind="near_duplicate"] input').uncheck()
    shown("s1")
    expect(page.locator("#shown")).to_have_text("1 of 2 stories")
    opened.assert_quiet()


def test_print_expands_the_open_story_and_hides_the_controls(
    open_report: Callable[..., Opened],
) -> None:
    opened = open_report(sample_report(), "#s1/m0")
    page = opened.page
    page.emulate_media(media="print")
    assert page.locator("#controls").is_hidden()
    assert (
        page.locator(".pane-a .pane-text").evaluate("e => getComputedStyle(e).maxHeight") == "none"
    )
    assert page.locator(".pane-a mark[data-passage]").first.is_visible()
    opened.assert_quiet()
