"""Read articles from files, folders and standard input.

A PATH is a file or a folder (read recursively in sorted order; hidden names are ignored), or `-`
for JSONL on standard input. Supported files:

- `.txt`, `.md`: the first non-empty line is the title (for `.md` without its leading `#`s), the
  rest is the text.
- `.html`, `.htm`: main text, title, date, author and url extracted by trafilatura; boilerplate
  such as navigation and footers is dropped (an extractor's judgement, not an exact science).
- `.json`: one article object, or a list of them.
- `.jsonl`, `.ndjson`: one article object a line; blank lines are ignored.
- `.csv`: a header row with a `text` column; other columns are fields.

Bad input never raises (except with `strict=True`): each unreadable file or record becomes a
`Skipped` with the reason, and the rest is read. Text is kept as written apart from line endings
(CRLF and CR become LF), so character offsets into `Article.text` point into what the user wrote.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import errno
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import orjson

from .errors import InputError
from .models import Article, Skipped, make_article, with_text
from .textstore import Texts, TextStore, write_at

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Note",
    "ReadResult",
    "iter_inputs",
    "read_articles",
]

#: File name suffixes read inside folders (compared in lower case).
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv"}
)

#: Record fields that map onto `Article`; any other field goes into `Article.meta`.
FIELDS: tuple[str, ...] = ("id", "title", "text", "outlet", "published", "url", "author")
_FIELD_SET = frozenset(FIELDS)

#: The meta of every record without other fields: one read-only mapping, not an empty dict
#: each (64 bytes an article).
_NO_META: Mapping[str, Any] = MappingProxyType({})

_SNIFF_BYTES = 8192  # a NUL byte in this many leading bytes marks a file as binary

#: A JSONL file of at least two pieces of this many bytes is read a piece at a time on worker
#: processes (`read_articles(workers=...)`): each piece ends at the end of a line.
READ_PIECE = 1 << 22


@dataclass(frozen=True)
class Note:
    """Something worth telling the user that did not stop the input being read.

    path: the file (or `file#line` for one record) it is about; message: what happened.
    """

    path: str
    message: str


@dataclass(frozen=True)
class ReadResult:
    """Everything read from some inputs.

    articles: the articles read, sorted by id.
    texts: when `read_articles(spill=...)` kept the texts in a temporary file, the text of each
        article (aligned with `articles`); the articles' own `text` is then "". Otherwise None.
    skipped: inputs (files or single records) that were not read, and why; sorted by path.
    notes: things worth telling about inputs that were read (an encoding guessed, a date ignored),
        sorted by path.
    """

    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[Note, ...]
    texts: Texts | None = None


@dataclass(frozen=True)
class _Source:
    """One file to read: where it is, how to name it to the user, its default id and outlet."""

    path: Path
    shown: str
    rel: str
    outlet: str


# An article travels with where it was read from, for the duplicate-id message.
_Item = tuple[Article, str] | Skipped | Note


def read_articles(
    paths: Iterable[str | Path],
    *,
    stdin: IO[str] | None = None,
    strict: bool = False,
    spill: int | None = None,
    workers: int = 1,
) -> ReadResult:
    """Read every article under `paths` (files, folders, or `-` for JSONL on `stdin`).

    With strict=True, the first input that cannot be read raises `InputError` naming its path and
    the reason; otherwise it is listed in `ReadResult.skipped` and reading goes on. With `spill`
    (a number of characters), once the texts read add up to more than that, every text goes to a
    temporary file (`ReadResult.texts`), not into the articles: a million articles hold a
    gigabyte of text. Fewer stay in memory, where they are quicker to read again. With
    `workers` > 1, large JSONL files are parsed on up to that many processes (`READ_PIECE`); the
    result is the same.
    """
    kept = _Kept(spill)
    skipped: list[Skipped] = []
    notes: list[Note] = []
    for item in _inputs(paths, stdin, workers, kept if spill is not None else None):
        if isinstance(item, Article | _Stored):
            kept.add(item)
        elif isinstance(item, Skipped):
            if strict:
                raise InputError(f"{item.path}: {item.reason}")
            skipped.append(item)
        else:
            notes.append(item)
    articles, store = kept.articles, kept.store
    ids = [a.id for a in articles]
    order = sorted(range(len(articles)), key=ids.__getitem__)
    del ids
    return ReadResult(
        articles=tuple([articles[k] for k in order]),
        skipped=tuple(sorted(skipped, key=lambda s: (s.path, s.reason))),
        notes=tuple(sorted(notes, key=lambda n: n.path)),
        texts=None if store is None else store.take(order),
    )


@dataclass
class _Stored:
    """Articles whose texts are in the texts' file already, text k from byte starts[k] to
    ends[k] (their own texts are ""), each with where it was read from."""

    articles: list[Article]
    wheres: list[str]
    starts: list[int]
    ends: list[int]

    def part(self, keep: Iterable[int]) -> _Stored:
        at = list(keep)
        return _Stored(
            [self.articles[k] for k in at],
            [self.wheres[k] for k in at],
            [self.starts[k] for k in at],
            [self.ends[k] for k in at],
        )


class _Kept:
    """The articles read, with their texts in memory until they add up to more than `spill`
    characters (None: always), then in a `TextStore` (those so far first, then each as it is
    read): `read_articles`."""

    def __init__(self, spill: int | None) -> None:
        self.articles: list[Article] = []
        self.store: TextStore | None = None
        self._spill, self._held = spill, 0

    def add(self, item: Article | _Stored) -> None:
        if isinstance(item, _Stored):  # (`room` made the store)
            assert self.store is not None
            self.store.put_many(item.starts, item.ends)
            self.articles.extend(item.articles)
            return
        article = item
        if self.store is None and self._spill is not None:
            self._held += len(article.text)
            if self._held > self._spill:
                self._make_store()
        if self.store is not None:
            self.store.add(article.text)
            article = with_text(article, "")
        self.articles.append(article)

    def room(self, size: int) -> TextStore | None:
        """The store, when texts of up to `size` more bytes are to go into it (made now if they
        could pass `spill`)."""
        if self.store is None and self._spill is not None and self._held + size > self._spill:
            self._make_store()
        return self.store

    def _make_store(self) -> None:
        self.store = store = TextStore()
        articles = self.articles
        for k, a in enumerate(articles):
            store.add(a.text)
            articles[k] = with_text(a, "")


def iter_inputs(
    paths: Iterable[str | Path], *, stdin: IO[str] | None = None
) -> Iterator[Article | Skipped | Note]:
    """Yield the articles, skipped inputs and notes of `paths`, in sorted walk order.

    Each PATH is a file, a folder (walked recursively, names sorted, hidden names ignored,
    unsupported suffixes ignored) or `-` (JSONL read from `stdin`, default `sys.stdin`).
    An id seen before is skipped ("duplicate id ..."): the first one read wins.
    """
    for item in _inputs(paths, stdin, 1, None):
        assert not isinstance(item, _Stored)  # (no store: every text is its article's)
        yield item


def _inputs(
    paths: Iterable[str | Path], stdin: IO[str] | None, workers: int, kept: _Kept | None
) -> Iterator[Article | _Stored | Skipped | Note]:
    """`iter_inputs`, large JSONL files parsed on up to `workers` processes with their texts
    written into the store of `kept` (`_read_jsonl_pieces`): those articles come as `_Stored`."""
    if isinstance(paths, str | os.PathLike):  # one path, not an iterable of its characters
        paths = [paths]
    first_seen: dict[str, str] = {}
    for path in paths:
        for item in _read_path(path, stdin, workers, kept):
            if isinstance(item, _Stored):
                yield from _first_seen(item, first_seen)
            elif isinstance(item, tuple):
                article, where = item
                if article.id in first_seen:
                    yield _duplicate(where, article.id, first_seen[article.id])
                else:
                    first_seen[article.id] = where
                    yield article
            else:
                yield item


def _first_seen(stored: _Stored, first_seen: dict[str, str]) -> Iterator[_Stored | Skipped]:
    """The articles of `stored` whose ids were not seen before (`first_seen`, to which they are
    added), then a skip for each of the others."""
    ids = [a.id for a in stored.articles]
    if first_seen.keys().isdisjoint(ids) and len(set(ids)) == len(ids):  # (the usual case)
        first_seen.update(zip(ids, stored.wheres, strict=True))
        yield stored
        return
    keep: list[int] = []
    skips: list[Skipped] = []
    for k, (id_, where) in enumerate(zip(ids, stored.wheres, strict=True)):
        if id_ in first_seen:
            skips.append(_duplicate(where, id_, first_seen[id_]))
        else:
            first_seen[id_] = where
            keep.append(k)
    yield stored.part(keep)
    yield from skips


def _duplicate(where: str, article_id: str, first: str) -> Skipped:
    return Skipped(where, f"duplicate id {article_id!r} (first read from {first})")


# --- finding files ---------------------------------------------------------------------------


def _read_path(
    path: str | Path, stdin: IO[str] | None, workers: int, kept: _Kept | None
) -> Iterator[_Item | _Stored]:
    shown = os.fspath(path)
    if shown == "-":
        lines = stdin if stdin is not None else sys.stdin
        yield from _read_jsonl_lines(enumerate(lines, 1), shown="-", rel="-", outlet="")
        return
    for source in _find_sources(Path(path), shown):
        if isinstance(source, Skipped):
            yield source
        else:
            yield from _read_source(source, workers, kept)


def _find_sources(root: Path, shown: str) -> Iterator[_Source | Skipped]:
    try:
        info = root.stat()
    except OSError as exc:
        yield Skipped(shown, _os_reason(root, exc))
        return
    if stat.S_ISDIR(info.st_mode):
        yield from _walk(root, shown, (), frozenset({(info.st_dev, info.st_ino)}))
    elif not stat.S_ISREG(info.st_mode):
        yield Skipped(shown, "not a regular file")
    elif root.suffix.lower() not in SUPPORTED_SUFFIXES:
        kind = root.suffix or "(no suffix)"
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        yield Skipped(shown, f"unsupported file type {kind} (supported: {supported})")
    else:
        yield _Source(root, shown, rel=root.name, outlet="")


def _walk(
    root: Path, shown: str, rel: tuple[str, ...], ancestors: frozenset[tuple[int, int]]
) -> Iterator[_Source | Skipped]:
    """Walk one folder in sorted order; `ancestors` are the folders above, to detect loops."""
    folder = root.joinpath(*rel)
    folder_shown = os.path.join(shown, *rel)
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries if not entry.name.startswith("."))
    except OSError as exc:
        yield Skipped(folder_shown, _os_reason(folder, exc))
        return
    for name in names:
        path = folder / name
        parts = (*rel, name)
        path_shown = os.path.join(folder_shown, name)
        suffix = path.suffix.lower()
        try:
            info = path.stat()  # follows symlinks
        except OSError as exc:
            # A broken or looping link, or a file that vanished: report it when it could have
            # been an input (a supported file, or a folder, which has no suffix as a rule).
            if suffix in SUPPORTED_SUFFIXES or not suffix:
                yield Skipped(path_shown, _os_reason(path, exc))
            continue
        if stat.S_ISDIR(info.st_mode):
            key = (info.st_dev, info.st_ino)
            if key in ancestors:
                yield Skipped(path_shown, "symlink loop")
            else:
                yield from _walk(root, shown, parts, ancestors | {key})
        elif suffix not in SUPPORTED_SUFFIXES:
            continue
        elif not stat.S_ISREG(info.st_mode):
            yield Skipped(path_shown, "not a regular file")  # a FIFO would block on open
        else:
            outlet = parts[0] if len(parts) > 1 else ""
            yield _Source(path, path_shown, rel="/".join(parts), outlet=outlet)


def _os_reason(path: Path, exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, FileNotFoundError) and path.is_symlink():
        try:
            return f"broken symlink (points to {os.readlink(path)})"
        except OSError:
            return "broken symlink"
    message = exc.strerror or str(exc)
    return message[:1].lower() + message[1:]


# --- reading one file ------------------------------------------------------------------------


def _read_source(
    source: _Source, workers: int = 1, kept: _Kept | None = None
) -> Iterator[_Item | _Stored]:
    suffix = source.path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl_file(source, workers, kept)
        return
    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        yield Skipped(source.shown, _os_reason(source.path, exc))
        return
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        content, encoding = raw.decode("utf-16"), None
    elif b"\0" in raw[:_SNIFF_BYTES]:
        yield Skipped(source.shown, "not text (binary)")
        return
    elif suffix in (".html", ".htm"):
        content, encoding = _decode(raw, _declared_charset(raw))
    else:
        content, encoding = _decode(raw)
    if not content.strip():
        yield Skipped(source.shown, "empty file")
        return
    if encoding is not None:
        yield Note(source.shown, f"not UTF-8; decoded as {encoding}")
    content = _lf(content)
    if suffix in (".txt", ".md"):
        yield from _read_plain(source, content, markdown=suffix == ".md")
    elif suffix in (".html", ".htm"):
        yield from _read_html(source, content)
    elif suffix == ".json":
        yield from _read_json(source, content)
    else:
        yield from _read_csv(source, content)


def _decode(raw: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Decode as UTF-8 (BOM stripped), else the declared charset, else cp1252, else latin-1.

    Returns the text and, when it was guessed, the encoding used (for a note).
    """
    try:  # ("utf-8-sig" is a Python-level codec: a line of JSONL at a time, it shows)
        return raw.decode("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"), None
    except UnicodeDecodeError:
        pass
    if declared is not None:
        try:
            return raw.decode(declared), None
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"  # every byte is a latin-1 character


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)


