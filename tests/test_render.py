"""Every output format of a Report, checked on a hand-built report (no detector involved)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dedup import (
    Article,
    Match,
    Member,
    Passage,
    Report,
    Settings,
    SettingsError,
    Skipped,
    Stats,
    Story,
)
from dedup.html import page_data, parse_time, render_html, script_json
from dedup.render import FORMATS, _score, _scores, md_escape, render_report, report_to_dict

XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '"><img src=x onerror="window.__xss=2">'

WIRE = (
    "The Calloway harbour authority on Monday approved a second ferry berth at the north "
    "quay, ending three years of dispute over the cost of dredging the channel.\n\n"
    "The berth, expected to open in the spring of 2026, will allow two vessels to load at "
    "once and cut waiting times for freight lorries by up to an hour, the authority said.\n\n"
    "\u201cThis is the single largest investment in the port since the war,\u201d said the "
    "authority\u2019s chair, Margaret Oduya, adding that the dredging would be paid for by a "
    "levy on cruise ships rather than by local taxpayers.\n\n"
    "Fishing crews had opposed the plan, warning that silt from the works would smother the "
    "mussel beds at the mouth of the estuary. (AP)"
)
LOCAL_INTRO = (
    "Residents of Calloway queued outside the town hall on Monday night to read the plans.\n\n"
)
# The copy: a local intro, then the first three paragraphs of the wire story verbatim.
COPY = LOCAL_INTRO + WIRE.rsplit("\n\n", 1)[0]
REWRITE = (
    "Freight operators welcomed a decision to build a second ferry berth in Calloway, "
    "although fishing crews say the dredging will harm shellfish in the estuary.\n\n"
    "\u201cThis is the single largest investment in the port since the war,\u201d Margaret "
    "Oduya told reporters after the vote.\n\n"
    "The new berth is due to open in 2026."
)

# A second story whose titles and texts carry markup, formulas and an astral character (the
# emoji counts as one code point in the report's offsets but two UTF-16 units in a browser).
HOSTILE_TEXT = (
    f"\U0001f6a2 Update {XSS_SCRIPT} from the quay. {XSS_IMG} Lorry drivers said the queue "
    "at the port gate stretched back past the roundabout for most of the afternoon on Tuesday, "
    "and police closed the slip road until the evening tide had turned."
)
HOSTILE_COPY = (
    "Breaking | *Ferry* news. "
    + HOSTILE_TEXT.split(" Lorry", 1)[1].join(["Lorry", ""])
    + " </script>"
)


def _passage(a_text: str, b_text: str, snippet: str) -> Passage:
    a_start = a_text.index(snippet)
    b_start = b_text.index(snippet)
    return Passage(
        a_start=a_start,
        a_end=a_start + len(snippet),
        b_start=b_start,
        b_end=b_start + len(snippet),
        words=len(snippet.split()),
        source=a_text,
    )


def sample_articles() -> dict[str, Article]:
    articles = [
        Article(
            id="wire/calloway-ferry-berth.txt",
            title="Calloway approves second ferry berth",
            text=WIRE,
            outlet="wire",
            published="2024-03-04T08:15:00Z",
            url="https://wire.example/calloway",
        ),
        Article(
            id="coastal-herald/ferry-berth-approved.txt",
            title="Ferry berth approved after three-year row",
            text=COPY,
            outlet="coastal-herald",
            published="2024-03-04T11:40:00+00:00",
            url="javascript:alert(1)",
        ),
        Article(
            id="metro-daily/calloway-berth.txt",
            title="Second berth for Calloway",
            text=REWRITE,
            outlet="metro-daily",
            published="2024-03-05",
        ),
        Article(
            id="quay-news/update.txt",
            title=f"Quay {XSS_SCRIPT} {XSS_IMG}",
            text=HOSTILE_TEXT,
            outlet="quay-news",
        ),
        Article(
            id="tabloid/copy.txt",
            title='=HYPERLINK("http://evil.example","click") | *now*',
            text=HOSTILE_COPY,
            outlet="-tabloid",
        ),
    ]
    return {a.id: a for a in articles}


def sample_report() -> Report:
    """Two stories: a wire story with a contained copy and a same-story rewrite, and a hostile
    pair whose titles and texts hold markup, a spreadsheet formula and an emoji."""
    arts = sample_articles()
    wire, copy, rewrite = (
        arts["wire/calloway-ferry-berth.txt"],
        arts["coastal-herald/ferry-berth-approved.txt"],
        arts["metro-daily/calloway-berth.txt"],
    )
    paragraphs = WIRE.split("\n\n")[:3]
    contained = Match(
        a=copy.id,
        b=wire.id,
        kind="contained",
        jaccard=0.6712345,
        containment_ab=0.91234567,
        containment_ba=0.7,
        cosine=0.88889,
        passages=tuple(_passage(copy.text, wire.text, p) for p in paragraphs),
    )
    quote = "\u201cThis is the single largest investment in the port since the war,\u201d"
    same = Match(
        a=rewrite.id,
        b=wire.id,
        kind="same_story",
        jaccard=0.08,
        containment_ab=0.21,
        containment_ba=0.1,
        cosine=0.51,
        passages=(_passage(rewrite.text, wire.text, quote),),
    )
    copy_rewrite = Match(
        a=copy.id,
        b=rewrite.id,
        kind="same_story",
        jaccard=0.07,
        containment_ab=0.09,
        containment_ba=0.2,
        cosine=0.47,
        passages=(_passage(copy.text, rewrite.text, quote),),
    )
    story1 = Story(
        id="s1",
        original=wire.id,
        original_reason="earliest published",
        outlets=("coastal-herald", "metro-daily", "wire"),
        members=(
            Member(wire.id, wire.title, wire.outlet, wire.published, "original"),
            Member(copy.id, copy.title, copy.outlet, copy.published, "copy"),
            Member(rewrite.id, rewrite.title, rewrite.outlet, rewrite.published, "related"),
        ),
        matches=(contained, copy_rewrite, same),
    )
    hostile, tabloid = arts["quay-news/update.txt"], arts["tabloid/copy.txt"]
    shared = HOSTILE_TEXT.split(" Lorry", 1)[1].join(["Lorry", ""])
    near = Match(
        a=hostile.id,
        b=tabloid.id,
        kind="near_duplicate",
        jaccard=0.85,
        containment_ab=0.9,
        containment_ba=0.88,
        cosine=0.97,
        passages=(_passage(hostile.text, tabloid.text, shared),),
    )
    story2 = Story(
        id="s2",
        original=hostile.id,
        original_reason="most complete text",
        outlets=("-tabloid", "quay-news"),
        members=(
            Member(hostile.id, hostile.title, hostile.outlet, None, "original"),
            Member(tabloid.id, tabloid.title, tabloid.outlet, None, "copy"),
        ),
        matches=(near,),
    )
    return Report(
        settings=Settings(),
        stats=Stats(
            articles=9, skipped=1, candidate_pairs=6, matches=4, stories=2, seconds=0.123456
        ),
        skipped=(Skipped(path="bad.bin", reason="not text (binary)"),),
        stories=(story1, story2),
        articles=arts,
    )


# -- passages in the sample are where they say they are -------------------------------------


def test_sample_passages_point_at_their_text() -> None:
    report = sample_report()
    for story in report.stories:
        for match in story.matches:
            a, b = report.articles[match.a].text, report.articles[match.b].text
            for p in match.passages:
                assert a[p.a_start : p.a_end] == p.text
                assert b[p.b_start : p.b_end] == p.text


# -- json -----------------------------------------------------------------------------------


def test_json_shape_and_key_order() -> None:
    data = json.loads(render_report(sample_report(), "json"))
    assert list(data) == ["schema", "settings", "stats", "skipped", "stories"]
    assert data["schema"] == "dedup.report/1"
    assert list(data["settings"]) == list(Settings().as_dict())
    assert data["settings"] == Settings().as_dict()
    assert data["stats"] == {
        "articles": 9,
        "skipped": 1,
        "candidate_pairs": 6,
        "matches": 4,
        "stories": 2,
        "seconds": 0.1235,
    }
    assert list(data["stats"]) == [
        "articles",
        "skipped",
        "candidate_pairs",
        "matches",
        "stories",
        "seconds",
    ]
    assert data["skipped"] == [{"path": "bad.bin", "reason": "not text (binary)"}]
    story = data["stories"][0]
    assert list(story) == ["id", "original", "original_reason", "outlets", "members", "matches"]
    assert story["outlets"] == ["coastal-herald", "metro-daily", "wire"]
    assert list(story["members"][0]) == ["id", "title", "outlet", "published", "role"]
    assert [m["role"] for m in story["members"]] == ["original", "copy", "related"]
    match = story["matches"][0]
    assert list(match) == [
        "a",
        "b",
        "kind",
        "jaccard",
        "containment_ab",
        "containment_ba",
        "cosine",
        "passages",
    ]
    assert (match["jaccard"], match["containment_ab"], match["cosine"]) == (0.6712, 0.9123, 0.8889)
    assert list(match["passages"][0]) == ["a_start", "a_end", "b_start", "b_end", "words", "text"]
    assert "articles" not in data
    assert data["stories"][1]["members"][0]["published"] is None


def test_json_is_deterministic_utf8_and_ends_with_newline() -> None:
    first = render_report(sample_report(), "json")
    assert first == render_report(sample_report(), "json")
    assert first.endswith("}\n")
    assert "\u201cThis is" in first  # ensure_ascii=False
    assert first.startswith('{\n  "schema": "dedup.report/1",\n  "settings": {\n')


def test_json_seconds_null_when_not_timed() -> None:
    report = sample_report()
    untimed = Report(
        settings=report.settings,
        stats=Stats(articles=1, skipped=0, candidate_pairs=0, matches=0, stories=0),
        skipped=(),
        stories=(),
    )
    data = report_to_dict(untimed)
    assert data["stats"]["seconds"] is None
    assert data["stories"] == []


def test_unknown_format_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="unknown format 'xml'"):
        render_report(sample_report(), "xml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_an_empty_report(fmt: str) -> None:
    empty = Report(
        settings=Settings(),
        stats=Stats(articles=0, skipped=0, candidate_pairs=0, matches=0, stories=0),
        skipped=(),
        stories=(),
    )
    assert render_report(empty, fmt).endswith("\n")


# -- csv ------------------------------------------------------------------------------------


def test_csv_one_row_per_match_with_injection_guard() -> None:
    text = render_report(sample_report(), "csv")
    assert "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "story",
        "a",
        "b",
        "kind",
        "jaccard",
        "containment_ab",
        "containment_ba",
        "cosine",
        "shared_words",
        "passages",
        "a_title",
        "b_title",
        "a_outlet",
        "b_outlet",
    ]
    assert len(rows) == 4
    first = rows[0]
    assert first["story"] == "s1"
    assert first["kind"] == "contained"
    assert first["jaccard"] == "0.6712"
    assert first["passages"] == "3"
    assert first["shared_words"] == str(sum(len(p.split()) for p in WIRE.split("\n\n")[:3]))
    hostile = rows[3]
    assert hostile["b_title"] == '\'=HYPERLINK("http://evil.example","click") | *now*'
    assert hostile["b_outlet"] == "'-tabloid"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_guards_every_formula_start(start: str) -> None:
    report = sample_report()
    story = report.stories[1]
    members = (story.members[0], Member("tabloid/copy.txt", start + "1+1", "x", None, "copy"))
    changed = Report(
        settings=report.settings,
        stats=report.stats,
        skipped=(),
        stories=(Story("s2", story.original, "r", ("x",), members, story.matches),),
    )
    row = next(csv.DictReader(io.StringIO(render_report(changed, "csv"))))
    # a carriage return inside a cell becomes a newline (the file's line ending, quoted)
    assert row["b_title"] == "'" + start.replace("\r", "\n") + "1+1"


# -- markdown -------------------------------------------------------------------------------


def test_markdown_escapes_titles_and_keeps_the_tables_intact() -> None:
    text = render_report(sample_report(), "markdown")
    assert "## s1: Calloway approves second ferry berth" in text
    assert XSS_SCRIPT not in text
    for line in text.splitlines():  # no markup survives unescaped (block quotes aside)
        assert not re.search(r"(?<!\\)[<>]", line.removeprefix("> ")), line
    assert "\\<script\\>" in text
    assert "\\| \\*now\\*" in text
    # each row of a pipe table has the same number of unescaped pipes as the header row
    for block in re.split(r"\n\n", text):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if lines:
            counts = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
            assert counts == {9}, block
    assert "> \u201cThis is the single largest investment" in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a | b", "a \\| b"),
        ("*bold* _it_", "\\*bold\\* \\_it\\_"),
        ("[x](javascript:y)", "\\[x\\]\\(javascript:y\\)"),
        ("- not a list", "\\- not a list"),
        ("1. not a list", "1\\. not a list"),
        ("# not a heading", "\\# not a heading"),
        ("<b>&amp;", "\\<b\\>\\&amp;"),
        ("two\nlines", "two lines"),
    ],
)
def test_md_escape(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


# -- table ----------------------------------------------------------------------------------


def test_table_lists_stories_members_passages_and_skipped() -> None:
    text = render_report(sample_report(), "table")
    lines = text.splitlines()
    assert lines[0].startswith("dedup report: 9 articles, 2 stories, 2 copies, 4 matches")
    assert "== s1: 3 articles, 3 outlets" in text
    assert "original: Calloway approves second ferry berth\n" in text
    assert "wire | 2024-03-04 08:15 | wire/calloway-ferry-berth.txt" in text
    assert "chosen as original: earliest published" in text
    copy_row = next(line for line in lines if line.startswith("copy "))
    assert copy_row.split()[:5] == ["copy", "coastal-herald", "2024-03-04", "11:40", "contained"]
    assert "0.89/0.91" in copy_row  # cosine with the original / containment in it
    assert "shared with the original by coastal-herald/ferry-berth-approved.txt: 3 passages" in text
    assert "  > The Calloway harbour authority on Monday approved" in text
    assert "Skipped 1 input:" in text and "  bad.bin: not text (binary)" in text
    assert max(len(line) for line in lines if "<script>" not in line) <= 100
    assert text.endswith("\n")


def test_table_shortens_passages_and_counts_the_rest() -> None:
    report = sample_report()
    story = report.stories[0]
    long_text = " ".join(["word"] * 100)
    many = tuple(Passage(0, len(long_text), 0, len(long_text), 100, long_text) for _ in range(5))
    match = Match(story.members[1].id, story.original, "partial", 0.3, 0.4, 0.3, 0.5, many)
    changed = Report(
        settings=report.settings,
        stats=report.stats,
        skipped=(),
        stories=(
            Story(
                "s1",
                story.original,
                "earliest published",
                story.outlets,
                story.members[:2],
                (match,),
            ),
        ),
    )
    text = render_report(changed, "table")
    passages = re.findall(r"^  > (.*(?:\n    .*)*)", text, re.MULTILINE)
    assert len(passages) == 3
    for passage in passages:
        joined = " ".join(line.strip() for line in passage.splitlines())
        assert len(joined) <= 160 and joined.endswith("…")
    assert "  (+2 more)" in text


def test_table_drops_terminal_control_characters() -> None:
    report = sample_report()
    story = report.stories[1]
    members = (story.members[0], Member("tabloid/copy.txt", "evil\x1b[2J title", "x", None, "copy"))
    changed = Report(
        settings=report.settings,
        stats=report.stats,
        skipped=(),
        stories=(Story("s2", story.original, "r", ("x",), members, story.matches),),
    )
    assert "\x1b" not in render_report(changed, "table")


# -- html -----------------------------------------------------------------------------------

DATA_BLOCK = re.compile(
    r'<script type="application/json" id="dedup-data">(.*?)</script>', re.DOTALL
)


def test_html_holds_no_data_outside_its_json_block() -> None:
    page = render_report(sample_report(), "html")
    blocks = DATA_BLOCK.findall(page)
    assert len(blocks) == 1
    outside = DATA_BLOCK.sub("", page)
    for needle in ("window.__xss", "<img", "onerror", "Calloway", "HYPERLINK"):
        assert needle not in outside
    # exactly two script elements: the data and the page's own code
    assert page.count("<script") == 2
    assert page.lower().count("</script") == 2


def test_html_json_block_cannot_be_broken_out_of_and_parses_back() -> None:
    report = sample_report()
    page = render_html(report)
    (block,) = DATA_BLOCK.findall(page)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in block
    data = json.loads(block)
    assert (
        data["articles"]["quay-news/update.txt"]["title"]
        == report.articles["quay-news/update.txt"].title
    )
    assert data["articles"]["tabloid/copy.txt"]["text"].endswith(" </script>")


def test_html_is_self_contained() -> None:
    page = render_html(sample_report())
    outside = DATA_BLOCK.sub("", page)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", outside)
    assert "@import" not in outside and "url(" not in outside
    assert "@media print" in page


def test_html_is_deterministic() -> None:
    assert render_html(sample_report()) == render_html(sample_report())


def test_script_json_escapes_separators_and_markup() -> None:
    text = script_json({"t": "a</script><!--\u2028\u2029&"})
    assert text == '{"t":"a\\u003c/script\\u003e\\u003c!--\\u2028\\u2029\\u0026"}'
    assert json.loads(text) == {"t": "a</script><!--\u2028\u2029&"}


def test_page_data_orders_stories_by_size_then_recency() -> None:
    report = sample_report()
    small_recent = Story(
        id="s3",
        original="x/new.txt",
        original_reason="earliest published",
        outlets=("x", "y"),
        members=(
            Member("x/new.txt", "New", "x", "2025-01-01", "original"),
            Member("y/new.txt", "New", "y", "2025-01-02", "copy"),
        ),
        matches=(),
    )
    small_old = Story(
        id="s4",
        original="x/old.txt",
        original_reason="earliest published",
        outlets=("x", "y"),
        members=(
            Member("x/old.txt", "Old", "x", "2020-01-01", "original"),
            Member("y/old.txt", "Old", "y", None, "copy"),
        ),
        matches=(),
    )
    changed = Report(
        settings=report.settings,
        stats=report.stats,
        skipped=(),
        stories=(small_old, report.stories[1], small_recent, report.stories[0]),
        articles=report.articles,
    )
    data = page_data(changed)
    assert [s["id"] for s in data["stories"]] == ["s1", "s3", "s4", "s2"]
    assert sorted(data["articles"]) == sorted(report.articles)
    assert data["stories"][0]["members"][0]["t"] == parse_time("2024-03-04T08:15:00+00:00")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-04", 1709510400.0),
        ("2024-03-04T08:15:00Z", 1709540100.0),
        ("2024-03-04T09:15:00+01:00", 1709540100.0),
        ("4 March 2024", None),
        (None, None),
        ("", None),
    ],
)
def test_parse_time(value: str | None, expected: float | None) -> None:
    assert parse_time(value) == expected


@hypothesis_settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=-2.0, max_value=2.0),
            # (decimals one digit past the kept ones, ending in 5: each within a hair of a half)
            st.integers(min_value=-200000, max_value=200000).map(lambda k: float(f"{k}5e-5")),
        ),
        max_size=50,
    )
)
def test_scores_round_all_at_once_as_each_is_rounded(values: list[float]) -> None:
    assert [repr(v) for v in _scores(values)] == [repr(_score(v)) for v in values]
