"""Every output format of a `Report`: table, json, csv, markdown and html.

`render_report(report, fmt)` returns the whole document as one string; the caller writes it
(`json_chunks` gives the JSON a few stories at a time, for large reports).
The JSON form is the stable `dedup.report/1` shape of DESIGN.md; the other forms are views of it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import orjson
from tabulate import tabulate

from .errors import SettingsError
from .models import Match, Member, Passage, Report, Settings, Skipped, Stats, Story

FORMATS = ("table", "json", "csv", "markdown", "html")

SCHEMA = "dedup.report/1"

#: Digits kept for every score in the machine-readable formats.
DIGITS = 4

CSV_COLUMNS = (
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
)

# Spreadsheet programs treat a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# C0 and C1 control characters (a title must not move the cursor of the analyst's terminal).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")


# -- the JSON shape ---------------------------------------------------------------------------


def _score(value: float | None) -> float | None:
    """A score rounded to `DIGITS` places; None for a missing or non-finite value."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), DIGITS)


def _scores(values: list[float]) -> list[float | None]:
    """`_score` of each value, all at once (a report of a million articles has millions). With
    k the integer nearest to v * 10^DIGITS, k / 10^DIGITS is the float nearest the decimal
    k / 10^DIGITS, which is what `round` gives; only where the product lies within its rounding
    error of a half (or is not finite, or too large for k to be exact) could k be the other
    integer, and there `_score` rounds the value itself."""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = x * 10.0**DIGITS
        k = np.rint(scaled)
        unsure = ~(np.abs(np.abs(scaled - k) - 0.5) > 1e-6 * np.maximum(1.0, np.abs(scaled)))
    unsure |= ~(np.abs(scaled) < 2.0**52)  # (also NaN and the infinities)
    out: list[float | None] = (k / 10.0**DIGITS).tolist()
    for i in np.flatnonzero(unsure).tolist():
        out[i] = _score(values[i])
    return out


def _settings_dict(settings: Settings) -> dict[str, Any]:
    return {
        name: _score(value) if isinstance(value, float) else value
        for name, value in settings.as_dict().items()
    }


def _stats_dict(stats: Stats) -> dict[str, Any]:
    return {
        "articles": stats.articles,
        "skipped": stats.skipped,
        "candidate_pairs": stats.candidate_pairs,
        "matches": stats.matches,
        "stories": stats.stories,
        "seconds": _score(stats.seconds),
    }


def _skipped_dict(skipped: Skipped) -> dict[str, Any]:
    return {"path": skipped.path, "reason": skipped.reason}


def _member_dict(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "title": member.title,
        "outlet": member.outlet,
        "published": member.published,
        "role": member.role,
    }


def _passage_dict(passage: Passage) -> dict[str, Any]:
    a_start, a_end = passage.a_start, passage.a_end
    return {
        "a_start": a_start,
        "a_end": a_end,
        "b_start": passage.b_start,
        "b_end": passage.b_end,
        "words": passage.words,
        "text": passage.source[a_start:a_end],  # (`Passage.text`, without its call)
    }


def _match_dict(match: Match, scores: Iterator[float | None]) -> dict[str, Any]:
    """The match's dict, its four scores (rounded) the next of `scores`."""
    return {
        "a": match.a,
        "b": match.b,
        "kind": match.kind,
        "jaccard": next(scores),
        "containment_ab": next(scores),
        "containment_ba": next(scores),
        "cosine": next(scores),
        "passages": list(map(_passage_dict, match.passages)),
    }