def _declared_charset(raw: bytes) -> str | None:
    match = _CHARSET.search(raw[:4096])
    return match.group(1).decode("ascii") if match else None


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _read_plain(source: _Source, content: str, *, markdown: bool) -> Iterator[_Item]:
    lines = content.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip())  # content is not blank
    title = lines[start].strip()
    if markdown:
        title = title.lstrip("#").strip()
    body = _strip_blank_lines(lines[start + 1 :])
    if not body:
        yield Skipped(source.shown, "no text after the title line")
        return
    article = Article(id=source.rel, text=body, title=title, outlet=source.outlet)
    yield article, source.shown


def _strip_blank_lines(lines: list[str]) -> str:
    """Join lines, leaving out blank lines at the start and the end."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return "\n".join(lines[filled[0] : filled[-1] + 1]) if filled else ""


def _read_html(source: _Source, content: str) -> Iterator[_Item]:
    import trafilatura  # slow to import: only when there is HTML to read

    try:
        found = trafilatura.bare_extraction(
            content, include_comments=False, include_tables=True, with_metadata=True
        )
    except Exception as exc:  # a third-party parser on arbitrary input: report, never crash
        yield Skipped(source.shown, f"HTML could not be parsed ({exc})")
        return
    # trafilatura 2 returns a Document, 1.x a dict
    fields: dict[str, Any] = found if isinstance(found, dict) else found.as_dict() if found else {}
    text = _lf(fields.get("text") or "")
    if not text.strip():
        yield Skipped(source.shown, "no main text found in HTML")
        return
    title = (fields.get("title") or "").strip()
    lines = text.split("\n")
    if title and lines[0].strip() == title:  # the headline is the title, not part of the text
        text = _strip_blank_lines(lines[1:]) or text
    published, note = _published(fields.get("date"))
    if note is not None:
        yield Note(source.shown, note)
    sitename = fields.get("sitename")
    article = Article(
        id=source.rel,
        text=text,
        title=title,
        outlet=source.outlet,
        published=published,
        url=fields.get("url") or None,
        author=fields.get("author") or None,
        meta={"sitename": sitename} if sitename else {},
    )
    yield article, source.shown


def _read_json(source: _Source, content: str) -> Iterator[_Item]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        yield Skipped(source.shown, f"invalid JSON ({exc})")
        return
    data, note = _no_surrogates(content, data)
    if note:
        yield Note(source.shown, note)
    if isinstance(data, dict):
        yield from _record(data, where=source.shown, default_id=source.rel, outlet=source.outlet)
    elif isinstance(data, list):
        for number, item in enumerate(data, 1):
            where, default_id = f"{source.shown}#{number}", f"{source.rel}#{number}"
            yield from _record(item, where=where, default_id=default_id, outlet=source.outlet)
    else:
        got = _json_type(data)
        yield Skipped(source.shown, f"not a JSON object or list of objects (got {got})")


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _parse_json(text: str) -> Any:
    """`json.loads`, through orjson (twice as fast) where the two agree: a document orjson
    refuses (NaN, a lone surrogate escape, an error), or one with a float (orjson reads an
    integer beyond 64 bits as one), is parsed by json, whose value or error it is."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    return json.loads(text) if _has_float(data) else data


