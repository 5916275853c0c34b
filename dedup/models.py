"""Typed records that flow through the pipeline: Article -> Match -> Story -> Report.

All records are frozen dataclasses; `Settings` validates every value at construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .errors import SettingsError

Kind = Literal["exact", "near_duplicate", "contained", "partial", "same_story"]
#: Kinds of match, strongest first.
KINDS: tuple[Kind, ...] = ("exact", "near_duplicate", "contained", "partial", "same_story")
#: Kinds that make a member a `copy` of its story's original (the rest are `related`).
COPY_KINDS: frozenset[str] = frozenset({"exact", "near_duplicate", "contained", "partial"})

Role = Literal["original", "copy", "related"]


def kind_rank(kind: str) -> int:
    """0 for the strongest kind (`exact`), 4 for the weakest (`same_story`)."""
    return (*KINDS,).index(kind)  # unknown kinds raise ValueError


@dataclass(frozen=True, slots=True)
class Article:
    """One news article.

    id: unique id; for a file, its path relative to the PATH given (with `/`), for a record its
        `id` field, else `path#line`.
    text: the article body (required, non-empty).
    title: headline; for `.txt`/`.md` files the first non-empty line.
    outlet: publisher; the `outlet` field, else the first folder under the PATH given, else "".
    published: ISO 8601 date or date-time as given, or None when unknown.
    url, author: as given, or None.
    meta: any other fields of the record, kept as they were.
    """

    id: str
    text: str
    title: str = ""
    outlet: str = ""
    published: str | None = None
    url: str | None = None
    author: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


def with_text(a: Article, text: str) -> Article:
    """`a` with `text` for its text (made through its slots, see `maker`: four times as fast as
    `dataclasses.replace`, for a million articles at once)."""
    return make_article(a.id, text, a.title, a.outlet, a.published, a.url, a.author, a.meta)


@dataclass(frozen=True)
class Skipped:
    """An input that was not read (path), and why (reason)."""

    path: str
    reason: str


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name} must be in [0, 1], got {value}")


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class Settings:
    """Every threshold and parameter of detection. Defaults are the documented defaults.

    Fingerprints (changing these changes the index format; an index refuses other values):
      shingle_size: words per shingle for copy detection (5).
      num_perm: MinHash permutations (128).
      seed: MinHash permutation seed (1).
    Candidates (MinHash-LSH proposes pairs; every reported match is verified):
      lsh_copy: Jaccard threshold of the word-shingle LSH (copies), 0.3.
      lsh_story: Jaccard threshold of the content-word LSH (same-story coverage), 0.3.
      anchor_every: one shingle in this many (by hash value) is an anchor; articles sharing
        `min_anchors` anchors are candidates too, so a quoted paragraph in a long article is
        found even though the whole-article Jaccard is low (8; 0 turns anchors off).
      min_anchors: shared anchors that make a candidate (2).
    Verification (on candidate pairs only):
      near_duplicate: shingle Jaccard at or above which a pair is `near_duplicate` (0.8).
      contained: containment (either way) at or above which a pair is `contained` (0.8).
      partial: containment (either way) at or above which a pair is `partial` (0.2) ...
      partial_cosine: ... when its TF-IDF cosine is at least this (0.2): short wire items that
        share one stock sentence ("trading today on the American Stock Exchange, the exchange
        said") reach the containment without sharing the words that make a story its own ...
      partial_words: ... or words in shared passages at or above which it is `partial` (50).
      same_story: TF-IDF cosine at or above which a pair is `same_story` (0.4) ...
      story_terms: ... when the two share at least this many content words that are not corpus
        stop words (5): templated notices sharing two words are not one story.
      link_cosine: two articles of one story must be a verified match or have at least this
        TF-IDF cosine (0.2): complete linkage, so a roundup quoting two unrelated stories does
        not join them.
      min_passage_words: shortest shared run of words reported as a passage (8; at least
        shingle_size, since runs are seeded by shared shingles).
    Boilerplate:
      boilerplate_docs: a shingle in at least this many articles of one outlet ... (3)
      boilerplate_share: ... and in at least this share of that outlet's articles ... (0.05)
      boilerplate_cap: ... or in this many of them, whichever is fewer, is boilerplate and
        ignored for matching: footers, bylines, an outlet's templates (30).
      common_share: a content word in at least this share of all articles ... (0.05)
      common_docs: ... and in at least this many is a corpus stop word, ignored by TF-IDF and
        the same-story LSH (20).
    """

    shingle_size: int = 5
    num_perm: int = 128
    seed: int = 1
    lsh_copy: float = 0.3
    lsh_story: float = 0.3
    anchor_every: int = 8
    min_anchors: int = 2
    near_duplicate: float = 0.8
    contained: float = 0.8
    partial: float = 0.2
    partial_cosine: float = 0.2
    partial_words: int = 50
    same_story: float = 0.4
    story_terms: int = 5
    min_passage_words: int = 8
    link_cosine: float = 0.2
    boilerplate_docs: int = 3
    boilerplate_share: float = 0.05
    boilerplate_cap: int = 30
    common_share: float = 0.05
    common_docs: int = 20

    def __post_init__(self) -> None:
        _check_int("shingle_size", self.shingle_size, 1, 32)
        _check_int("num_perm", self.num_perm, 16, 1024)
        _check_int("seed", self.seed, 0, 2**32 - 1)
        for name in (
            "lsh_copy",
            "lsh_story",
            "near_duplicate",
            "contained",
            "partial",
            "partial_cosine",
            "same_story",
            "link_cosine",
            "boilerplate_share",
            "common_share",
        ):
            _check_unit(name, getattr(self, name))
        _check_int("anchor_every", self.anchor_every, 0, 1_000_000)
        _check_int("min_anchors", self.min_anchors, 1, 1_000_000)
        _check_int("partial_words", self.partial_words, 1, 1_000_000)
        _check_int("story_terms", self.story_terms, 0, 1_000_000)
        _check_int("min_passage_words", self.min_passage_words, 1, 10_000)
        _check_int("boilerplate_docs", self.boilerplate_docs, 2, 1_000_000_000)
        _check_int("boilerplate_cap", self.boilerplate_cap, 2, 1_000_000_000)
        _check_int("common_docs", self.common_docs, 2, 1_000_000_000)
        if self.min_passage_words < self.shingle_size:
            raise SettingsError(
                f"min_passage_words must be at least shingle_size ({self.shingle_size}), "
                f"got {self.min_passage_words}"
            )

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (validated like the constructor)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint_key(self) -> dict[str, int]:
        """The settings a stored fingerprint depends on (an index must match them)."""
        return {"shingle_size": self.shingle_size, "num_perm": self.num_perm, "seed": self.seed}


_R = TypeVar("_R")


def maker(cls: type[_R]) -> Callable[..., _R]:
    """make(*values) -> the instance `cls(*values)` of a frozen, slotted dataclass (every field
    given, in order), with each field set through its slot: the generated `__init__` sets each
    through `object.__setattr__` (which a frozen class needs), and takes half as long again.
    For the millions of articles, passages and matches of a large corpus; the same instance (a
    test compares them)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    scope.update({f"set_{name}": getattr(cls, name).__set__ for name in names})
    sets = "".join(f"    set_{name}(made, {name})\n" for name in names)
    source = f"def make({', '.join(names)}):\n    made = new(cls)\n{sets}    return made\n"
    exec(source, scope)  # (as dataclasses and namedtuple make their methods)
    made: Callable[..., _R] = scope["make"]
    return made


@dataclass(frozen=True, slots=True)
class Passage:
    """A maximal run of words shared by two articles.

    a_start, a_end / b_start, b_end: character offsets into each article's original `text`
    (end exclusive); words: number of words in the run; source: the text of article a (not
    shown in the repr); `text`: the run as it reads in article a, cut from `source` when asked
    for (a report of a million articles holds millions of passages: a copy of each would be a
    gigabyte).
    """

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    words: int
    source: str = field(repr=False)

    @property
    def text(self) -> str:
        return self.source[self.a_start : self.a_end]


@dataclass(frozen=True, slots=True)
class Match:
    """A verified pair of articles (ids a < b) with its kind and scores.

    jaccard: exact Jaccard of the two shingle sets (boilerplate excluded).
    containment_ab: share of a's shingles found in b; containment_ba the other way.
    cosine: TF-IDF cosine of the two texts.
    passages: shared passages, in order of their position in a.
    """

    a: str
    b: str
    kind: Kind
    jaccard: float
    containment_ab: float
    containment_ba: float
    cosine: float
    passages: tuple[Passage, ...] = ()

    @property
    def shared_words(self) -> int:
        return sum(p.words for p in self.passages)


#: Article(...), Passage(...) and Match(...) made faster (`maker`): a million articles are
#: read, and a report holds millions of passages.
make_article = maker(Article)
make_passage = maker(Passage)
make_match = maker(Match)


@dataclass(frozen=True, slots=True)
class Member:
    """An article of a story: id, title, outlet, published, and its role
    (`original`; `copy` when its match with the original is exact, near_duplicate, contained or
    partial; `related` when it is same_story)."""

    id: str
    title: str
    outlet: str
    published: str | None
    role: Role


#: Member(...) made faster too (`maker`): a report of a million articles has hundreds of
#: thousands of members.
make_member = maker(Member)


@dataclass(frozen=True, slots=True)
class Story:
    """A group of articles on one story.

    id: `s1`, `s2`, ... in report order (largest story first).
    original: id of the member judged the original; original_reason says why.
    outlets: the distinct outlets of the members, sorted.
    members: original first, then the others by id.
    matches: every verified match between two members.
    """

    id: str
    original: str
    original_reason: str
    outlets: tuple[str, ...]
    members: tuple[Member, ...]
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class Stats:
    """Counts of a run; seconds is wall time (None when timing is switched off)."""

    articles: int
    skipped: int
    candidate_pairs: int
    matches: int
    stories: int
    seconds: float | None = None


@dataclass(frozen=True)
class Report:
    """The result of a run.

    settings: the settings in force; stats: counts; skipped: inputs not read;
    stories: the stories found (articles in no story are not listed);
    articles: the member articles of the stories by id (for views that show their text).
    """

    settings: Settings
    stats: Stats
    skipped: tuple[Skipped, ...]
    stories: tuple[Story, ...]
    articles: Mapping[str, Article] = field(default_factory=dict)