def _story_dicts(stories: Sequence[Story]) -> list[dict[str, Any]]:
    """The dict of each story, the scores of all their matches rounded at once (`_scores`)."""
    values = [
        v
        for story in stories
        for m in story.matches
        for v in (m.jaccard, m.containment_ab, m.containment_ba, m.cosine)
    ]
    scores = iter(_scores(values))
    return [
        {
            "id": story.id,
            "original": story.original,
            "original_reason": story.original_reason,
            "outlets": list(story.outlets),
            "members": [_member_dict(m) for m in story.members],
            "matches": [_match_dict(m, scores) for m in story.matches],
        }
        for story in stories
    ]


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as the `dedup.report/1` JSON object of DESIGN.md.

    Keys are in the documented order and scores are rounded to 4 places, so equal reports give
    equal dicts. `Report.articles` (the texts) is not part of this shape.
    """
    return {
        "schema": SCHEMA,
        "settings": _settings_dict(report.settings),
        "stats": _stats_dict(report.stats),
        "skipped": [_skipped_dict(s) for s in report.skipped],
        "stories": _story_dicts(report.stories),
    }


def render_json(report: Report) -> str:
    """`report_to_dict` as indented UTF-8 JSON with a trailing newline (byte-stable)."""
    return b"".join(json_chunks(report)).decode()


#: Stories are written in pieces of about this many matches and members (`json_chunks`).
JSON_PIECE = 256


def json_chunks(report: Report) -> Iterator[bytes | memoryview]:
    """`render_json(report)` as UTF-8 pieces, a few stories (JSON_PIECE matches and members) at
    a time: a large report is written without ever holding the whole document (or its dict) in
    memory. (A piece is a view of what orjson wrote: at 1M articles, 1.3 GB not copied twice.)"""
    head = report_to_dict(replace(report, stories=()))
    text = _dumps(head)
    empty = b"[]\n}\n"  # "stories" is the last key
    if not report.stories:
        yield text
        return
    yield text[: -len(empty)] + b"[\n"
    # A piece's stories are written as the value of "stories", so each comes out indented as
    # in the whole document; the piece is what lies between the brackets.
    opening, closing = b'{\n  "stories": [\n', b"\n  ]\n}"
    piece: list[Story] = []
    size, first = 0, True
    for k, story in enumerate(report.stories, start=1):
        piece.append(story)
        size += len(story.matches) + len(story.members)
        if size >= JSON_PIECE or k == len(report.stories):
            body = _dumps({"stories": _story_dicts(piece)}, newline=False)
            if not first:
                yield b",\n"
            yield memoryview(body)[len(opening) : -len(closing)]
            piece, size, first = [], 0, False
    yield b"\n  ]\n}\n"


def dumps_json(data: Any) -> str:
    """`json.dumps(data, ensure_ascii=False, indent=2)` plus a newline (see `_dumps`)."""
    return _dumps(data).decode()


def _dumps(data: Any, newline: bool = True) -> bytes:
    """`json.dumps(data, ensure_ascii=False, indent=2)` (plus a newline) as UTF-8, written by
    orjson (twenty times faster on a large report; the same bytes for scores rounded to `DIGITS`
    places and any text, a test compares them); the standard library takes over for what orjson
    refuses (huge integers, lone surrogates: UTF-8 cannot hold these, so they are written as
    `\\ud800` escapes). JSON text holds no raw newline inside a string, so the result can be
    indented further line by line."""
    try:
        option = orjson.OPT_INDENT_2 | (orjson.OPT_APPEND_NEWLINE if newline else 0)
        return orjson.dumps(data, option=option)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        text = json.dumps(data, ensure_ascii=False, indent=2) + ("\n" if newline else "")
        return text.encode("utf-8", "backslashreplace")


# -- helpers shared by the text views ---------------------------------------------------------


def _clean(text: str | None) -> str:
    """One line of printable text: whitespace runs become one space, controls are replaced."""
    if not text:
        return ""
    return _SPACE.sub(" ", _CONTROL.sub("\ufffd", text)).strip()


def _shorten(text: str | None, width: int) -> str:
    """`_clean(text)` cut to at most `width` characters, with an ellipsis when cut."""
    line = _clean(text)
    if len(line) <= width:
        return line
    return line[: width - 1].rstrip() + "…"


def _shorten_middle(text: str | None, width: int) -> str:
    """`_clean(text)` cut in the middle to at most `width` characters (keeps a path's end)."""
    line = _clean(text)
    if len(line) <= width:
        return line
    head = (width - 1) // 2
    return line[:head] + "…" + line[len(line) - (width - 1 - head) :]


def _fmt_score(value: float | None) -> str:
    rounded = _score(value)
    return "" if rounded is None else f"{rounded:.2f}"


def _fmt_date(published: str | None) -> str:
    """An ISO date-time shortened for a table: `2024-06-19 10:05` (date only when no time)."""
    if not published:
        return ""
    return _clean(published).replace("T", " ")[:16]


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _with_original(story: Story) -> dict[str, Match]:
    """The match of each member with the story's original, by member id (where one exists)."""
    found: dict[str, Match] = {}
    for match in story.matches:
        if match.a == story.original:
            found.setdefault(match.b, match)
        elif match.b == story.original:
            found.setdefault(match.a, match)
    return found


def _containment_of(match: Match, member_id: str) -> float:
    """The share of `member_id`'s text found in the other article of the match."""
    return match.containment_ab if match.a == member_id else match.containment_ba


def _table_scores(match: Match | None, member_id: str) -> str:
    if match is None:
        return ""
    return f"{_fmt_score(match.cosine)}/{_fmt_score(_containment_of(match, member_id))}"


def _summary_line(report: Report) -> str:
    stats = report.stats
    copies = sum(1 for s in report.stories for m in s.members if m.role == "copy")
    parts = [
        _plural(stats.articles, "article"),
        _plural(stats.stories, "story", "stories"),
        _plural(copies, "copy", "copies"),
        _plural(stats.matches, "match", "matches"),
        _plural(stats.candidate_pairs, "candidate pair"),
        f"{stats.skipped} skipped",
    ]
    line = ", ".join(parts)
    if stats.seconds is not None:
        line += f" in {stats.seconds:.2f} s"
    return line


def _pairs_with_original(story: Story) -> Iterable[tuple[Member, Match]]:
    """Each member other than the original with its match against the original, if any."""
    matches = _with_original(story)
    for member in story.members:
        match = matches.get(member.id)
        if match is not None:
            yield member, match


def _original(story: Story) -> Member | None:
    return next((m for m in story.members if m.id == story.original), None)


# -- table (terminal) -------------------------------------------------------------------------

_TABLE_WIDTH = 100
_TABLE_MIN_TITLE = 24
_TABLE_PASSAGE_WIDTH = 160
_TABLE_PASSAGES_SHOWN = 3


def render_table(report: Report) -> str:
    """A readable summary for a terminal (about 100 columns wide)."""
    lines = [f"dedup report: {_summary_line(report)}"]
    if not report.stories:
        lines += ["", "No stories found: no two articles matched."]
    for story in report.stories:
        lines += ["", *_table_story(story)]
    if report.skipped:
        lines += ["", f"Skipped {_plural(len(report.skipped), 'input')}:"]
        lines += [f"  {_clean(s.path)}: {_clean(s.reason)}" for s in report.skipped]
    return "\n".join(lines) + "\n"


def _table_story(story: Story) -> list[str]:
    original = _original(story)
    lines = [
        f"== {story.id}: {_plural(len(story.members), 'article')}, "
        f"{_plural(len(story.outlets), 'outlet')}"
    ]
    if original is not None:
        where = [_clean(original.outlet), _fmt_date(original.published), _clean(original.id)]
        lines += [
            f"original: {_shorten(original.title, 88) or '(untitled)'}",
            f"          {' | '.join(part for part in where if part)}",
        ]
    else:
        lines.append(f"original: {_clean(story.original)}")
    lines.append(f"          chosen as original: {_clean(story.original_reason)}")

    rows = []
    with_original = _with_original(story)
    for member in story.members:
        match = with_original.get(member.id)
        rows.append(
            [
                member.role,
                _shorten(member.outlet, 14),
                _fmt_date(member.published),
                match.kind if match else "",
                _table_scores(match, member.id),
            ]
        )
    headers = ["role", "outlet", "published", "kind", "cos/cont"]
    colalign = ("left", "left", "left", "left", "right")
    # The last column (title over id) gets the width the others leave.
    used = max(map(len, tabulate(rows, headers, "simple", disable_numparse=True).splitlines()))
    width = max(_TABLE_MIN_TITLE, _TABLE_WIDTH - used - 2)
    for row, member in zip(rows, story.members, strict=True):
        title = _shorten(member.title, width) or "(untitled)"
        row.append(f"{title}\n{_shorten_middle(member.id, width)}")
    table = tabulate(
        rows,
        headers=[*headers, "title / id"],
        tablefmt="simple",
        disable_numparse=True,
        colalign=(*colalign, "left"),
    )
    lines += ["", *table.splitlines()]
    lines.append("cos/cont: TF-IDF cosine with the original / share of the member in the original")

    for member, match in _pairs_with_original(story):
        if not match.passages:
            continue
        lines.append("")
        lines.append(
            f"shared with the original by {_shorten_middle(member.id, 60)}: "
            f"{_plural(len(match.passages), 'passage')}, {_plural(match.shared_words, 'word')}"
        )
        for passage in match.passages[:_TABLE_PASSAGES_SHOWN]:
            lines += textwrap.wrap(
                _shorten(passage.text, _TABLE_PASSAGE_WIDTH),
                width=_TABLE_WIDTH,
                initial_indent="  > ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        more = len(match.passages) - _TABLE_PASSAGES_SHOWN
        if more > 0:
            lines.append(f"  (+{more} more)")
    return lines


# -- csv ----------------------------------------------------------------------------------------


def _csv_cell(value: object) -> str:
    """A cell as text, guarded against formula injection by a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, float):
        rounded = _score(value)
        text = "" if rounded is None else repr(rounded)
    else:
        text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    # The csv module quotes a cell holding "\n" (our line ending) but not a bare "\r".
    return text.replace("\r\n", "\n").replace("\r", "\n")


def render_csv(report: Report) -> str:
    """One row per verified match, with scores and the titles and outlets of both articles."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for story in report.stories:
        members = {m.id: m for m in story.members}
        for match in story.matches:
            a = members.get(match.a)
            b = members.get(match.b)
            row: list[object] = [
                story.id,
                match.a,
                match.b,
                match.kind,
                match.jaccard,
                match.containment_ab,
                match.containment_ba,
                match.cosine,
                match.shared_words,
                len(match.passages),
                a.title if a else "",
                b.title if b else "",
                a.outlet if a else "",
                b.outlet if b else "",
            ]
            writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


# -- markdown -----------------------------------------------------------------------------------

# Backslash-escaped anywhere: emphasis, code, links, images, raw HTML, entities, tables, headings.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>()#|~!&$])")
# Escaped at the start of a line only: list markers, block quotes, setext underlines.
_MD_LINE_START = re.compile(r"^([+\-=>]|\d+[.)])")


def md_escape(text: str | None) -> str:
    """Text made literal on one line of CommonMark/GFM (safe inside a pipe-table cell)."""
    line = _MD_SPECIAL.sub(r"\\\1", _clean(text))
    return _MD_LINE_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], line)