def _has_float(value: Any) -> bool:
    if type(value) is dict:  # (a record of strings: the usual JSONL line, checked at once)
        for v in value.values():
            if type(v) is not str:
                break
        else:
            return False
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def _no_surrogates(raw: str, data: Any) -> tuple[Any, str | None]:
    """JSON may escape half a UTF-16 pair ("\\ud800"), which no UTF-8 output can hold: such
    characters of `data` (parsed from `raw`) become U+FFFD, with a note saying so."""
    if "\\u" not in raw or not _SURROGATE_ESCAPE.search(raw):
        return data, None
    found = False

    def clean(value: Any) -> Any:
        nonlocal found
        if isinstance(value, str):
            if _SURROGATE.search(value):
                found = True
                return _SURROGATE.sub("\ufffd", value)
            return value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        return value

    cleaned = clean(data)
    return cleaned, "unpaired UTF-16 surrogate escapes replaced by U+FFFD" if found else None


def _read_jsonl_file(
    source: _Source, workers: int = 1, kept: _Kept | None = None
) -> Iterator[_Item | _Stored]:
    """Stream a JSONL file line by line (such files can be larger than memory). One of two
    `READ_PIECE`s or more whose texts go to the store of `kept` is parsed a piece at a time on
    up to `workers` processes (`_read_jsonl_pieces`)."""
    try:
        with source.path.open("rb") as file:
            if b"\0" in file.read(_SNIFF_BYTES):
                yield Skipped(source.shown, "not text (binary)")
                return
            file.seek(0)
            guessed: list[str] = []
            size = os.fstat(file.fileno()).st_size
            large = workers > 1 and size >= 2 * READ_PIECE and hasattr(os, "pwrite")
            store = kept.room(size) if kept is not None and large else None
            if store is not None:
                yield from _read_jsonl_pieces(source, file, size, store, workers, guessed)
            else:
                yield from _read_jsonl_lines(
                    enumerate(file, 1), shown=source.shown, rel=source.rel, outlet=source.outlet,
                    guessed=guessed,
                )  # fmt: skip
            if guessed:
                yield Note(source.shown, f"not UTF-8; decoded as {guessed[0]}")
    except OSError as exc:
        yield Skipped(source.shown, _os_reason(source.path, exc))


