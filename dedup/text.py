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

_WORD = re.compile(r"\w+")
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
_MAYBE_PREFIX = re.compile(
    r"\W*(?:also|read|related|more|categories|top|tags?|original|source|author|no|\d+|post|"
    r"leave|share|tweet|email|print|advertisement|click|tap|follow|copyright|\(c\)|©|all)\b",
    re.IGNORECASE,
)
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


def _content_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the text that are not boilerplate lines."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if not is_boilerplate_line(line):
            if spans and spans[-1][1] == pos - 1:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((pos, end))
        pos = end + 1
    return spans


def token_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The normalised words of `text` (as `words_of`) and the character span of each."""
    folded = _folded(text)
    source = text if folded is None else folded
    spans = _content_spans(text) if "\n" in text else [(0, len(text))]
    words: list[str] = []
    offsets: list[tuple[int, int]] = []
    for lo, hi in spans:
        found = list(_WORD.finditer(source, lo, hi))
        words += [m.group() for m in found]
        offsets += [m.span() for m in found]
    if folded is None:
        words = [_fold(w) for w in words]
    return words, offsets


def tokenize(text: str) -> Tokens:
    """Tokens of `text` with their character offsets, boilerplate lines left out."""
    words, offsets = token_spans(text)
    return Tokens(tuple(words), tuple(s for s, _ in offsets), tuple(e for _, e in offsets))


def words_of(text: str) -> list[str]:
    """The normalised tokens of `text` without offsets (the fast path for fingerprints)."""
    if "\n" in text:
        parts = [text[lo:hi] for lo, hi in _content_spans(text)]
        text = "\n".join(parts)
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
    return [w for w in words if len(w) > 1 and w not in stop and not (w.isdigit() and len(w) < 3)]


def wire_credit(text: str) -> str | None:
    """The first wire or outlet credit in the text ("(AP)", "reports Asian Lite News", ...)."""
    m = WIRE_CREDIT.search(text)
    return " ".join(m.group().split()) if m else None