def render_markdown(report: Report) -> str:
    """A Markdown document: a heading per story, a members table, passages as block quotes."""
    lines = ["# dedup report", "", md_escape(_summary_line(report)) + "."]
    if not report.stories:
        lines += ["", "No stories found: no two articles matched."]
    for story in report.stories:
        lines += ["", *_markdown_story(story)]
    if report.skipped:
        lines += ["", "## Skipped inputs", ""]
        lines += [f"- {md_escape(s.path)}: {md_escape(s.reason)}" for s in report.skipped]
    return "\n".join(lines) + "\n"


def _markdown_story(story: Story) -> list[str]:
    original = _original(story)
    title = original.title if original is not None and original.title else story.original
    lines = [
        f"## {story.id}: {md_escape(title)}",
        "",
        f"{_plural(len(story.members), 'article')} from "
        f"{_plural(len(story.outlets), 'outlet')}. "
        f"Original: {md_escape(story.original)} ({md_escape(story.original_reason)}).",
        "",
    ]
    rows = []
    with_original = _with_original(story)
    for member in story.members:
        match = with_original.get(member.id)
        rows.append(
            [
                member.role,
                md_escape(member.outlet),
                md_escape(_fmt_date(member.published)),
                md_escape(member.title),
                match.kind if match else "",
                _fmt_score(match.cosine) if match else "",
                _fmt_score(_containment_of(match, member.id)) if match else "",
                md_escape(member.id),
            ]
        )
    lines += tabulate(
        rows,
        headers=["role", "outlet", "published", "title", "kind", "cosine", "containment", "id"],
        tablefmt="pipe",
        disable_numparse=True,
        colalign=("left", "left", "left", "left", "left", "right", "right", "left"),
    ).splitlines()
    for member, match in _pairs_with_original(story):
        if not match.passages:
            continue
        lines += [
            "",
            f"### Shared by {md_escape(member.id)} with the original",
            "",
            f"{match.kind}, {_plural(len(match.passages), 'passage')}, "
            f"{_plural(match.shared_words, 'word')}.",
        ]
        for passage in match.passages:
            lines += ["", f"> {md_escape(passage.text)}"]
    return lines


# -- dispatch -----------------------------------------------------------------------------------


def render_report(report: Report, fmt: str) -> str:
    """The report in one of `FORMATS`; raises SettingsError for any other format name."""
    if fmt == "json":
        return render_json(report)
    if fmt == "table":
        return render_table(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        from .html import render_html

        return render_html(report)
    raise SettingsError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