@dataclass(frozen=True)
class _PieceOf:
    """Bytes start to end of a JSONL file, whose first line is line number `first`; its texts
    go into the texts' file (descriptor `fd`) from byte `room`, `free` bytes at most."""

    source: _Source
    start: int
    end: int
    first: int
    fd: int
    room: int
    free: int


@dataclass(frozen=True)
class _ReadPiece:
    """The items of a piece (`_read_piece`), packed to travel back from a worker: the fields
    of each article in `make_article`'s order, the text None when it is in the texts' file
    (then from byte starts[k] to ends[k]), with its line number; the skipped inputs and notes,
    each with the number of articles before it; the encoding guessed, if any."""

    fields: list[tuple[Any, ...]]
    numbers: list[int]
    starts: list[int]
    ends: list[int]
    others: list[tuple[int, Skipped | Note]]
    guessed: str | None
    error: str | None = None  # (the file could not be read: why)


def _pieces(source: _Source, file: IO[bytes], fd: int, room: int, size: int) -> Iterator[_PieceOf]:
    """The pieces of an open JSONL file, each READ_PIECE bytes and the rest of its last line,
    found as they are asked for (the file is read once here, to number the lines), with the
    room set aside for the texts of its first `size` bytes (all but what it gained since)."""
    start, first = 0, 1
    while True:
        data = file.read(READ_PIECE)
        if not data:
            return
        data += file.readline()
        end = start + len(data)
        yield _PieceOf(source, start, end, first, fd, room + start, max(0, min(end, size) - start))
        start = end
        first += data.count(b"\n")


