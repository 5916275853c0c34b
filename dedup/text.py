"""Normalisation that keeps offsets: the words an article is matched on, and where they are.

Matching sees Unicode-NFKC, case-folded word tokens; each token keeps the character span it came
from in the article's original text, so any passage can be shown from the original by offsets.
Boilerplate lines ("ALSO READ ...", "Categories", "Original Article", "Source: ...",
newsletter and cookie notices, ...) are dropped before tokenising.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xxhash

from .arrays import distinct

_WORD = re.compile(r"\w+")
_WORD_SPLIT = re.compile(r"(\w+)")
#: A blank line: where a paragraph ends (passages never run across one).
PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_NO_OFFSETS = np.zeros(0, dtype=np.int64)
_LINE = re.compile(r"[^\n]*")

#: Lines (up to `_MAX_BOILERPLATE_WORDS` words) that are page furniture rather than article text.
BOILERPLATE_LINE = re.compile(
    r"""^\W*(?:
        also\ read\b.*
      | read\ (?:more|also|next)\b.*
      | related(?:\ (?:articles?|stories|coverage|content))?\W*
      | more\ (?:on\ this\ story|stories)\b.*
      | categories\W*
      | -?\W*top\ news\b.*
      | tags?\s*:.*
      | original\ article\W*
      | source\s*:.*
      | author\s*:.*
      | (?:no|\d+)\ comments?\W*
      | post\ a\ comment\W*
      | leave\ a\ (?:comment|reply)\W*
      | (?:share|tweet|email|print)(?:\ (?:this|on\ \w+))?(?:\ (?:article|story|page))?\W*
      | advertisement\W*
      | (?:click|tap)\ here\b.*
      | follow\ us\b.*
      | .*\b(?:sign\ up|subscribe)\b.*\b(?:newsletter|updates|inbox|alerts)\b.*
      | .*\bnewsletter\b.*\b(?:sign\ up|subscribe|inbox)\b.*
      | .*\bcookies?\b.*\b(?:accept|consent|policy|settings|use)\b.*
      | (?:copyright|\(c\)|©).*
      | all\ rights\ reserved\W*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_BOILERPLATE_WORDS = 25


@cache
def stop_words() -> frozenset[str]:
    """Common English words that carry no topic: scikit-learn's list, read from the module that
    holds it alone, where scikit-learn keeps it. Importing scikit-learn takes a second or more,
    and a report needs the list before its workers start but scikit-learn only later (its
    import then overlaps the fingerprinting). Elsewhere, scikit-learn is imported."""
    found = importlib.util.find_spec("sklearn")  # (finds the package without importing it)
    for folder in (found.submodule_search_locations or []) if found else []:
        path = Path(folder) / "feature_extraction" / "_stop_words.py"
        spec = importlib.util.spec_from_file_location("_dedup_stop_words", path)
        if spec is None or spec.loader is None or not path.is_file():
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        words = getattr(module, "ENGLISH_STOP_WORDS", None)
        if isinstance(words, frozenset):
            return words
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


#: A credit naming the wire or outlet a text comes from, e.g. "(AP)", "(Reuters) -",
#: "…reports Asian Lite News", "(ANI)", "PA Media".
WIRE_CREDIT = re.compile(
    r"""\((?:AP|Reuters|AFP|ANI|PTI|IANS|PA|UPI|dpa|Xinhua|Yonhap|Bloomberg)\)
      | \b(?:Reuters|Associated\ Press|Agence\ France-Presse|Press\ Association|PA\ Media)\b
        \s*(?:-|–|—|reported|said)
      | \breports\ [A-Z][\w&.]*(?:\ [A-Z][\w&.]*){0,4}\ News\b
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Tokens:
    """The matching view of one text.

    words: normalised tokens (NFKC, case-folded), boilerplate lines left out.
    starts, ends: character span of each token in the original text.
    """

    words: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]


# Cheap tests that every boilerplate line passes (its first word, or a tell-tale word), so most
# article lines are cleared without running BOILERPLATE_LINE.
_PREFIX_WORDS = (
    r"(?:also|read|related|more|categories|top|tags?|original|source|author|no|\d+|post|"
    r"leave|share|tweet|email|print|advertisement|click|tap|follow|copyright|\(c\)|©|all)\b"
)
_MAYBE_PREFIX = re.compile(r"\W*" + _PREFIX_WORDS, re.IGNORECASE)
_MAYBE_ANYWHERE = re.compile(r"newsletter|subscribe|sign up|cookie", re.IGNORECASE)


def is_boilerplate_line(line: str) -> bool:
    """True for a short line that is page furniture ("ALSO READ ...", "Categories", ...)."""
    stripped = line.strip()
    if not stripped or len(stripped) > 40 * _MAX_BOILERPLATE_WORDS:
        return False
    if not _MAYBE_PREFIX.match(stripped) and (
        len(stripped) > 12 * _MAX_BOILERPLATE_WORDS or not _MAYBE_ANYWHERE.search(stripped)
    ):
        return False
    if len(_WORD.findall(stripped)) > _MAX_BOILERPLATE_WORDS:
        return False
    return BOILERPLATE_LINE.match(stripped) is not None


def _fold(word: str) -> str:
    if word.isascii():
        return word.lower()
    return unicodedata.normalize("NFKC", word).casefold()


def _folded(text: str) -> str | None:
    """The text case-folded (and NFKC-normalised) as one string of the same length, so that
    offsets into it are offsets into `text`; None when folding changes the length."""
    if text.isascii():
        return text.lower()
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text):
            return folded
    return None


# Every line that `is_boilerplate_line` may accept starts as `_PREFIX_LINE` matches or holds one of
# `_ANYWHERE_WORDS`, so two quick scans of the whole text find the few lines worth checking.
# The first line is matched on its own: a pattern that starts with a newline is searched for
# with a fast scan for that character, where a MULTILINE "^" is tried at every position.
_PREFIX_LINE = re.compile(r"\n[^\w\n]*" + _PREFIX_WORDS, re.IGNORECASE)
_PREFIX_FIRST_LINE = re.compile(r"[^\w\n]*" + _PREFIX_WORDS, re.IGNORECASE)
_ANYWHERE_WORDS = ("newsletter", "subscribe", "sign up", "cookie")


def _flagged(text: str) -> list[int]:
    """Positions in `text` on lines that may be boilerplate (a superset: see `_PREFIX_LINE`)."""
    found = [m.start() + 1 for m in _PREFIX_LINE.finditer(text)]  # (the line after the "\n")
    if _PREFIX_FIRST_LINE.match(text):
        found.append(0)
    if text.isascii():  # ASCII case-folding is `lower`: plain substring search is exact
        low = text.lower()
        for word in _ANYWHERE_WORDS:
            at = low.find(word)
            while at >= 0:
                found.append(at)
                at = low.find(word, at + 1)
    else:
        found += [m.start() for m in _MAYBE_ANYWHERE.finditer(text)]
    return sorted(found)


def _boilerplate_lines(text: str) -> list[tuple[int, int]]:
    """Character ranges of the boilerplate lines of `text` (newlines excluded), in order."""
    lines: list[tuple[int, int]] = []
    line_start = -1
    for at in _flagged(text):
        lo = text.rfind("\n", 0, at) + 1
        if lo == line_start:
            continue  # this line was checked already
        line_start = lo
        hi = text.find("\n", at)
        hi = len(text) if hi < 0 else hi
        if is_boilerplate_line(text[lo:hi]):
            lines.append((lo, hi))
    return lines


def _content_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the text that are not boilerplate lines."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for lo, hi in _boilerplate_lines(text):
        if lo - 1 > pos:
            spans.append((pos, lo - 1))
        pos = hi + 1
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def token_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The normalised words of `text` (as `words_of`) and the character span of each."""
    words, starts, ends = token_arrays(text)
    return words, list(zip(starts.tolist(), ends.tolist(), strict=True))


def token_arrays(text: str) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The normalised words of `text` (as `words_of`), and the start and end of each in `text`.

    Splitting on words and adding up the lengths of the pieces gives every offset without a
    match object per word (`tokenize_block` does many texts at once)."""
    folded = _folded(text)
    source = text if folded is None else folded
    spans = _content_spans(text) if "\n" in text else [(0, len(text))]
    words: list[str] = []
    starts: list[npt.NDArray[np.int64]] = []
    ends: list[npt.NDArray[np.int64]] = []
    for lo, hi in spans:
        parts = _WORD_SPLIT.split(source if (lo, hi) == (0, len(source)) else source[lo:hi])
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        end = np.cumsum(lengths)[1::2] + lo  # parts: gap, word, gap, word, ..., gap
        ends.append(end)
        starts.append(end - lengths[1::2])
        words += parts[1::2]
    if folded is None:
        words = [_fold(w) for w in words]
    if len(starts) == 1:
        return words, starts[0], ends[0]
    return words, np.concatenate(starts or [_NO_OFFSETS]), np.concatenate(ends or [_NO_OFFSETS])


@dataclass(frozen=True)
class BlockTokens:
    """The tokens of texts 0..n-1 (those of `token_arrays`), flat: text t has tokens
    offsets[t]..offsets[t + 1]. `ids` index `words`, the distinct words in order of first use;
    `starts`, `ends`: each token's span in its own text; `digests`: the hash of each text's
    words joined by U+001F (0 for a text without words, and for every text when they were not
    asked for)."""

    words: list[str]
    ids: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    digests: npt.NDArray[np.uint64]


@dataclass(frozen=True)
class TextWords:
    """The words of texts 0..n-1 by vocabulary id, flat: text t has words
    offsets[t]..offsets[t + 1], each with its span in its text (`starts`, `ends`) and whether a
    blank line comes before it (`breaks`)."""

    offsets: npt.NDArray[np.int64]
    ids: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    breaks: npt.NDArray[np.bool_]


_U64 = npt.NDArray[np.uint64]
_I64 = npt.NDArray[np.int64]
#: A stream of tokens: each one's key (two numbers, see _LONG), start, end and text.
_Stream = tuple[_U64, _I64, _I64, _I64]

_DIGIT_BYTES = np.zeros(256, dtype=bool)
_DIGIT_BYTES[list(b"0123456789")] = True
#: A word is keyed by two 64-bit numbers: an ASCII word of up to 16 bytes by its bytes (zero
#: padded, little-endian: bytes 0-7, bytes 8-15); any other word by (_LONG + its number in the
#: block, 0) (ASCII bytes are below 0x80, so a word's own bytes never reach _LONG).
_LONG = 1 << 63
#: The two numbers of a word of 9 to 16 bytes are folded into one, (first + second * _FOLD) with
#: the top bit set: a collision is detected and the block keyed again by name.
_FOLD = np.uint64(0x9E3779B97F4A7C15)
_SEPARATOR = 0x1F


def compile_tokenizer() -> None:
    """Compile (or load from numba's cache) the loops `tokenize_block` and `paragraph_breaks`
    run, in this process: called before workers are forked, they inherit them instead of each
    loading them."""
    texts = ["a"]
    paragraph_breaks(texts, tokenize_block(texts))


def tokenize_block(texts: Sequence[str], digests: bool = True) -> BlockTokens:
    """`token_arrays` (and the `words_of` digest, unless `digests` is false) of many texts at
    once. Plain texts (whose words are ASCII: nearly all news) are tokenised together from their
    bytes with numpy and compiled loops (`dedup.kernels`: word bounds, each word's bytes as its
    key, the words numbered in order of first use), so that only the distinct words become
    Python strings. Other texts go through `token_arrays` one by one."""
    from .kernels import first_use_ids  # (numba: imported when a block is tokenised)

    n = len(texts)
    long_words: dict[str, int] = {}
    hashes = np.zeros(n, dtype=np.uint64)
    into = hashes if digests else None
    plain = np.fromiter(map(_is_plain, texts), dtype=bool, count=n)
    streams = [_plain_tokens(texts, np.flatnonzero(plain), long_words, into)]
    others = np.flatnonzero(~plain).tolist()
    if others:
        streams.append(_other_tokens(texts, others, long_words, into))
    keys, starts, ends, owners = _in_text_order(streams)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=n), out=offsets[1:])
    folded = _folded_keys(keys)
    ids, first = first_use_ids(folded)  # (words numbered in order of first use; first tokens)
    check = np.flatnonzero(folded >= np.uint64(_LONG))  # (only these can share a fold)
    if not (keys[check] == keys[first[ids[check]]]).all():  # two words folded alike:
        return _by_name(texts, hashes)  # key them by name
    return BlockTokens(_spelled(keys[first], long_words), ids, offsets, starts, ends, hashes)


def paragraph_breaks(texts: Sequence[str], tokens: BlockTokens) -> npt.NDArray[np.bool_]:
    """Whether a blank line (PARAGRAPH_BREAK) comes between each token of `tokens` (those of
    `texts`) and the one before it in its text (never before a text's first token): only the
    characters between two tokens are looked at, by a compiled loop (`kernels.blank_lines`)."""
    from .kernels import blank_lines  # (numba: imported when a block is tokenised)

    # (a byte a character: one outside ASCII as "?", which is not a space, as it is not)
    chars = np.frombuffer(b"\n".join([t.encode("ascii", "replace") for t in texts]), np.uint8)
    base = np.zeros(len(texts), dtype=np.int64)  # (where each text starts in `chars`)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))[:-1] + 1, out=base[1:])
    return blank_lines(chars, base, tokens.offsets, tokens.starts, tokens.ends)


def _spelled(keys: _U64, long_words: dict[str, int]) -> list[str]:
    """The words of `keys` (see _LONG): the bytes of all, a newline after each, decoded at
    once; the long words by their numbers."""
    lines = np.zeros((len(keys), 17), dtype=np.uint8)
    lines[:, :16] = np.ascontiguousarray(keys, dtype="<u8").view(np.uint8).reshape(-1, 16)
    lines[:, 16] = ord("\n")
    long = np.flatnonzero(keys[:, 0] >= np.uint64(_LONG))
    lines[long, :16] = 0
    words = lines.tobytes().decode("ascii").replace("\0", "").split("\n")[:-1]
    spelled = list(long_words)
    for row, number in zip(long.tolist(), (keys[long, 0] - np.uint64(_LONG)).tolist(), strict=True):
        words[row] = spelled[number]
    return words


def _folded_keys(keys: _U64) -> _U64:
    """One number a key: a short word's bytes, a long word's number, and for a word of 9 to 16
    bytes its two numbers folded, with the top bit set (see _FOLD)."""
    folded = keys[:, 0].copy()
    wide = np.flatnonzero(keys[:, 1])
    with np.errstate(over="ignore"):
        folded[wide] = (keys[wide, 0] + keys[wide, 1] * _FOLD) | np.uint64(_LONG)
    return folded


def _other_tokens(
    texts: Sequence[str], rows: list[int], long_words: dict[str, int], digests: _U64 | None
) -> _Stream:
    """Keys, spans and text of every token of the texts `rows` (not ASCII), one text at a
    time with `token_arrays`; their digests are written into `digests` (if given)."""
    words: list[str] = []
    starts, ends, owners = [], [], []
    for t in rows:
        some, s, e = token_arrays(texts[t])
        if some and digests is not None:
            digests[t] = xxhash.xxh3_64_intdigest("\x1f".join(some).encode("utf-8"))
        words += some
        starts.append(s)
        ends.append(e)
        owners.append(np.full(len(some), t, dtype=np.int64))
    distinct = list(dict.fromkeys(words))
    keys = np.zeros((len(distinct), 2), dtype=np.uint64)
    for d, word in enumerate(distinct):
        if len(word) <= 16 and word.isascii():
            value = int.from_bytes(word.encode("ascii"), "little")
            keys[d] = value & 0xFFFFFFFFFFFFFFFF, value >> 64
        else:
            keys[d, 0] = _LONG + long_words.setdefault(word, len(long_words))
    number = {w: d for d, w in enumerate(distinct)}
    at = np.fromiter(map(number.__getitem__, words), dtype=np.int64, count=len(words))
    return keys[at], np.concatenate(starts), np.concatenate(ends), np.concatenate(owners)


def _by_name(texts: Sequence[str], digests: npt.NDArray[np.uint64]) -> BlockTokens:
    """`tokenize_block` one text at a time, words looked up by name (the slow path)."""
    index: dict[str, int] = {}
    parts = [token_arrays(text) for text in texts]
    ids = [index.setdefault(w, len(index)) for words, _, _ in parts for w in words]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(words) for words, _, _ in parts], out=offsets[1:])
    return BlockTokens(
        list(index),
        np.asarray(ids, dtype=np.int64),
        offsets,
        np.concatenate([s for _, s, _ in parts] or [_NO_OFFSETS]),
        np.concatenate([e for _, _, e in parts] or [_NO_OFFSETS]),
        digests,
    )


def _in_text_order(streams: list[_Stream]) -> _Stream:
    """The tokens of two streams (keys, starts, ends, text), each in text order and no text in
    both, as one stream in text order: the first stream's runs of texts between the second's
    texts, and those texts, one after another."""
    if len(streams) == 1:
        return streams[0]
    (a_keys, a_starts, a_ends, a_owners), (b_keys, b_starts, b_ends, b_owners) = streams
    b_texts = b_owners[np.flatnonzero(np.diff(b_owners, prepend=-1))]
    cut_a = np.searchsorted(a_owners, b_texts).tolist()  # (a's tokens before each of b's texts)
    cut_b = [*np.searchsorted(b_owners, b_texts).tolist(), len(b_owners)]
    pieces: list[tuple[int, int, int]] = []  # (stream, lo, hi)
    a_at = 0
    for r, cut in enumerate(cut_a):
        pieces += [(0, a_at, cut), (1, cut_b[r], cut_b[r + 1])]
        a_at = cut
    pieces.append((0, a_at, len(a_owners)))
    parts = ((a_keys, b_keys), (a_starts, b_starts), (a_ends, b_ends), (a_owners, b_owners))
    keys, starts, ends, owners = (
        np.concatenate([pair[side][lo:hi] for side, lo, hi in pieces]) for pair in parts
    )
    return keys, starts, ends, owners


_NO_KEYS = np.zeros((0, 2), dtype=np.uint64)


#: A character outside ASCII that `\w` matches (a letter, a digit).
_NON_ASCII_WORD_CHAR = re.compile(r"(?![\x00-\x7f])\w")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _is_plain(text: str) -> bool:
    """Whether every word of `text` is ASCII: its other characters (dashes, curly quotes, ...)
    only separate words, and lower-casing keeps its length."""
    return text.isascii() or (
        _NON_ASCII_WORD_CHAR.search(text) is None and len(text.lower()) == len(text)
    )


def _plain_tokens(
    texts: Sequence[str],
    rows: npt.NDArray[np.intp],
    long_words: dict[str, int],
    digests: _U64 | None,
) -> _Stream:
    """Keys, spans and text of every token of the plain texts `rows` (see `_is_plain`), in
    order; their digests are written into `digests` (if given). The texts are joined by
    newlines (lines stay lines: boilerplate lines are found in one pass) into one byte array, a
    character outside ASCII as "?" (a byte that separates words, as that character does)."""
    from .kernels import ascii_words

    if not len(rows):
        return _NO_KEYS, _NO_OFFSETS, _NO_OFFSETS, _NO_OFFSETS
    src = [texts[t] for t in rows.tolist()]
    lengths = np.fromiter(map(len, src), dtype=np.int64, count=len(src))
    base = np.zeros(len(src), dtype=np.int64)  # where each text starts in the joined text
    np.cumsum(lengths[:-1] + 1, out=base[1:])
    ascii_src = [t if t.isascii() else t.encode("ascii", errors="replace").decode() for t in src]
    joined = "\n".join(ascii_src).lower()
    original = "\n".join(src) if ascii_src != src else joined
    raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    # (lines with a character outside ASCII are checked for boilerplate: "©2024 Gazette")
    non_ascii_at = [
        int(at) + m.start()
        for text, at in zip(src, base.tolist(), strict=True)
        if not text.isascii()
        for m in _NON_ASCII.finditer(text)
    ]
    # each token's bytes (first .. last - 1: the bytes `\w` matches in lower-cased ASCII) and
    # its key: the bytes of a word of up to 16 bytes, a longer one by name
    is_word, first, last, keys = ascii_words(raw)
    long = np.flatnonzero(last - first > 16)
    if len(long):
        keys[long, 0] = [
            _LONG + long_words.setdefault(joined[lo:hi], len(long_words))
            for lo, hi in zip(first[long].tolist(), last[long].tolist(), strict=True)
        ]
        keys[long, 1] = 0

    # the words of boilerplate lines are not tokens (of a text of more than one line, as in
    # `token_arrays`)
    multiline = np.fromiter(("\n" in text for text in src), dtype=bool, count=len(src))
    dropped = np.zeros(len(first), dtype=bool)
    for lo, hi in _boilerplate_lines_of_block(original, raw, first, last, keys, non_ascii_at):
        if multiline[np.searchsorted(base, lo, side="right") - 1]:
            is_word[lo:hi] = False
            dropped[np.searchsorted(first, lo) : np.searchsorted(first, hi)] = True
    if dropped.any():
        first, last, keys = first[~dropped], last[~dropped], keys[~dropped]
    per_text = np.diff(np.append(np.searchsorted(first, base), len(first)))
    local = np.repeat(np.arange(len(src), dtype=np.int64), per_text)
    if digests is not None:
        _plain_digests(raw, is_word, rows, first, last, local, per_text, digests)
    return keys, first - base[local], last - base[local], rows[local].astype(np.int64)


def _plain_digests(
    raw: npt.NDArray[np.uint8],
    is_word: npt.NDArray[np.bool_],
    rows: npt.NDArray[np.intp],
    first: _I64,
    last: _I64,
    local: _I64,
    per_text: _I64,
    digests: _U64,
) -> None:
    """The digest of each plain text (`_plain_tokens`' arrays: token t of text local[t] is
    bytes first[t] .. last[t] - 1 of `raw`), written into digests[rows]: the text's word bytes
    with one separator between two of its words."""
    size = last - first
    between = last[:-1][local[1:] == local[:-1]]
    separated = raw.copy()
    separated[between] = _SEPARATOR
    kept = is_word.copy()
    kept[between] = True
    words_bytes = memoryview(separated[kept].tobytes())
    taken = np.bincount(local, weights=size, minlength=len(rows)).astype(np.int64)
    taken += np.maximum(per_text - 1, 0)  # (the separators)
    ends_at = np.cumsum(taken)
    bounds = zip(rows.tolist(), (ends_at - taken).tolist(), ends_at.tolist(), strict=True)
    for t, lo, hi in bounds:
        if hi > lo:
            digests[t] = xxhash.xxh3_64_intdigest(words_bytes[lo:hi])


def _heads(words: Sequence[str]) -> _U64:
    """The first 8 bytes of each word as a number (a key's first number), sorted."""
    return np.unique([int.from_bytes(w.encode("ascii")[:8], "little") for w in words]).astype(
        np.uint64
    )


#: The heads of the words that may start a boilerplate line (`_PREFIX_WORDS` but digits and
#: "(c)"), and of those that may be anywhere in one (`_ANYWHERE_WORDS`).
_PREFIX_HEADS = _heads(
    "also read related more categories top tag tags original source author no post leave share "  # noqa: SIM905
    "tweet email print advertisement click tap follow copyright all c".split()
)
_ANYWHERE_HEADS = _heads(["newsletter", "subscribe", "sign", "cookie", "cookies"])


def _boilerplate_lines_of_block(
    text: str,
    raw: npt.NDArray[np.uint8],
    first: _I64,
    last: _I64,
    keys: _U64,
    marked: Sequence[int],
) -> list[tuple[int, int]]:
    """`_boilerplate_lines` of a text from its lower-cased bytes `raw` and its tokens (first ..
    last - 1, with their keys): the lines checked are those whose first word may start a
    boilerplate line (its first 8 bytes those of a prefix word; digits; "c" of "(c)"), that
    hold a word that may be in one, or that hold a position of `marked`: a superset of the
    lines `is_boilerplate_line` may accept, found without a regular expression over the
    text."""
    if not len(first):
        return []
    line_ends = np.flatnonzero(raw == ord("\n"))
    # the line of each token (the line ends before it): tokens ascend, so each line's tokens
    # are those between its bounds
    in_line = np.diff(np.searchsorted(first, line_ends), prepend=0, append=len(first))
    line_of = np.repeat(np.arange(len(line_ends) + 1), in_line)
    opens = np.ones(len(first), dtype=bool)  # the first token of its line
    np.not_equal(line_of[1:], line_of[:-1], out=opens[1:])
    heads = keys[:, 0]
    start = np.flatnonzero(opens)
    prefix = np.isin(heads[start], _PREFIX_HEADS) | _all_digits(
        keys[start], last[start] - first[start]
    )
    flagged = distinct(
        np.concatenate(
            (
                line_of[start[prefix]],
                line_of[np.isin(heads, _ANYWHERE_HEADS)],
                np.searchsorted(line_ends, np.asarray(marked, dtype=np.int64)),
            )
        )
    )
    ends = np.append(line_ends, len(raw))  # (where each line ends)
    lines = []
    for line in flagged.tolist():
        lo, hi = (int(ends[line - 1]) + 1 if line else 0), int(ends[line])
        if is_boilerplate_line(text[lo:hi]):
            lines.append((lo, hi))
    return lines


def _all_digits(keys: _U64, sizes: _I64) -> npt.NDArray[np.bool_]:
    """Whether each word (its key, its size in bytes) is all digits; a word of more than 16
    bytes counts as one (a superset is all that is needed)."""
    data = np.ascontiguousarray(keys, dtype="<u8").view(np.uint8).reshape(-1, 16)
    digit_or_pad = _DIGIT_BYTES[data] | (data == 0)
    found: npt.NDArray[np.bool_] = digit_or_pad.all(axis=1) | (sizes > 16)
    return found


def tokenize(text: str) -> Tokens:
    """Tokens of `text` with their character offsets, boilerplate lines left out."""
    words, offsets = token_spans(text)
    return Tokens(tuple(words), tuple(s for s, _ in offsets), tuple(e for _, e in offsets))


def words_of(text: str) -> list[str]:
    """The normalised tokens of `text` without offsets (the fast path for fingerprints)."""
    if "\n" in text:
        spans = _content_spans(text)
        if spans != [(0, len(text))]:
            text = "\n".join(text[lo:hi] for lo, hi in spans)
    folded = _folded(text)
    if folded is not None:
        return _WORD.findall(folded)
    return [_fold(w) for w in _WORD.findall(text)]


def content_words(
    words: list[str] | tuple[str, ...], stop: frozenset[str] | None = None
) -> list[str]:
    """Words that carry topic: not stop words, not single characters, not pure numbers of 1-2
    digits (list numbering, days). `stop`: the stop words (default `stop_words()`; an index
    passes the list it was built with)."""
    if stop is None:
        stop = stop_words()
    return [w for w in words if is_content_word(w, stop)]


def is_content_word(word: str, stop: frozenset[str]) -> bool:
    """Whether a normalised word carries topic (see `content_words`)."""
    return len(word) > 1 and word not in stop and not (word.isdigit() and len(word) < 3)


def wire_credit(text: str) -> str | None:
    """The first wire or outlet credit in the text ("(AP)", "reports Asian Lite News", ...)."""
    m = WIRE_CREDIT.search(text)
    return " ".join(m.group().split()) if m else None
