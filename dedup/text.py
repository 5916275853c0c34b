"""Normalisation that keeps offsets: the words an article is matched on, and where they are.

Matching sees Unicode-NFKC, case-folded word tokens; each token keeps the character span it came
from in the article's original text, so any passage can be shown from the original by offsets.
Boilerplate lines ("ALSO READ ...", "Categories", "Original Article", "Source: ...",
newsletter and cookie notices, ...) are dropped before tokenising.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

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
    """Common English words that carry no topic (scikit-learn's list, loaded on first use)."""
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
_PREFIX_LINE = re.compile(r"^[^\w\n]*" + _PREFIX_WORDS, re.IGNORECASE | re.MULTILINE)
_ANYWHERE_WORDS = ("newsletter", "subscribe", "sign up", "cookie")


def _flagged(text: str) -> list[int]:
    """Positions in `text` on lines that may be boilerplate (a superset: see `_PREFIX_LINE`)."""
    found = [m.start() for m in _PREFIX_LINE.finditer(text)]
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
    match object per word."""
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