def _read_jsonl_pieces(
    source: _Source,
    file: IO[bytes],
    size: int,
    store: TextStore,
    workers: int,
    guessed: list[str],
) -> Iterator[_Item | _Stored]:
    """The items of a JSONL file read a piece at a time on the workers, each writing the texts
    it reads into room set aside in `store` (a text's UTF-8 is no longer than the JSON string it
    was read from but for a line not in UTF-8: a text that does not fit comes back as text):
    what `_read_jsonl_lines` yields for the whole file, in the same order."""
    from .parallel import map_ahead

    room, fd = store.reserve(size)
    empty = True
    pieces = _pieces(source, file, fd, room, size)
    for _, piece in map_ahead(_read_piece, pieces, workers):
        done = 0
        for before, other in piece.others:
            yield from _piece_articles(source, piece, done, before)
            done = before
            yield other
        yield from _piece_articles(source, piece, done, len(piece.fields))
        empty = empty and not (piece.fields or piece.others)
        if piece.guessed is not None and not guessed:
            guessed.append(piece.guessed)
        if piece.error is not None:
            yield Skipped(source.shown, piece.error)
            return
    if empty:
        yield Skipped(source.shown, "empty file")


def _piece_articles(
    source: _Source, piece: _ReadPiece, lo: int, hi: int
) -> Iterator[_Item | _Stored]:
    """The articles lo to hi of a piece, as `_record` made them: those whose texts are in the
    texts' file as one `_Stored`, then any other (a text that did not fit) as it is."""
    shown = source.shown
    stored = _Stored([], [], [], [])
    for fields, number, start, end in zip(
        piece.fields[lo:hi], piece.numbers[lo:hi], piece.starts[lo:hi], piece.ends[lo:hi],
        strict=True,
    ):  # fmt: skip
        id_, text, title, outlet, published, url, author, meta = fields
        article = make_article(
            id_, text or "", title, sys.intern(outlet), published, url, author, meta or _NO_META
        )
        where = f"{shown}#{number}"
        if text is None:
            stored.articles.append(article)
            stored.wheres.append(where)
            stored.starts.append(start)
            stored.ends.append(end)
        else:  # (in file order: the stored ones before it first)
            if stored.articles:
                yield stored
                stored = _Stored([], [], [], [])
            yield article, where
    if stored.articles:
        yield stored


