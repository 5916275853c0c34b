"""Tests for dedup.readers: every input format, every way an input can fail, the seed fixtures."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import Article, InputError, Skipped
from dedup.readers import (
    SUPPORTED_SUFFIXES,
    Note,
    ReadResult,
    iter_inputs,
    read_articles,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

TITLE = "Harbour crane collapses"
TEXT = (
    "A crane at the container terminal collapsed on Sunday night, injuring nobody but closing "
    "two berths for at least a week, the port authority said."
)
RECORD = {
    "title": TITLE,
    "text": TEXT,
    "published": "2024-03-05T08:30:00Z",
    "url": "https://gazette.example/crane",
    "author": "Sam Reyes",
    "section": "port",
}
HTML = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{TITLE} - Gazette</title>
<meta name="author" content="Sam Reyes">
<meta property="article:published_time" content="2024-03-05T08:30:00Z">
<link rel="canonical" href="https://gazette.example/crane"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article><h1>{TITLE}</h1><p>{TEXT}</p></article>
<footer><p>Copyright 2024 Gazette. All rights reserved.</p></footer></body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def by_path(result: ReadResult) -> dict[str, str]:
    return {s.path: s.reason for s in result.skipped}


# --- one contract over every format ----------------------------------------------------------


@dataclass(frozen=True)
class FormatCase:
    """The same article written in one format under `news/gazette/`, and what reading gives."""

    name: str
    file: str
    content: str
    expected_id: str
    published: str | None = None
    url: str | None = None
    author: str | None = None
    meta: dict[str, object] = field(default_factory=dict)


def record_case(name: str, file: str, content: str, expected_id: str) -> FormatCase:
    """A record format: the fields of RECORD come back, `section` in meta."""
    return FormatCase(
        name,
        file,
        content,
        expected_id,
        published="2024-03-05T08:30:00Z",
        url="https://gazette.example/crane",
        author="Sam Reyes",
        meta={"section": "port"},
    )


CSV = (
    "title,text,published,url,author,section\n"
    f'{TITLE},"{TEXT}",2024-03-05T08:30:00Z,https://gazette.example/crane,Sam Reyes,port\n'
)

FORMATS = [
    FormatCase("txt", "crane.txt", f"{TITLE}\n\n{TEXT}\n", "gazette/crane.txt"),
    FormatCase("md", "crane.md", f"# {TITLE}\n\n{TEXT}\n", "gazette/crane.md"),
    FormatCase(
        "html",
        "crane.html",
        HTML,
        "gazette/crane.html",
        published="2024-03-05",
        url="https://gazette.example/crane",
        author="Sam Reyes",
        meta={"sitename": "gazette.example"},
    ),
    record_case("json", "crane.json", json.dumps(RECORD), "gazette/crane.json"),
    # blank lines are ignored, line numbers kept
    record_case("jsonl", "crane.jsonl", f"\n{json.dumps(RECORD)}\n\n", "gazette/crane.jsonl#2"),
    record_case("csv", "crane.csv", CSV, "gazette/crane.csv#2"),
]


@pytest.mark.parametrize("case", FORMATS, ids=lambda case: case.name)
def test_every_format_reads_the_same_article(tmp_path: Path, case: FormatCase) -> None:
    write(tmp_path / "news" / "gazette" / case.file, case.content)
    result = read_articles([tmp_path / "news"])
    assert result.skipped == ()
    assert result.notes == ()
    assert result.articles == (
        Article(
            id=case.expected_id,
            text=TEXT,
            title=TITLE,
            outlet="gazette",
            published=case.published,
            url=case.url,
            author=case.author,
            meta=case.meta,
        ),
    )


@pytest.mark.parametrize("case", FORMATS, ids=lambda case: case.name)
def test_a_file_given_directly_is_named_by_its_file_name(tmp_path: Path, case: FormatCase) -> None:
    path = write(tmp_path / "news" / "gazette" / case.file, case.content)
    (article,) = read_articles([path]).articles
    assert article.id == case.expected_id.removeprefix("gazette/")
    assert article.outlet == ""
    assert article.text == TEXT


def test_stdin_reads_jsonl() -> None:
    stdin = io.StringIO(json.dumps(RECORD) + "\n\n" + json.dumps({"text": "Second.", "id": 7}))
    result = read_articles(["-"], stdin=stdin)
    assert result.articles == (
        Article(
            id="-#1",
            text=TEXT,
            title=TITLE,
            outlet="",
            published="2024-03-05T08:30:00Z",
            url="https://gazette.example/crane",
            author="Sam Reyes",
            meta={"section": "port"},
        ),
        Article(id="7", text="Second."),
    )


def test_empty_stdin_is_skipped() -> None:
    result = read_articles(["-"], stdin=io.StringIO(""))
    assert result.skipped == (Skipped("-", "empty input"),)


# --- fields ----------------------------------------------------------------------------------


def test_record_fields_override_the_folder(tmp_path: Path) -> None:
    record = {"id": 42, "text": "Body.", "outlet": "wire", "title": "  Spaced  "}
    write(tmp_path / "gazette" / "a.json", json.dumps(record))
    (article,) = read_articles([tmp_path]).articles
    assert (article.id, article.outlet, article.title) == ("42", "wire", "Spaced")


def test_other_fields_are_kept_in_meta_as_json_values(tmp_path: Path) -> None:
    extra = {"tags": ["a", "b"], "words": 812, "byline": None, "geo": {"lat": 1.5}}
    write(tmp_path / "a.jsonl", json.dumps({"text": "Body.", **extra}))
    (article,) = read_articles([tmp_path]).articles
    assert article.meta == extra
    assert article.outlet == ""  # directly in the PATH given


def test_author_list_is_joined(tmp_path: Path) -> None:
    write(tmp_path / "a.json", json.dumps({"text": "Body.", "author": ["Ann Lee", "Bo Kim"]}))
    (article,) = read_articles([tmp_path]).articles
    assert article.author == "Ann Lee, Bo Kim"


def test_json_list_ids_count_from_one(tmp_path: Path) -> None:
    records = [{"text": "One."}, {"text": "Two.", "id": "own-id"}, {"text": "Three."}]
    write(tmp_path / "wire" / "batch.json", json.dumps(records))
    ids = [a.id for a in read_articles([tmp_path]).articles]
    assert ids == ["own-id", "wire/batch.json#1", "wire/batch.json#3"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("2023-10-04", "2023-10-04"),
        ("2023-10-04T09:15:00Z", "2023-10-04T09:15:00Z"),
        ("2023-10-04T09:15:00+02:00", "2023-10-04T09:15:00+02:00"),
        ("", None),
        (None, None),
    ],
)
def test_published_iso_8601_is_kept_as_given(
    tmp_path: Path, given: str | None, kept: str | None
) -> None:
    write(tmp_path / "a.json", json.dumps({"text": "Body.", "published": given}))
    result = read_articles([tmp_path])
    assert result.articles[0].published == kept
    assert result.notes == ()


@pytest.mark.parametrize("given", ["04/10/2023", "yesterday", 20231004])
def test_published_not_iso_8601_gives_a_note(tmp_path: Path, given: object) -> None:
    write(tmp_path / "a.jsonl", json.dumps({"text": "Body.", "published": given}))
    result = read_articles([tmp_path])
    assert result.articles[0].published is None
    assert result.notes == (
        Note(f"{tmp_path}/a.jsonl#1", f"published {given!r} is not ISO 8601; ignored"),
    )


@pytest.mark.parametrize("name", ["a.json", "a.jsonl"])
def test_half_a_surrogate_pair_is_replaced_with_a_note(tmp_path: Path, name: str) -> None:
    write(tmp_path / name, '{"id": "x\\ud800", "text": "Caf\\u00e9 \\udfff and \\ud83d\\ude00."}')
    result = read_articles([tmp_path])
    art = result.articles[0]
    assert (art.id, art.text) == ("x\ufffd", "Caf\u00e9 \ufffd and \U0001f600.")
    where = f"{tmp_path}/{name}" + ("#1" if name.endswith("l") else "")
    assert result.notes == (Note(where, "unpaired UTF-16 surrogate escapes replaced by U+FFFD"),)


def test_line_endings_are_normalised_and_nothing_else(tmp_path: Path) -> None:
    body = "First  line,\twith tabs.\r\nSecond line.\rThird line.\r\n\r\n  Indented last."
    write(tmp_path / "a.txt", "Title\r\n\r\n" + body + "\r\n")
    write(tmp_path / "b.json", json.dumps({"text": body}))
    a, b = read_articles([tmp_path]).articles
    expected = "First  line,\twith tabs.\nSecond line.\nThird line.\n\n  Indented last."
    assert a.text == expected
    assert b.text == expected
    assert a.title == "Title"


def test_plain_text_title_is_the_first_non_empty_line(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "\n\n  ## Headline here  \n\nBody line.\n")
    write(tmp_path / "b.txt", "\n   \nJust a title\n\n\n")
    result = read_articles([tmp_path])
    assert [(a.id, a.title, a.text) for a in result.articles] == [
        ("a.md", "Headline here", "Body line.")
    ]
    assert by_path(result) == {f"{tmp_path}/b.txt": "no text after the title line"}


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "\ufeffTitle\n\nBody.".encode())
    write(tmp_path / "b.csv", "\ufefftext,title\nBody B.,Title B\n".encode())
    result = read_articles([tmp_path])
    assert [(a.title, a.text) for a in result.articles] == [
        ("Title", "Body."),
        ("Title B", "Body B."),
    ]
    assert result.notes == ()


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Tïtle\n\nBödy.".encode("utf-16"))
    (article,) = read_articles([tmp_path]).articles
    assert (article.title, article.text) == ("Tïtle", "Bödy.")


def test_html_declared_charset_is_used(tmp_path: Path) -> None:
    page = HTML.replace('charset="utf-8"', 'charset="iso-8859-1"').replace("Sunday", "Sündäy")
    write(tmp_path / "a.html", page.encode("iso-8859-1"))
    result = read_articles([tmp_path])
    assert "Sündäy" in result.articles[0].text
    assert result.notes == ()


def test_html_headline_is_the_title_not_text(tmp_path: Path) -> None:
    write(tmp_path / "a.htm", HTML)
    (article,) = read_articles([tmp_path]).articles
    assert article.title == TITLE
    assert article.text == TEXT
    assert "Home" not in article.text
    assert "Copyright" not in article.text


def test_csv_rows_are_numbered_by_their_first_line(tmp_path: Path) -> None:
    content = (
        "ID,Title,Text\n"  # article field names match in any case
        '1,One,"First paragraph.\n\nSecond paragraph."\n'
        "\n"
        ",Two,Second row.\n"
        "3,Three,too,many\n"
    )
    write(tmp_path / "a.csv", content)
    result = read_articles([tmp_path])
    assert [(a.id, a.title, a.text) for a in result.articles] == [
        ("1", "One", "First paragraph.\n\nSecond paragraph."),
        ("a.csv#6", "Two", "Second row."),
    ]
    assert by_path(result) == {f"{tmp_path}/a.csv#7": "line 7: 4 cells but the header has 3"}


# --- files and folders -----------------------------------------------------------------------


def test_folders_are_walked_recursively_and_hidden_names_ignored(tmp_path: Path) -> None:
    write(tmp_path / "guardian" / "world" / "a.txt", "A\n\nBody a.")
    write(tmp_path / "guardian" / ".drafts" / "b.txt", "B\n\nBody b.")
    write(tmp_path / "guardian" / ".c.txt", "C\n\nBody c.")
    write(tmp_path / "guardian" / "photo.jpg", b"\xff\xd8\xff\x00")
    write(tmp_path / "guardian" / "notes.docx", "ignored")
    write(tmp_path / "top.TXT", "Top\n\nBody top.")  # suffixes match in any case
    result = read_articles([tmp_path])
    assert [(a.id, a.outlet) for a in result.articles] == [
        ("guardian/world/a.txt", "guardian"),
        ("top.TXT", ""),
    ]
    assert result.skipped == ()


def test_a_hidden_file_named_directly_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / ".hidden.txt", "Title\n\nBody.")
    assert [a.id for a in read_articles([path]).articles] == [".hidden.txt"]


def test_unsupported_file_named_directly_is_skipped(tmp_path: Path) -> None:
    xyz = write(tmp_path / "story.xyz", "Title\n\nBody.")
    bare = write(tmp_path / "story", "Title\n\nBody.")
    result = read_articles([xyz, bare])
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    assert by_path(result) == {
        str(xyz): f"unsupported file type .xyz (supported: {supported})",
        str(bare): f"unsupported file type (no suffix) (supported: {supported})",
    }


def test_missing_path_is_skipped(tmp_path: Path) -> None:
    result = read_articles([tmp_path / "nowhere"])
    assert by_path(result) == {f"{tmp_path}/nowhere": "no such file or directory"}


def test_a_single_path_is_not_taken_for_a_list_of_characters(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Title\n\nBody.")
    assert [a.id for a in read_articles(str(tmp_path)).articles] == ["a.txt"]


def test_duplicate_ids_keep_the_first_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "b" / "x.jsonl", json.dumps({"id": "story-1", "text": "From b."}))
    write(tmp_path / "a" / "x.jsonl", json.dumps({"id": "story-1", "text": "From a."}))
    result = read_articles([tmp_path])
    assert [(a.id, a.text, a.outlet) for a in result.articles] == [("story-1", "From a.", "a")]
    assert result.skipped == (
        Skipped(
            f"{tmp_path}/b/x.jsonl#1",
            f"duplicate id 'story-1' (first read from {tmp_path}/a/x.jsonl#1)",
        ),
    )


def test_the_same_file_given_twice_is_a_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Title\n\nBody.")
    result = read_articles([path, tmp_path])
    assert len(result.articles) == 1
    assert by_path(result) == {
        f"{tmp_path}/a.txt": f"duplicate id 'a.txt' (first read from {path})"
    }


def test_strict_mode_raises_on_the_first_skipped_input(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Title\n\nBody.")
    write(tmp_path / "b.txt", b"")
    write(tmp_path / "c.txt", b"\x00\x01")
    with pytest.raises(InputError, match=r"b\.txt: empty file$"):
        read_articles([tmp_path], strict=True)
    assert len(read_articles([tmp_path / "a.txt"], strict=True).articles) == 1


def test_strict_mode_does_not_raise_for_notes(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"Title\n\nCaf\xe9.")
    result = read_articles([tmp_path], strict=True)
    assert result.articles[0].text == "Café."
    assert len(result.notes) == 1


def test_iter_inputs_yields_in_walk_order(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"Title\n\nCaf\xe9.")
    write(tmp_path / "b.txt", b"")
    write(tmp_path / "c.jsonl", '{"text": "One."}\n{"no": "text"}\n')
    items = list(iter_inputs([tmp_path]))
    assert [type(item).__name__ for item in items] == [
        "Note",
        "Article",
        "Skipped",
        "Article",
        "Skipped",
    ]


def test_a_file_that_vanishes_mid_walk_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "A\n\nBody a.")
    write(tmp_path / "b.txt", "B\n\nBody b.")
    items = iter_inputs([tmp_path])
    first = next(items)
    assert isinstance(first, Article)
    (tmp_path / "b.txt").unlink()
    assert list(items) == [Skipped(f"{tmp_path}/b.txt", "no such file or directory")]


# --- links, permissions, special files -------------------------------------------------------


needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")


@needs_symlinks
def test_symlink_loops_and_broken_links_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "news"
    write(root / "wire" / "a.txt", "A\n\nBody a.")
    (root / "wire" / "again").symlink_to(root)  # a folder loop back to the top
    (root / "x.txt").symlink_to(root / "y.txt")  # a file loop x -> y -> x
    (root / "y.txt").symlink_to(root / "x.txt")
    (root / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (root / "gone.png").symlink_to(tmp_path / "missing.png")  # not an input: ignored
    write(tmp_path / "elsewhere" / "b.md", "B\n\nBody b.")
    (root / "linked.md").symlink_to(tmp_path / "elsewhere" / "b.md")
    result = read_articles([root])
    assert [a.id for a in result.articles] == ["linked.md", "wire/a.txt"]
    assert by_path(result) == {
        f"{root}/gone.txt": f"broken symlink (points to {tmp_path}/missing.txt)",
        f"{root}/wire/again": "symlink loop",
        f"{root}/x.txt": "symlink loop",
        f"{root}/y.txt": "symlink loop",
    }


needs_non_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file"
)


@needs_non_root
def test_permission_denied_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "A\n\nBody a.")
    locked = write(tmp_path / "locked.txt", "B\n\nBody b.")
    closed = tmp_path / "closed"
    write(closed / "c.txt", "C\n\nBody c.")
    locked.chmod(0)
    closed.chmod(0)
    try:
        result = read_articles([tmp_path])
    finally:
        locked.chmod(0o644)
        closed.chmod(0o755)
    assert [a.id for a in result.articles] == ["a.txt"]
    assert by_path(result) == {
        f"{tmp_path}/closed": "permission denied",
        f"{tmp_path}/locked.txt": "permission denied",
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jsonl")
    result = read_articles([tmp_path])
    assert by_path(result) == {f"{tmp_path}/pipe.jsonl": "not a regular file"}


# --- the malformed fixtures ------------------------------------------------------------------

MALFORMED = FIXTURES / "malformed"
MALFORMED_SKIPS: dict[str, str | Callable[[str], bool]] = {
    "binary.txt": "not text (binary)",
    "empty.txt": "empty file",
    "whitespace-only.md": "empty file",
    "bad-lines.jsonl#2": lambda reason: reason.startswith("line 2: invalid JSON ("),
    "bad-lines.jsonl#3": "no 'text' field",
    "bad-lines.jsonl#4": "not a JSON object (got array)",
    "not-json.json": lambda reason: reason.startswith("invalid JSON ("),
    "no-text-column.csv": "CSV has no 'text' column (columns: id, title, body, outlet)",
    "good-and-bad.csv#3": "empty 'text' field",
    "empty-body.html": "no main text found in HTML",
    "list.json#2": "no 'text' field",
}


@pytest.fixture(scope="module")
def malformed() -> ReadResult:
    return read_articles([MALFORMED])


def test_malformed_folder_skips_exactly_the_bad_inputs(malformed: ReadResult) -> None:
    skipped = {s.path.removeprefix(f"{MALFORMED}/"): s.reason for s in malformed.skipped}
    assert set(skipped) == set(MALFORMED_SKIPS)


@pytest.mark.parametrize("name", sorted(MALFORMED_SKIPS))
def test_malformed_fixture_reason(malformed: ReadResult, name: str) -> None:
    reason = by_path(malformed)[f"{MALFORMED}/{name}"]
    expected = MALFORMED_SKIPS[name]
    assert expected(reason) if callable(expected) else reason == expected


def test_malformed_folder_still_reads_the_good_inputs(malformed: ReadResult) -> None:
    articles = {a.id: a for a in malformed.articles}
    assert sorted(articles) == [
        "README.md",
        "bad-lines.jsonl#1",
        "cp1252.txt",
        "gazette-2024-0312",
        "good-and-bad.csv#2",
        "valid.html",
    ]
    assert articles["bad-lines.jsonl#1"].title == "Tram line extension opens to passengers"
    assert articles["bad-lines.jsonl#1"].published == "2024-05-11"
    assert articles["good-and-bad.csv#2"].meta == {"section": "transport"}
    assert articles["good-and-bad.csv#2"].outlet == "city-gazette"
    listed = articles["gazette-2024-0312"]
    assert (listed.author, listed.published) == ("Priya Nair", "2024-03-12T09:30:00Z")
    assert listed.meta == {"tags": ["leisure", "council"]}


def test_cp1252_is_read_with_a_note(malformed: ReadResult) -> None:
    article = next(a for a in malformed.articles if a.id == "cp1252.txt")
    assert article.title == "Harbour Board Approves \u201cQuiet Hours\u201d for Night Shipping"
    assert (
        "\u201cWe\u2019ve listened,\u201d the board\u2019s chair said \u2013 adding" in article.text
    )
    assert "café quarter" in article.text
    assert malformed.notes == (Note(f"{MALFORMED}/cp1252.txt", "not UTF-8; decoded as cp1252"),)


def test_valid_html_drops_the_boilerplate(malformed: ReadResult) -> None:
    article = next(a for a in malformed.articles if a.id == "valid.html")
    assert article.title == "Ferry strike halts island services"
    assert article.text.startswith("Ferry crews walked out on Tuesday morning")
    assert article.text.endswith("the health board said.")
    assert article.text.count("\n") == 2  # three paragraphs and nothing else
    assert (article.published, article.author) == ("2024-03-05", "Jane Doe")
    assert article.url == "https://coastal-courier.example/news/ferry-strike"


def test_cp1252_and_binary_jsonl(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", b'{"text": "Caf\xe9 \x93quoted\x94."}\n')
    write(tmp_path / "b.ndjson", b'{"text": "x"}\n\x00\x00')
    result = read_articles([tmp_path])
    assert [a.text for a in result.articles] == ["Café \u201cquoted\u201d."]
    assert result.notes == (Note(f"{tmp_path}/a.jsonl", "not UTF-8; decoded as cp1252"),)
    assert by_path(result) == {f"{tmp_path}/b.ndjson": "not text (binary)"}


def test_json_that_is_not_an_object_or_list(tmp_path: Path) -> None:
    write(tmp_path / "a.json", '"just a string"')
    write(tmp_path / "b.json", '{"text": ["not", "a", "string"]}')
    write(tmp_path / "c.json", '{"text": "   "}')
    result = read_articles([tmp_path])
    assert by_path(result) == {
        f"{tmp_path}/a.json": "not a JSON object or list of objects (got string)",
        f"{tmp_path}/b.json": "'text' is not a string (got array)",
        f"{tmp_path}/c.json": "empty 'text' field",
    }


# --- the seed fixtures -----------------------------------------------------------------------


def seed_records() -> list[dict[str, str]]:
    lines = (FIXTURES / "seed.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_seed_folder_reads_eight_articles() -> None:
    result = read_articles([FIXTURES / "seed"])
    assert result.skipped == ()
    assert result.notes == ()
    assert Counter(a.outlet for a in result.articles) == {"asianlite": 7, "guardian": 1}


def test_seed_folder_and_seed_jsonl_agree() -> None:
    folder = read_articles([FIXTURES / "seed"]).articles
    jsonl = read_articles([FIXTURES / "seed.jsonl"]).articles
    assert len(jsonl) == 8
    as_tuples = [(a.id, a.title, a.text, a.outlet) for a in folder]
    assert as_tuples == [(a.id, a.title, a.text, a.outlet) for a in jsonl]
    dated = {a.id: a.published for a in jsonl if a.published}
    assert dated == {"guardian/kim-jong-un-to-meet-putin-in-russia.txt": "2023-10-04"}


def test_seed_articles_keep_their_boilerplate() -> None:
    articles = {a.id: a for a in read_articles([FIXTURES / "seed"]).articles}
    guardian = articles["guardian/kim-jong-un-to-meet-putin-in-russia.txt"]
    assert guardian.title == "Kim Jong-un to meet Putin in Russia for talks on supplying weapons"
    assert guardian.text.endswith("No comments:\n\nPost a Comment")
    assert "Democracy Gone Astray" not in guardian.text
    for article in articles.values():
        if article.outlet == "asianlite":
            assert "reports Asian Lite News" in article.text.split("\n")[0]
            assert article.text.split("\n")[-1].startswith("ALSO READ")
            assert "Categories" not in article.text


# --- determinism -----------------------------------------------------------------------------


def test_result_does_not_depend_on_filesystem_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ["b/2.txt", "a/1.txt", "c.jsonl", "a/0.md", "b/1.json"]:
        write(tmp_path / name, json.dumps({"text": name}) if "json" in name else f"T\n\n{name}")
    write(tmp_path / "dup.jsonl", json.dumps({"id": "a/1.txt", "text": "dup"}))
    forward = read_articles([tmp_path])

    real_scandir = os.scandir

    class Reversed:
        def __init__(self, path: str | Path) -> None:
            self._entries = list(reversed(list(real_scandir(path))))

        def __enter__(self) -> list[os.DirEntry[str]]:
            return self._entries

        def __exit__(self, *args: object) -> None:
            pass

    monkeypatch.setattr(os, "scandir", Reversed)
    backward = read_articles([tmp_path])
    assert backward == forward
    assert [a.id for a in forward.articles] == sorted(a.id for a in forward.articles)
    assert by_path(forward) == {
        f"{tmp_path}/dup.jsonl#1": f"duplicate id 'a/1.txt' (first read from {tmp_path}/a/1.txt)"
    }


def test_order_of_paths_does_not_change_the_articles(tmp_path: Path) -> None:
    write(tmp_path / "one" / "x.txt", "X\n\nBody x.")
    write(tmp_path / "two" / "y.txt", "Y\n\nBody y.")
    ab = read_articles([tmp_path / "one", tmp_path / "two"])
    ba = read_articles([tmp_path / "two", tmp_path / "one"])
    assert ab == ba


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "a", "text": "plain", "n": 1.5e300, "flag": true, "none": null}',
        '{"id": "a", "text": "t", "text": "later wins", "nested": {"x": [1, 2, {"y": "z"}]}}',
        '{"text": "big", "n": 123456789012345678901234567890}',
        '{"text": "nan", "n": NaN, "m": -Infinity}',
        '{"text": "half a pair \\ud800 here"}',
        '{"text": "escapes \\u00e9 \\n \\t \\" \\\\ \\/"}',
        '{"text": "trailing comma",}',
        "[1, 2, 3]",
    ],
)
def test_json_lines_parse_as_the_json_module_parses_them(line: str) -> None:
    # JSONL goes through orjson where orjson accepts the line, else through json: either way
    # the value, or the error, is json's.
    from dedup.readers import _parse_json

    try:
        expected = json.loads(line)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            _parse_json(line)
        return
    got = _parse_json(line)
    assert json.dumps(got, allow_nan=True) == json.dumps(expected, allow_nan=True)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.text(min_size=1), "text": st.text()},
            optional={"title": st.text(), "extra": _JSON_VALUES, "published": st.text()},
        ),
        max_size=6,
    ),
    st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_a_jsonl_file_reads_as_its_lines_read_as_text(records, ascii_only):
    # (a file's lines are parsed from their bytes where orjson takes them, stdin's as text)
    lines = [json.dumps(r, ensure_ascii=ascii_only) for r in records]
    lone = '{"id": "lone-surrogate-line", "text": "a lone \\ud800 escape", "score": 0.5}'
    lines += ["", "{bad", lone]
    body = "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.jsonl"
        path.write_text(body, encoding="utf-8")
        from_file = read_articles([path])
    from_text = read_articles(["-"], stdin=io.StringIO(body))
    assert from_file.articles == from_text.articles
    reasons = [s.reason.replace(str(path), "-") for s in from_file.skipped]
    assert reasons == [s.reason for s in from_text.skipped]
    assert [n.message for n in from_file.notes] == [n.message for n in from_text.notes]
    assert any(a.id == "lone-surrogate-line" and "\ufffd" in a.text for a in from_file.articles)


# --- large JSONL files read a piece at a time on workers --------------------------------------

#: Lines of every kind a JSONL file may hold: articles (with and without ids, some twice, one in
#: cp1252 whose text is longer in UTF-8 than its line, one with CRLF), and lines skipped or
#: noted.
PIECE_LINES: list[bytes] = [
    json.dumps({"id": f"a{k}", "text": f"Story {k} " * (k % 7 + 1), "outlet": "wire"}).encode()
    for k in range(40)
] + [
    b"",
    b"   ",
    b"{not json",
    b"[1, 2]",
    b'{"id": "no-text"}',
    b'{"id": "empty", "text": ""}',
    b'{"id": "a3", "text": "the same id again"}',
    b'{"text": "no id: named by its line"}',
    b'{"id": "date", "text": "a date", "published": "last Tuesday"}',
    b'{"id": "half", "text": "half a pair \\ud800 here"}',
    b'{"id": "float", "text": "a float", "score": 1.5}',
    b'{"id": "crlf", "text": "line one"}\r',
    b'{"id": "cp1252", "text": "' + b"\x93\x94" * 60 + b'"}',
    b'{"id": "cp1252", "text": "the same id as a text that did not fit"}',
    b'{"id": "meta", "text": "other fields", "section": "port", "tags": ["a", "b"]}',
]


def read_in_pieces(monkeypatch: pytest.MonkeyPatch, paths: list[Path], **kwargs) -> ReadResult:
    monkeypatch.setattr("dedup.readers.READ_PIECE", 64)  # (a few lines a piece)
    return read_articles(paths, spill=0, workers=2, **kwargs)


def same_reading(a: ReadResult, b: ReadResult) -> None:
    assert a.articles == b.articles
    assert a.texts is not None and b.texts is not None
    assert list(a.texts) == list(b.texts)
    assert a.skipped == b.skipped
    assert a.notes == b.notes


@pytest.mark.parametrize("seed", range(4))
def test_a_jsonl_file_read_in_pieces_reads_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    import random

    lines = list(PIECE_LINES)
    random.Random(seed).shuffle(lines)
    path = write(tmp_path / "wire.jsonl", b"\n".join(lines) + (b"\n" if seed % 2 else b""))
    whole = read_articles([path], spill=0)
    assert len(whole.articles) > 40 and whole.skipped and whole.notes
    same_reading(read_in_pieces(monkeypatch, [path]), whole)


def test_texts_read_in_pieces_follow_texts_read_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write(tmp_path / "a" / "first.txt", "A title\nA text read before the wire file.")
    wire = write(tmp_path / "b" / "wire.jsonl", b"\n".join(PIECE_LINES))
    after = write(tmp_path / "c" / "after.jsonl", json.dumps({"id": "z", "text": "last"}))
    whole = read_articles([first, wire, after], spill=0)
    same_reading(read_in_pieces(monkeypatch, [first, wire, after]), whole)
    # (and when the texts first go to the file at the wire file)
    monkeypatch.setattr("dedup.readers.READ_PIECE", 64)
    late = read_articles([first, wire, after], spill=100, workers=2)
    same_reading(late, whole)


def test_a_jsonl_file_of_blank_lines_read_in_pieces_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "blank.jsonl", "\n" * 500)
    got = read_in_pieces(monkeypatch, [path])
    assert got.articles == () and got.skipped == (Skipped(str(path), "empty file"),)


def test_strict_reading_in_pieces_stops_at_the_same_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "wire.jsonl", b"\n".join(PIECE_LINES))
    with pytest.raises(InputError) as whole:
        read_articles([path], spill=0, strict=True)
    with pytest.raises(InputError) as pieces:
        read_in_pieces(monkeypatch, [path], strict=True)
    assert str(pieces.value) == str(whole.value)


def test_texts_that_cannot_be_written_by_a_worker_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: memoryview, at: int) -> None:
        raise OSError(28, "No space left on device")

    path = write(tmp_path / "wire.jsonl", b"\n".join(PIECE_LINES))
    whole = read_articles([path], spill=0)
    monkeypatch.setattr("dedup.readers.write_at", full)  # (the workers are forked after)
    same_reading(read_in_pieces(monkeypatch, [path]), whole)


def test_a_jsonl_file_that_grows_while_read_in_pieces_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "wire.jsonl", b"\n".join(PIECE_LINES))
    whole = read_articles([path], spill=0)
    real = os.fstat

    def smaller(fd: int) -> os.stat_result:  # (the size when opened: half what is read)
        found = real(fd)
        if os.path.realpath(f"/proc/self/fd/{fd}") != os.path.realpath(path):
            return found
        return os.stat_result((*found[:6], found.st_size // 2, *found[7:]))

    monkeypatch.setattr(os, "fstat", smaller)
    same_reading(read_in_pieces(monkeypatch, [path]), whole)