def _read_piece(piece: _PieceOf) -> _ReadPiece:
    """Read and parse one piece of a JSONL file (on a worker), its texts written into the
    texts' file where they fit. A line orjson takes as an object is read here; any other as
    `_read_jsonl_lines` reads it."""
    source, shown = piece.source, piece.source.shown
    read = _ReadPiece([], [], [], [], [], None)
    try:
        with source.path.open("rb") as file:
            file.seek(piece.start)
            data = file.read(piece.end - piece.start)
    except OSError as exc:
        return dataclasses.replace(read, error=_os_reason(source.path, exc))
    texts = bytearray()
    guessed: list[str] = []

    def add(number: int, fields: tuple[Any, ...]) -> None:
        text = fields[1]
        encoded = text.encode("utf-8", "surrogatepass")
        if len(texts) + len(encoded) <= piece.free:
            read.starts.append(piece.room + len(texts))
            texts.extend(encoded)
            read.ends.append(piece.room + len(texts))
            text = None
        else:
            read.starts.append(-1)
            read.ends.append(-1)
        meta = None if fields[7] is _NO_META else fields[7]  # (a mapping proxy does not pickle)
        read.fields.append((fields[0], text, *fields[2:7], meta))
        read.numbers.append(number)

    for number, raw in enumerate(io.BytesIO(data), piece.first):
        parsed = _utf8_json(raw)
        if type(parsed) is dict:  # (the usual line)
            fields, why = _fields(parsed, f"{source.rel}#{number}", source.outlet)
            if fields is None:
                read.others.append((len(read.fields), Skipped(f"{shown}#{number}", why)))
                continue
            if why:
                read.others.append((len(read.fields), Note(f"{shown}#{number}", why)))
            add(number, fields)
            continue
        for item in _read_jsonl_lines(
            [(number, raw)], shown=shown, rel=source.rel, outlet=source.outlet,
            guessed=guessed, whole=False,
        ):  # fmt: skip
            if isinstance(item, tuple):
                a = item[0]
                add(number, (a.id, a.text, a.title, a.outlet, a.published, a.url, a.author, a.meta))
            else:
                read.others.append((len(read.fields), item))
    del data
    try:
        write_at(piece.fd, memoryview(texts), piece.room)
    except OSError:  # (the disk is full: the texts go back, for `TextStore.add` to say so)
        for k, (f, start, end) in enumerate(zip(read.fields, read.starts, read.ends, strict=True)):
            if f[1] is None:
                at = slice(start - piece.room, end - piece.room)
                read.fields[k] = (f[0], texts[at].decode("utf-8", "surrogatepass"), *f[2:])
    return dataclasses.replace(read, guessed=guessed[0] if guessed else None)


def _read_jsonl_lines(
    lines: Iterable[tuple[int, str]] | Iterable[tuple[int, bytes]],
    *,
    shown: str,
    rel: str,
    outlet: str,
    guessed: list[str] | None = None,
    whole: bool = True,
) -> Iterator[_Item]:
    """The items of numbered JSONL lines, text or bytes. A line of bytes is parsed straight
    from its bytes where orjson takes it as is (`_utf8_json`: the usual line); any other is
    decoded (`_decode`; the first guessed encoding is appended to `guessed`) and parsed as
    text, with the notes and reasons that may need. `whole`: the lines are a whole input (not
    a piece of one), so none at all is worth a skip."""
    empty = True
    for number, raw in lines:
        where = f"{shown}#{number}"
        if isinstance(raw, bytes):
            data = _utf8_json(raw)
            if data is not _NOT_PARSED:
                empty = False
                yield from _record(data, where=where, default_id=f"{rel}#{number}", outlet=outlet)
                continue
            line, encoding = _decode(raw)
            if encoding is not None and guessed is not None and not guessed:
                guessed.append(encoding)
        else:
            line = raw
        if not line.strip():
            continue
        empty = False
        try:
            data = _parse_json(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            yield Skipped(where, f"line {number}: invalid JSON ({exc})")
            continue
        data, note = _no_surrogates(line, data)
        if note:
            yield Note(where, note)
        yield from _record(data, where=where, default_id=f"{rel}#{number}", outlet=outlet)
    if empty and whole:
        yield Skipped(shown, "empty input" if shown == "-" else "empty file")


_NOT_PARSED = object()


def _utf8_json(raw: bytes) -> Any:
    """A line's JSON parsed by orjson from its bytes, or `_NOT_PARSED`. orjson refuses all that
    needs more care (not UTF-8, a byte-order mark, a lone surrogate escape, a blank line, an
    error), and a document with a float is left to `_parse_json` too; what it takes is what
    decoding and `_parse_json` would give, with nothing to note (reading the 100k synthetic
    corpus: 1.34 s -> 0.95 s)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_PARSED
    return _NOT_PARSED if _has_float(data) else data


def _read_csv(source: _Source, content: str) -> Iterator[_Item]:
    reader = csv.reader(io.StringIO(content, newline=""))
    header: list[str] | None = None
    previous = 0  # line number of the end of the previous row (a quoted cell may span lines)
    try:
        for row in reader:
            number, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [_column_name(cell) for cell in row]
                if "text" not in header:
                    columns = ", ".join(cell.strip() for cell in row)
                    yield Skipped(source.shown, f"CSV has no 'text' column (columns: {columns})")
                    return
                continue
            where = f"{source.shown}#{number}"
            if len(row) > len(header):
                reason = f"line {number}: {len(row)} cells but the header has {len(header)}"
                yield Skipped(where, reason)
                continue
            default_id = f"{source.rel}#{number}"
            record = dict(zip(header, row, strict=False))
            yield from _record(record, where=where, default_id=default_id, outlet=source.outlet)
    except csv.Error as exc:
        yield Skipped(f"{source.shown}#{previous + 1}", f"line {previous + 1}: invalid CSV ({exc})")


def _column_name(cell: str) -> str:
    """Header names of the article fields match in any case (`Text`, `TITLE`); others as given."""
    name = cell.strip()
    return name.lower() if name.lower() in FIELDS else name


# --- one record ------------------------------------------------------------------------------


def _record(data: object, *, where: str, default_id: str, outlet: str) -> Iterator[_Item]:
    """Turn one JSON object or CSV row into an article, or say why not."""
    fields, why = _fields(data, default_id, outlet)
    if fields is None:
        yield Skipped(where, why)
        return
    if why:
        yield Note(where, why)
    yield make_article(*fields), where


def _fields(data: object, default_id: str, outlet: str) -> tuple[tuple[Any, ...] | None, str]:
    """The fields of the article of one JSON object or CSV row, in `make_article`'s order, and
    a note on them (or ""); or None and why there is no article."""
    if type(data) is not dict and not isinstance(data, Mapping):
        return None, f"not a JSON object (got {_json_type(data)})"
    text = data.get("text")
    if text is None:
        return None, "no 'text' field"
    if not isinstance(text, str):
        return None, f"'text' is not a string (got {_json_type(text)})"
    if not text or text.isspace():  # (not `strip`: a copy of every text)
        return None, "empty 'text' field"
    published, note = _published(data.get("published"))
    return (
        _string(data.get("id")) or default_id,
        _lf(text),
        (_string(data.get("title")) or "").strip(),
        sys.intern((_string(data.get("outlet")) or outlet).strip()),  # (one per outlet)
        published,
        _string(data.get("url")) or None,
        _string(data.get("author")) or None,
        _NO_META
        if data.keys() <= _FIELD_SET
        else {key: value for key, value in data.items() if key not in _FIELD_SET} or _NO_META,
    ), note or ""


def _string(value: Any) -> str | None:
    """A field as a string: None and "" are missing; a list of strings is joined with ", "."""
    if type(value) is str:
        return value or None
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    return str(value)


def _published(value: Any) -> tuple[str | None, str | None]:
    """The published date as given if it is ISO 8601, else None and a note saying so."""
    if value is None or value == "":
        return None, None
    if isinstance(value, str):
        given = value.strip()
        checked = given[:-1] + "+00:00" if given.endswith(("Z", "z")) else given
        try:
            datetime.fromisoformat(checked)
        except ValueError:
            pass
        else:
            return given, None
    return None, f"published {value!r} is not ISO 8601; ignored"


def _json_type(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__
