"""A persistent archive index: what `check` needs of every article, in one SQLite file.

`dedup report` compares the articles of one folder with each other; a newsroom's publishing
pipeline instead asks, for one new article, "is this a copy of something we already have, and of
what?". `ArchiveIndex` keeps the fingerprints of an archive in one SQLite file (WAL mode, nothing
to start) so that `check` answers that question in milliseconds, with the same detector as the
report: for a query q and an archive A, `check(q)` gives the matches that `report` over A + {q}
gives for q, with the same kinds and scores.

Stored per article: its metadata and text (for passages), the sorted word-shingle hashes, the
content-word hashes and counts, both MinHash signatures, the LSH band keys and the anchor
shingles (posting lists kept as sorted runs that merge as they pile up: `dedup.postings`). Kept
up to date as articles are added and removed: the document frequency of every content word
(TF-IDF), and per outlet, over a sample of its articles, the counts of the shingles that are its
boilerplate or one article away from it (an add recomputes the other counts from the sampled
articles when it needs them). Each add, replace or remove commits whole articles in one
transaction, so a process killed at any point leaves an index of whole articles; readers see the
index as of their last commit.

Where a check is approximate (and says so):
- LSH proposes candidates; every reported match is verified on exact scores. A candidate bucket
  holding more than `max_bucket` archive articles is skipped (stock content such as earnings
  tables shares buckets with thousands of articles); the report has no such limit.
- Band keys of an archive article are computed with the boilerplate and corpus stop words known
  when it was added; verification always uses the current ones.
- Boilerplate of an outlet is counted over a sample of its articles, as the report counts it
  over the first `BOILERPLATE_SAMPLE` (1000) by id: here the first 1000 added (in id order
  within one add, as the report; a removed article's place goes to the next one added). Exact
  for outlets of up to 1000 articles.

The Python API:

    >>> from dedup import ArchiveIndex, Article
    >>> with ArchiveIndex.open("archive.sqlite") as index:  # doctest: +SKIP
    ...     index.add(articles)
    ...     result = index.check(Article(id="draft", text="..."))
    ...     [(m.id, m.kind) for m in result.matches]
"""

from __future__ import annotations

import itertools
import json
import math
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from glob import escape as glob_escape
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
import orjson

from . import postings
from .arrays import distinct, in_sorted
from .batch import Ragged, Vocabulary, counted, fingerprint_corpus, minhash_rows
from .detect import ANALYSIS_SETTINGS, BOILERPLATE_SAMPLE, MAX_ANCHOR_POSTINGS, Progress
from .errors import IndexFileError, SettingsError
from .fingerprint import U32, U64, Fingerprint, Fingerprinter, signatures
from .models import KINDS, Article, Kind, Passage, Settings, Skipped, kind_rank
from .parallel import default_workers, gc_paused, map_ahead
from .postings import ANCHORS, BANDS, Postings, next_rowid
from .text import compile_tokenizer
from .verify import (
    Evidence,
    Scores,
    Verifier,
    boilerplate_limit,
    common_limit,
    idf,
    judge,
    passage_shingles_needed,
    set_scores,
)

__all__ = [
    "BOILERPLATE_SAMPLE",
    "FORMAT_VERSION",
    "INDEX_SETTINGS",
    "MAX_BUCKET",
    "AddSummary",
    "ArchiveIndex",
    "CheckMatch",
    "CheckResult",
    "IndexStats",
    "RemoveSummary",
    "band_keys",
    "check_against",
    "check_to_dict",
    "render_check",
    "render_stats",
    "stats_to_dict",
    "tfidf_cosine",
    "tfidf_weights",
]

#: Version of the file format; an index of another format is refused, never modified. (2: band
#: keys and anchors as the sorted runs of `dedup.postings`, not as rows of two b-trees.)
FORMAT_VERSION = 2
#: `PRAGMA application_id` of a dedup index ("ddup").
APPLICATION_ID = 0x64647570
#: Candidate buckets with more archive articles than this are skipped by `check` (None: no limit).
MAX_BUCKET = 1000
#: Settings that shape what is stored: fixed when an index is created.
INDEX_SETTINGS: tuple[str, ...] = (*ANALYSIS_SETTINGS, "lsh_copy", "lsh_story", "anchor_every")
#: Articles fingerprinted and committed together by `add` (each commit holds whole articles):
#: at least BATCH (a new index starts storing soon), and a tenth of the index up to MAX_BATCH
#: (each commit also rewrites the pages it touches of the articles' indexes by id, digest and
#: date, spread over all of them; and the batches in flight are held in memory).
BATCH = 1000
MAX_BATCH = 20_000

#: Bytes a page of a new index file: a page holds several articles' rows and chunks of postings.
PAGE_SIZE = 16384

_BUSY_SECONDS = 60.0
#: SQLite's page cache (KiB) of a connection that checks and of one that writes.
_READER_CACHE_KIB, _WRITER_CACHE_KIB = 65536, 131072
_COPY, _STORY = 1, 2  # resolutions, part of each band key's hash seed
_EMPTY = np.zeros(0, dtype=np.uint64)

_TABLES = (
    "meta",
    "articles",
    "article_data",
    *postings.TABLES,
    "terms",
    "outlets",
    "outlet_shingles",
)

_SCHEMA = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- What a check reads for every candidate (kept small: many rows per page).
CREATE TABLE articles (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    oid INTEGER NOT NULL,      -- outlets.oid
    published TEXT,
    digest INTEGER NOT NULL,   -- hash of the normalised text (0: no words)
    words INTEGER NOT NULL,
    sampled INTEGER NOT NULL,  -- 1: its shingles count for its outlet's boilerplate
    shingles BLOB NOT NULL,    -- sorted distinct word-shingle hashes, uint64 little-endian
    topics BLOB NOT NULL       -- sorted distinct content-word hashes, uint64 little-endian
);
CREATE INDEX articles_digest ON articles (digest) WHERE digest != 0;
CREATE INDEX articles_published ON articles (published);
CREATE INDEX articles_sample ON articles (oid) WHERE sampled = 1;
-- What a check reads only for the candidates it verifies, and what remove needs.
CREATE TABLE article_data (
    rowid INTEGER PRIMARY KEY,  -- = articles.rowid
    title TEXT NOT NULL,
    url TEXT,
    author TEXT,
    meta_json TEXT NOT NULL,
    terms TEXT NOT NULL,        -- JSON {content word: count}
    copy_sig BLOB,              -- MinHash of the shingles without boilerplate (NULL: empty set)
    story_sig BLOB,             -- MinHash of the content words (NULL: empty set)
    text TEXT NOT NULL
);
CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
-- sampled: articles whose shingles are counted for the outlet's boilerplate (up to
-- BOILERPLATE_SAMPLE); need: boilerplate_limit(sampled), the count that makes a shingle its
-- boilerplate.
CREATE TABLE outlets (oid INTEGER PRIMARY KEY, outlet TEXT NOT NULL UNIQUE,
                      articles INTEGER NOT NULL, sampled INTEGER NOT NULL, need INTEGER NOT NULL);
-- The counts in an outlet's sample of the shingles counted at least need - 1 times: its
-- boilerplate (df >= need) and the shingles one article away from it. (Counts below are
-- recomputed from the sampled articles when an add needs them.)
CREATE TABLE outlet_shingles (shingle INTEGER NOT NULL, oid INTEGER NOT NULL, df INTEGER NOT NULL,
                              PRIMARY KEY (shingle, oid)) WITHOUT ROWID;
CREATE INDEX outlet_shingles_oid ON outlet_shingles (oid, df);
"""
    + postings.SCHEMA
)

#: Indexes of `articles` that `ArchiveIndex.build` makes once every row is in (from sorted
#: rows, not grown by random inserts batch after batch).
_DEFERRED = ("articles_digest", "articles_published")

T = TypeVar("T")


# -- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddSummary:
    """What `ArchiveIndex.add` did.

    added: articles new to the index; replaced: articles whose id was there with other content
    (the old version is gone); unchanged: articles already there exactly as given (left alone);
    skipped: articles not added, and why (path is the article id); total: articles in the index
    afterwards.
    """

    added: int
    replaced: int
    unchanged: int
    skipped: tuple[Skipped, ...]
    total: int


@dataclass(frozen=True)
class RemoveSummary:
    """What `ArchiveIndex.remove` did: the ids removed, and the ids that were not in the index."""

    removed: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class IndexStats:
    """An index at a glance.

    path: the file (":memory:" for an in-memory index); articles, outlets: counts;
    first_published, last_published: the date range of the dated articles (ISO strings as given;
    None when none is dated); undated: articles without a date; size_bytes: size on disk
    (the file and its write-ahead log); format_version: of the file; settings: the settings the
    index was built with (fixed for its life); lsh: (bands, rows) of each LSH resolution
    ("copy", "story"); boilerplate_sample: articles per outlet counted for boilerplate;
    created: when the index was created (UTC, ISO 8601).
    """

    path: str
    articles: int
    outlets: int
    first_published: str | None
    last_published: str | None
    undated: int
    size_bytes: int
    format_version: int
    settings: Mapping[str, Any]
    lsh: Mapping[str, tuple[int, int]]
    boilerplate_sample: int
    created: str | None


@dataclass(frozen=True)
class CheckMatch:
    """An archive article that the query matches, verified.

    id, title, outlet, published: of the archive article.
    kind: the kind of match (see `dedup.KINDS`).
    jaccard: shingle Jaccard (boilerplate excluded); containment_query: share of the query's
    shingles found in the archive article; containment_match: the other way; cosine: TF-IDF
    cosine.
    passages: the shared passages, in order of their position in the query: a_start/a_end are
    offsets into the query's text, b_start/b_end into the archive article's, text reads as in
    the query.
    """

    id: str
    title: str
    outlet: str
    published: str | None
    kind: Kind
    jaccard: float
    containment_query: float
    containment_match: float
    cosine: float
    passages: tuple[Passage, ...] = ()

    @property
    def shared_words(self) -> int:
        return sum(p.words for p in self.passages)


@dataclass(frozen=True)
class CheckResult:
    """The answer for one query article.

    query: the article checked; flagged: whether any match is of the `fail_on` kind or a
    stronger one; matches: every verified match, strongest first (kind, then containment, then
    cosine, then id); candidates: archive articles proposed by LSH, anchors or an equal digest
    (within the window) before verification.
    """

    query: Article
    flagged: bool
    matches: tuple[CheckMatch, ...]
    candidates: int = 0


@dataclass
class _Prepared:
    """A batch fingerprinted for storage (on a worker), as a few arrays rather than objects per
    article, which are slow to pickle: per article, its word count, text digest, shingles,
    content-word hashes (topics) and content words (ids into `vocab`), and as JSON its other
    fields and its content-word counts."""

    words: npt.NDArray[np.int64]
    digests: U64
    shingles: Ragged
    topics: Ragged
    terms: Ragged
    vocab: list[str]
    meta_json: list[str]
    terms_json: list[str]


@dataclass
class _New:
    """An article prepared for storage (fingerprinted outside the write transaction)."""

    article: Article
    words: int
    digest: int
    shingles: U64
    topics: U64
    terms: npt.NDArray[np.int32]  # ids into the batch's vocabulary
    meta_json: str
    terms_json: str
    oid: int = 0
    sampled: bool = False

    @classmethod
    def batch(cls, articles: Sequence[Article], p: _Prepared) -> list[_New]:
        """The articles of a batch with what `_prepare` made of them."""
        words, digests = p.words.tolist(), p.digests.tolist()
        shingles, topics = cast(U64, p.shingles.values), cast(U64, p.topics.values)
        terms = cast(npt.NDArray[np.int32], p.terms.values)
        so, to, tt = (
            p.shingles.offsets.tolist(),
            p.topics.offsets.tolist(),
            p.terms.offsets.tolist(),
        )
        return [
            cls(
                a,
                words[i],
                digests[i],
                shingles[so[i] : so[i + 1]],
                topics[to[i] : to[i + 1]],
                terms[tt[i] : tt[i + 1]],
                p.meta_json[i],
                p.terms_json[i],
            )
            for i, a in enumerate(articles)
        ]


@dataclass
class _SampleChange:
    """An outlet's boilerplate sample while a batch is stored: its size before the batch, the
    shingles whose count rose (with their counts then: the last change in a write) or fell."""

    sampled: int
    raised: list[U64] = field(default_factory=list)
    raised_counts: list[npt.NDArray[np.int64]] = field(default_factory=list)
    lowered: list[U64] = field(default_factory=list)


class _Counts:
    """Every shingle count of one outlet's sample (sorted values), kept in memory while adding."""

    def __init__(self, values: U64, counts: npt.NDArray[np.int64]) -> None:
        self.values = values
        self.counts = counts

    def get(self, values: U64) -> npt.NDArray[np.int64]:
        if not len(self.values):
            return np.zeros(len(values), dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.values, values), len(self.values) - 1)
        return np.where(self.values[pos] == values, self.counts[pos], 0)

    def update(self, values: U64, deltas: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Add `deltas` to the counts of `values` (distinct, sorted), a count that falls to 0
        dropped; their counts now."""
        from .kernels import merge_counts  # (numba: imported by writers, not by every check)

        self.values, self.counts, now = merge_counts(
            self.values, self.counts, values, deltas.astype(np.int64, copy=False)
        )
        return now


@dataclass
class _Outlet:
    """How one outlet's boilerplate counts change while a query is checked: its sample size as
    stored and with the query in (and the query's old version out), the shingles whose count
    rises by one and those whose count falls by one."""

    sampled: int
    new_sampled: int
    plus: frozenset[int]
    minus: frozenset[int]


@dataclass
class _Gathered:
    """What a check read in its snapshot: the candidates to verify with their fingerprints,
    titles and texts, their exact scores and shared shingles (boilerplate excluded), the
    boilerplate in force, the query's content words that are corpus stop words, and how many
    candidates were proposed before any was left out."""

    candidates: list[_Candidate]
    titles: dict[int, str]
    texts: dict[str, str]
    scores: dict[int, Scores]
    shared: dict[int, int]
    ignore: U64
    common: frozenset[str]
    proposed: int


class _NearCounts:
    """`outlet_shingles` in memory, sorted by shingle (unsigned), and each outlet's need."""

    def __init__(self, rows: Sequence[tuple[int, int, int]], needs: Mapping[int, int]) -> None:
        values = _from_sql([r[0] for r in rows]) if rows else _EMPTY
        order = np.argsort(values, kind="stable")
        self.shingles: U64 = values[order]
        self.oids = np.array([r[1] for r in rows], dtype=np.int64)[order]
        self.dfs = np.array([r[2] for r in rows], dtype=np.int64)[order]
        self.needs = dict(needs)


@dataclass
class _Candidate:
    rowid: int
    id: str
    outlet: str
    published: str | None
    digest: int
    words: int
    shingles: U64
    topics: U64


# -- small helpers ----------------------------------------------------------------------------


def _signed(value: int) -> int:
    """A uint64 as SQLite's signed 64-bit INTEGER."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _to_sql(values: U64) -> list[int]:
    return [int(v) for v in values.view(np.int64).tolist()]


def _from_sql(values: Sequence[int]) -> U64:
    return np.array(values, dtype=np.int64).view(np.uint64)


def _blobs(rows: Ragged) -> list[bytes]:
    """Each row of uint64 values as a blob (little-endian)."""
    raw = rows.values.astype("<u8", copy=False).tobytes()
    ends = (rows.offsets * 8).tolist()
    return [raw[a:b] for a, b in itertools.pairwise(ends)]


def _unblob(blob: bytes) -> U64:
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def _sig_blob(sig: U32) -> bytes:
    return sig.astype("<u4").tobytes()


def _sig_blobs(sigs: U32, present: npt.NDArray[np.bool_]) -> list[bytes | None]:
    """`_sig_blob` of each row of `sigs` (None where not `present`: an empty set's)."""
    raw = sigs.astype("<u4", copy=False).tobytes()
    width = 4 * sigs.shape[1]
    return [
        raw[width * i : width * (i + 1)] if ok else None for i, ok in enumerate(present.tolist())
    ]


def _unsig(blob: bytes) -> U32:
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: a bijection of 64-bit values that spreads every input bit."""
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def band_keys(sigs: U32, bands: int, rows: int, resolution: int) -> npt.NDArray[np.int64]:
    """The LSH bucket keys of signatures (one row each): band i holds the values
    [i*rows, (i+1)*rows), as in datasketch's `MinHashLSH`, whose hash table i is keyed by those
    values. The key mixes (resolution, i, the values) into 64 bits, so two signatures share a
    key exactly when they share a bucket (up to 64-bit collisions, which only add candidates).
    Returns an (articles, bands) array of signed keys (SQLite INTEGERs)."""
    n = sigs.shape[0]
    values = sigs[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    seeds = (np.uint64(resolution) << np.uint64(32)) | np.arange(bands, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _mix64(np.broadcast_to(seeds, (n, bands)).copy())
        for j in range(rows):
            h = _mix64(h ^ values[:, :, j])
    return h.view(np.int64)


def _batch_size(articles: int) -> int:
    """Articles in the next batch when the index holds `articles`."""
    return min(MAX_BATCH, max(BATCH, articles // 10))


def _prepare(
    texts: Sequence[str],
    metas: Sequence[Mapping[str, Any]],
    settings: Settings,
    stop: frozenset[str],
) -> _Prepared:
    """Fingerprint a batch in bulk (`batch.fingerprint_corpus`: the values of
    `Fingerprinter.fingerprint`, which a check uses for its query). Runs on a worker process."""
    vocab = Vocabulary(stop=stop)
    corpus = fingerprint_corpus(list(texts), settings, vocab, batch=max(1, len(texts)))
    words = vocab.words()
    terms = corpus.term_ids
    # Each article's distinct content-word hashes, sorted: one sort for the whole batch.
    rows = terms.row_ids
    hashes = vocab.hashes()[terms.values]
    order = np.lexsort((hashes, rows))
    hashes, rows = hashes[order], rows[order]
    keep = np.ones(len(hashes), dtype=bool)
    keep[1:] = (hashes[1:] != hashes[:-1]) | (rows[1:] != rows[:-1])
    topic_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=len(texts)), out=topic_offsets[1:])
    offsets, ids, counts = (
        terms.offsets.tolist(),
        terms.values.tolist(),
        corpus.term_counts.tolist(),
    )
    # Content-word counts as JSON objects with sorted keys: orjson sorts by code point, as
    # `json.dumps(sort_keys=True)` would.
    terms_json = [
        orjson.dumps(
            {words[t]: c for t, c in zip(ids[lo:hi], counts[lo:hi], strict=True)},
            option=orjson.OPT_SORT_KEYS,
        ).decode()
        for lo, hi in itertools.pairwise(offsets)
    ]
    return _Prepared(
        words=corpus.words,
        digests=corpus.digests,
        shingles=Ragged(corpus.shingles.values.astype(np.uint64), corpus.shingles.offsets),
        topics=Ragged(hashes[keep], topic_offsets),
        terms=terms,
        vocab=words,
        meta_json=[_meta_json(meta) for meta in metas],
        terms_json=terms_json,
    )


def _job(item: tuple[int, Sequence[Article]]) -> tuple[list[str], list[Mapping[str, Any]]]:
    """What a worker needs of a (size read, batch) item of `add`: texts and metadata."""
    return [a.text for a in item[1]], [dict(a.meta) for a in item[1]]  # (any mapping: a dict)


def _prepare_job(
    job: tuple[Sequence[str], Sequence[Mapping[str, Any]]], settings: Settings, stop: frozenset[str]
) -> _Prepared:
    """`_prepare` of the texts and metadata of a batch of `add`."""
    return _prepare(job[0], job[1], settings, stop)


def _chunks(items: Iterable[T], size: Callable[[], int]) -> Iterator[list[T]]:
    """Lists of `size()` items (asked before each list is filled)."""
    chunk: list[T] = []
    want = size()
    for item in items:
        chunk.append(item)
        if len(chunk) >= want:
            yield chunk
            chunk = []
            want = size()
    if chunk:
        yield chunk


def _day(published: str | None) -> date | None:
    """The calendar date of an ISO 8601 date or date-time as written, or None."""
    if not published:
        return None
    try:
        return datetime.fromisoformat(published.strip()).date()
    except ValueError:
        return None


def _meta_json(meta: Mapping[str, Any]) -> str:
    return json.dumps(dict(meta), ensure_ascii=False, sort_keys=True, default=str)


def _content(article: Article, meta_json: str) -> tuple[Any, ...]:
    return (
        article.title,
        article.outlet,
        article.published,
        article.url,
        article.author,
        meta_json,
        article.text,
    )


def tfidf_weights(
    terms: Mapping[str, int], doc_freq: Mapping[str, int], n_docs: int
) -> dict[str, float]:
    """The l2-normalised TF-IDF weights of one article's terms that are in `doc_freq` (the
    vocabulary), computed exactly as `verify.TermWeights` computes its row (scikit-learn:
    sublinear tf 1 + ln tf, smoothed idf, l2 norm summed in vocabulary order), without loading
    scikit-learn."""
    ts = sorted(t for t in terms if t in doc_freq)
    if not ts:
        return {}
    w = np.log(np.array([terms[t] for t in ts], dtype=np.float64))
    w += 1.0
    w *= idf([doc_freq[t] for t in ts], n_docs)
    total = 0.0
    for x in w.tolist():
        total += x * x  # in order, as scikit-learn's row normalisation
    if total != 0.0:
        w /= math.sqrt(total)
    return dict(zip(ts, w.tolist(), strict=True))


def tfidf_cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of two l2-normalised weight maps: the products in vocabulary order, summed as
    `verify.pair_cosines` sums a row of the sparse product (numpy's `add.reduceat`), so the
    value is the report's to the last bit."""
    shared = sorted(a.keys() & b.keys())
    if not shared:
        return 0.0
    products = np.array([a[t] * b[t] for t in shared], dtype=np.float64)
    return float(np.add.reduceat(products, [0])[0])


# -- the index --------------------------------------------------------------------------------


class ArchiveIndex:
    """A persistent index of an archive of articles, for `check`; see the module docstring.

    Open with `ArchiveIndex.open(path)` (or `ArchiveIndex.in_memory(articles)` for one-off use)
    and use as a context manager. One object belongs to one thread; several processes may read
    an index while one adds to it.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: str,
        settings: Settings,
        meta: Mapping[str, str],
        *,
        readonly: bool,
        max_bucket: int | None,
    ) -> None:
        self._conn = conn
        # Parameters per statement: 32766 since SQLite 3.32, 999 before.
        self._max_variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 8
        self.path = path
        self.settings = settings
        self.readonly = readonly
        self.max_bucket = max_bucket
        self._meta = dict(meta)
        copy_b, copy_r = json.loads(meta["copy_bands"])
        story_b, story_r = json.loads(meta["story_bands"])
        self._copy_bands = (int(copy_b), int(copy_r))
        self._story_bands = (int(story_b), int(story_r))
        self._stop_words = frozenset(json.loads(meta["stop_words"]))
        perms = json.loads(meta["permutations"])
        self._perms: tuple[U32, U32] = (
            _unsig(bytes.fromhex(perms["a"])),
            _unsig(bytes.fromhex(perms["b"])),
        )
        self._fingerprinter = Fingerprinter(settings, stop_words=self._stop_words)
        self._library_checked = False
        self._boilerplate_cache: tuple[str, U64] | None = None
        # Full shingle counts of outlets' samples, loaded when an add or remove needs them;
        # valid while `boilerplate_version` in meta is the one noted (no other writer since).
        self._samples: dict[int, _Counts] = {}
        self._samples_version: str | None = None
        self._writes = 0  # commits by this object (part of the version a check caches by)
        self._near: tuple[tuple[int, int], _NearCounts] | None = None
        self._postings = Postings(conn)
        # Document frequencies held in memory by a build (which writes `terms` at its end).
        self._df: dict[str, int] | None = None

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        settings: Settings | Mapping[str, Any] | None = None,
        *,
        create: bool = True,
        readonly: bool = False,
        max_bucket: int | None = MAX_BUCKET,
    ) -> ArchiveIndex:
        """Open the index at `path`, creating it when it does not exist (and `create`).

        settings: a `Settings` (all values), or a mapping of only the values to set, the others
        coming from the index (or the defaults for a new index). The settings in
        `INDEX_SETTINGS` are fixed when the index is created: an index refuses other values
        rather than mixing fingerprints. The others (verification thresholds, min_anchors)
        apply to this object's checks.
        readonly: open for checks only; the file is never written.
        path ":memory:": a new in-memory index.

        Raises `IndexFileError` (naming the file and what to do) for a file that is not an
        index, a damaged or truncated one, one of a newer format, or one built with other
        settings; such a file is not modified.
        """
        name = os.fspath(path)
        memory = name == ":memory:"
        fresh = memory
        if not memory:
            if os.path.isdir(name):
                raise IndexFileError(f"{name} is a folder; give the path of an index file.")
            fresh = not os.path.exists(name) or os.path.getsize(name) == 0
            if fresh and (readonly or not create):
                raise IndexFileError(
                    f"{name}: no index there. Build one with: dedup index add PATH --index {name}"
                )
            if not fresh:
                _check_header(name)
        conn = _connect(name, readonly=readonly and not fresh)
        try:
            if fresh:
                given = _settings_from(settings, None, name)
                meta = _create(conn, given, memory=memory)
            else:
                meta = _read_meta(conn, name)
            stored = json.loads(meta["settings"])
            resolved = _settings_from(settings, stored, name)
            if not readonly and not memory:
                _pragma_writer(conn, name)
            # Page cache (KiB): a writer appends (articles, runs of postings) but for the
            # articles' indexes (by id, digest, date), which it keeps in cache.
            conn.execute(
                f"PRAGMA cache_size = {-(_READER_CACHE_KIB if readonly else _WRITER_CACHE_KIB)}"
            )
        except BaseException:
            conn.close()
            raise
        return cls(conn, name, resolved, meta, readonly=readonly, max_bucket=max_bucket)

    @classmethod
    def build(
        cls,
        path: str | os.PathLike[str],
        articles: Iterable[Article],
        settings: Settings | Mapping[str, Any] | None = None,
        *,
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> AddSummary:
        """Build a new index at `path`, which must not exist, from `articles`: the index
        `open(path, settings)` and `add(articles)` would make, built faster. The file is written
        aside (`path`.PID.building, with no rollback journal, its indexes by date and digest
        made once the rows are in) and moved into place when complete: an interrupted build
        leaves no index at `path` (run it again), and no other process sees a partial one.

        Raises `IndexFileError` when `path` exists (add to it instead), or when another
        process created it during the build (the built file is then kept, and named)."""
        name = os.fspath(path)
        if name == ":memory:" or os.path.lexists(name):
            raise IndexFileError(
                f"{name} exists; add to it (ArchiveIndex.open(path).add) rather than build it."
            )
        folder = os.path.dirname(os.path.abspath(name))
        if not os.path.isdir(folder):
            raise IndexFileError(f"cannot create {name}: there is no folder {folder}.")
        _remove_stale_builds(name)
        part = f"{name}.{os.getpid()}.building"
        _remove_files(part)
        keep = False
        try:
            try:
                conn = _connect(part, readonly=False)
            except IndexFileError as e:
                raise IndexFileError(f"cannot create {name}: {e.__cause__}") from e
            try:
                given = _settings_from(settings, None, name)
                meta = _create(conn, given, memory=False, bulk=True)
                conn.execute(f"PRAGMA cache_size = {-_WRITER_CACHE_KIB}")
            except BaseException:
                conn.close()
                raise
            with cls(conn, part, given, meta, readonly=False, max_bucket=MAX_BUCKET) as index:
                index._postings.settle_only = True
                index._df = {}
                summary = index.add(articles, progress=progress, workers=workers)
                with index._errors(), index._write():
                    index._insert_rows(
                        "INSERT INTO terms (term, df) VALUES {}", sorted(index._df.items())
                    )
                    for statement in filter(_deferred, _schema()):
                        conn.execute(statement)
                with index._errors():
                    _pragma_writer(conn, part)  # (the WAL mode every index file has)
            _sync(part)
            try:
                os.link(part, name)  # (never over a file another process made meanwhile)
            except FileExistsError:
                keep = True
            except OSError:  # no hard links here: a rename, which would replace a file made
                keep = os.path.lexists(name)  # meanwhile, so only when there is none
                if not keep:
                    os.replace(part, name)
            if keep:
                raise IndexFileError(
                    f"{name} was created by another process during this build; the index "
                    f"built is kept at {part}."
                )
            _sync(folder)
        finally:
            if not keep:
                _remove_files(part)
        return summary

    @classmethod
    def in_memory(
        cls,
        articles: Iterable[Article] = (),
        settings: Settings | Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> ArchiveIndex:
        """A new in-memory index of `articles` (the same code as a file index), for one-off
        checks against a folder."""
        index = cls.open(":memory:", settings)
        index.add(articles, progress)
        return index

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ArchiveIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and errors --------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise IndexFileError(
                    f"{self.path} is busy: another process has held it for over "
                    f"{_BUSY_SECONDS:.0f} s. Try again when it is done."
                ) from e
            raise IndexFileError(_damaged(self.path, str(e))) from e
        except sqlite3.DatabaseError as e:
            raise IndexFileError(_damaged(self.path, str(e))) from e

    @contextmanager
    def _write(self) -> Iterator[None]:
        if self.readonly:
            raise IndexFileError(f"{self.path} was opened read-only; open it to write.")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._samples.clear()  # they may hold changes that were rolled back
            self._samples_version = None
            self._boilerplate_cache = None
            raise
        finally:
            self._writes += 1
        self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[None]:
        """One snapshot for all reads inside (a reader never sees half of a commit)."""
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def _in(self, sql: str, values: Sequence[Any], *params: Any) -> list[Any]:
        """Rows of `sql` with its `IN ({})` filled by `values` (in chunks)."""
        rows: list[Any] = []
        step = self._max_variables
        for start in range(0, len(values), step):
            chunk = values[start : start + step]
            query = sql.format(",".join("?" * len(chunk)))
            rows.extend(self._conn.execute(query, (*params, *chunk)).fetchall())
        return rows

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._errors():
            return self._articles()

    def __contains__(self, article_id: object) -> bool:
        with self._errors():
            row = self._conn.execute("SELECT 1 FROM articles WHERE id = ?", (article_id,))
            return row.fetchone() is not None

    def ids(self) -> list[str]:
        """The ids of the articles in the index, sorted."""
        with self._errors():
            return [r[0] for r in self._conn.execute("SELECT id FROM articles ORDER BY id")]

    def get(self, article_id: str) -> Article | None:
        """The article stored under `article_id`, or None."""
        with self._errors():
            row = self._conn.execute(
                "SELECT a.id, d.text, d.title, o.outlet, a.published, d.url, d.author, "
                "d.meta_json FROM articles a JOIN article_data d ON d.rowid = a.rowid "
                "JOIN outlets o ON o.oid = a.oid WHERE a.id = ?",
                (article_id,),
            ).fetchone()
        if row is None:
            return None
        return Article(
            id=row[0],
            text=row[1],
            title=row[2],
            outlet=row[3],
            published=row[4],
            url=row[5],
            author=row[6],
            meta=json.loads(row[7]),
        )

    def stats(self) -> IndexStats:
        """Counts, date range, size on disk and the settings the index was built with."""
        with self._errors(), self._read():
            conn = self._conn
            articles = self._articles()
            outlets = conn.execute("SELECT COUNT(*) FROM outlets").fetchone()[0]
            first, last = conn.execute(
                "SELECT MIN(published), MAX(published) FROM articles WHERE published IS NOT NULL"
            ).fetchone()
            undated = conn.execute(
                "SELECT COUNT(*) FROM articles WHERE published IS NULL"
            ).fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        if self.path == ":memory:":
            size = pages * page_size
        else:
            size = sum(
                os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p)
            )
        return IndexStats(
            path=self.path,
            articles=int(articles),
            outlets=int(outlets),
            first_published=first,
            last_published=last,
            undated=int(undated),
            size_bytes=size,
            format_version=int(self._meta["format_version"]),
            settings={n: getattr(self.settings, n) for n in INDEX_SETTINGS},
            lsh={"copy": self._copy_bands, "story": self._story_bands},
            boilerplate_sample=int(self._meta.get("boilerplate_sample", BOILERPLATE_SAMPLE)),
            created=self._meta.get("created"),
        )

    # -- adding and removing ------------------------------------------------------------------

    @gc_paused()
    def add(
        self,
        articles: Iterable[Article],
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> AddSummary:
        """Add `articles`; an article whose id is in the index replaces it (unless it is
        exactly the same, when it is left alone). Articles are committed in batches of whole
        articles: if the process dies, the index holds the batches committed before.
        Batches are fingerprinted on up to `workers` processes (default: every core) while
        this one stores the batch before; the index is the same whatever their number.
        progress(stage, done, total) is called after each batch."""
        if self.readonly:
            raise IndexFileError(f"{self.path} was opened read-only; open it to add articles.")
        self._check_library()
        total = len(articles) if isinstance(articles, Sized) else 0
        seen: set[str] = set()
        skipped: list[Skipped] = []
        counts: Counter[str] = Counter()
        done = 0
        start = len(self)

        def next_size() -> int:
            # From the articles read so far, not those stored: batches are cut ahead of storing.
            return _batch_size(start + done)

        def batches() -> Iterator[tuple[int, list[Article]]]:
            nonlocal done
            for chunk in _chunks(articles, next_size):
                done += len(chunk)
                batch: list[Article] = []
                for article in chunk:
                    if article.id in seen:
                        reason = "duplicate id in this add (the first one was kept)"
                        skipped.append(Skipped(article.id, reason))
                        continue
                    seen.add(article.id)
                    batch.append(article)
                yield len(chunk), batch

        prepare = partial(_prepare_job, settings=self.settings, stop=self._stop_words)
        stored = 0
        workers = workers or default_workers()
        if workers > 1:
            compile_tokenizer()  # (here, not on each worker)
        for (read, batch), prepared in map_ahead(prepare, batches(), workers, send=_job):
            with self._errors(), self._write():
                counts.update(self._store(_New.batch(batch, prepared), prepared, workers))
            stored += read
            if progress is not None:
                progress("index", stored, max(total, stored))
        with self._errors(), self._write():
            self._postings.settle()
        return AddSummary(
            added=counts["added"],
            replaced=counts["replaced"],
            unchanged=counts["unchanged"],
            skipped=tuple(skipped),
            total=len(self),
        )

    def remove(self, ids: Iterable[str]) -> RemoveSummary:
        """Remove the articles with these ids (in one transaction)."""
        if self.readonly:
            raise IndexFileError(f"{self.path} was opened read-only; open it to remove articles.")
        wanted = list(dict.fromkeys(ids))
        with self._errors(), self._write():
            found = dict(self._in("SELECT id, rowid FROM articles WHERE id IN ({})", wanted))
            rowids = [found[i] for i in wanted if i in found]
            self._load_samples(rowids, [])
            changes: dict[int, _SampleChange] = {}
            self._delete_rows(rowids, changes)
            self._refresh_samples(changes)
        return RemoveSummary(
            removed=tuple(i for i in wanted if i in found),
            missing=tuple(i for i in wanted if i not in found),
        )

    def _check_library(self) -> None:
        """Refuse to extend an index whose stop words or MinHash permutations differ from this
        installation's (a newer scikit-learn or datasketch): its fingerprints would mix."""
        if self._library_checked:
            return
        from .fingerprint import permutations
        from .text import stop_words

        s = self.settings
        a, b = permutations(s.num_perm, s.seed)
        if stop_words() != self._stop_words:
            raise IndexFileError(
                f"{self.path} was built with another stop-word list than this installation's "
                "(scikit-learn's changed); build a new index."
            )
        if not (np.array_equal(a, self._perms[0]) and np.array_equal(b, self._perms[1])):
            raise IndexFileError(
                f"{self.path} was built with other MinHash permutations than this installation's "
                "(datasketch's changed); build a new index."
            )
        self._library_checked = True

    def _store(self, batch: Sequence[_New], prepared: _Prepared, workers: int = 1) -> Counter[str]:
        """Store a batch inside the caller's write transaction (`prepared`: what its items were
        made of; `workers`: threads for its signatures)."""
        conn = self._conn
        counts: Counter[str] = Counter()
        existing = {
            row[0]: row[1:]
            for row in self._in(
                "SELECT a.id, a.rowid, d.title, o.outlet, a.published, d.url, d.author, "
                "d.meta_json, d.text FROM articles a JOIN article_data d ON d.rowid = a.rowid "
                "JOIN outlets o ON o.oid = a.oid WHERE a.id IN ({})",
                [n.article.id for n in batch],
            )
        }
        new: list[_New] = []
        dropped: list[int] = []
        for item in batch:
            old = existing.get(item.article.id)
            if old is not None:
                if tuple(old[1:]) == _content(item.article, item.meta_json):
                    counts["unchanged"] += 1
                    continue
                dropped.append(old[0])
                counts["replaced"] += 1
            else:
                counts["added"] += 1
            new.append(item)
        oids = self._outlet_ids(item.article.outlet for item in new)
        for item in new:
            item.oid = oids[item.article.outlet]
        self._load_samples(dropped, sorted(set(oids.values())))
        changes: dict[int, _SampleChange] = {}
        self._delete_rows(dropped, changes)
        if new:
            self._count_outlets(new, changes)
        self._refresh_samples(changes)
        if not new:
            return counts

        self._count_articles(len(new))
        whole = len(new) == len(batch)  # (then the prepared arrays serve as they are)
        # Content-word document frequencies, then the corpus stop words at the new size.
        vocab = prepared.vocab
        in_new = np.bincount(
            prepared.terms.values
            if whole
            else np.concatenate([np.zeros(0, dtype=np.int32), *[item.terms for item in new]]),
            minlength=len(vocab),
        )
        present = np.flatnonzero(in_new)
        term_counts = sorted(
            zip([vocab[t] for t in present.tolist()], in_new[present].tolist(), strict=True)
        )
        if self._df is None:
            df = self._insert_rows(
                "INSERT INTO terms (term, df) VALUES {} "
                "ON CONFLICT (term) DO UPDATE SET df = df + excluded.df RETURNING term, df",
                term_counts,
            )
        else:
            held = self._df
            for term, n in term_counts:
                held[term] = held.get(term, 0) + n
            df = [(term, held[term]) for term, _ in term_counts]
        limit = common_limit(self._articles(), self.settings)
        common = sorted(t for t, n in df if n >= limit)
        common_hashes = distinct(self._fingerprinter.word_hashes(common)) if common else _EMPTY

        boilerplate = self._boilerplate_all()
        s = self.settings
        shingles = prepared.shingles if whole else _rows([item.shingles for item in new])
        topics = prepared.topics if whole else _rows([item.topics for item in new])
        copy_sets = _rows_without(shingles, boilerplate)
        topic_sets = _rows_without(topics, common_hashes)
        # (compiled, all permutations of a value at once: the permutations are this
        # installation's, as `_check_library` made sure)
        copy_sigs = minhash_rows(copy_sets, s.num_perm, s.seed, workers=workers)
        story_sigs = minhash_rows(topic_sets, s.num_perm, s.seed, workers=workers)
        copy_keys = band_keys(copy_sigs, *self._copy_bands, _COPY)
        story_keys = band_keys(story_sigs, *self._story_bands, _STORY)
        copy_empty, story_empty = copy_sets.lengths() == 0, topic_sets.lengths() == 0
        copy_keys[copy_empty] = 0  # (no bands: see `used` below)
        story_keys[story_empty] = 0
        shingle_blobs, topic_blobs = _blobs(shingles), _blobs(topics)
        copy_blobs = _sig_blobs(copy_sigs, ~copy_empty)
        story_blobs = _sig_blobs(story_sigs, ~story_empty)

        # Row ids given here (never one of a removed article), so rows go in many a statement.
        first = next_rowid(conn)
        rowids = list(range(first, first + len(new)))
        article_rows: list[tuple[Any, ...]] = []
        data_rows: list[tuple[Any, ...]] = []
        for i, (rowid, item) in enumerate(zip(rowids, new, strict=True)):
            a = item.article
            article_rows.append(
                (
                    rowid,
                    a.id,
                    item.oid,
                    a.published,
                    _signed(item.digest),
                    item.words,
                    int(item.sampled),
                    shingle_blobs[i],
                    topic_blobs[i],
                )
            )
            data_rows.append(
                (
                    rowid,
                    a.title,
                    a.url,
                    a.author,
                    item.meta_json,
                    item.terms_json,
                    copy_blobs[i],
                    story_blobs[i],
                    a.text,
                )
            )
        self._insert_rows(
            "INSERT INTO articles (rowid, id, oid, published, digest, words, sampled, shingles, "
            "topics) VALUES {}",
            article_rows,
        )
        self._insert_rows(
            "INSERT INTO article_data (rowid, title, url, author, meta_json, terms, copy_sig, "
            "story_sig, text) VALUES {}",
            data_rows,
        )
        owners = np.array(rowids, dtype=np.int64)
        keys = np.concatenate([copy_keys, story_keys], axis=1)
        key_owner = np.broadcast_to(owners[:, None], keys.shape)
        used = keys != 0  # 0: the set was empty, no bands (a real key of 0 is one in 2^64)
        self._postings.add(BANDS, keys[used], key_owner[used])
        every = self.settings.anchor_every
        if every:
            values = cast(U64, shingles.values)
            anchor = values % np.uint64(every) == 0
            owner = np.repeat(owners, shingles.lengths())
            self._postings.add(ANCHORS, values[anchor].view(np.int64), owner[anchor])
        return counts

    def _insert_rows(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Run `sql`, whose `VALUES {}` takes rows of one width, for many rows a statement; the
        rows it returns (`RETURNING`), if any."""
        if not rows:
            return []
        width = len(rows[0])
        per = max(1, min(2000, self._max_variables // width))
        row = "(" + ", ".join("?" * width) + ")"
        out: list[Any] = []
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            out += self._conn.execute(
                sql.format(",".join([row] * len(chunk))), [v for r in chunk for v in r]
            ).fetchall()
        return out

    def _articles(self) -> int:
        """Articles in the index (a counter kept in `meta` by every add and remove)."""
        return int(self._meta_value("articles", "0"))

    def _count_articles(self, delta: int) -> None:
        self._conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'articles'", (delta,)
        )

    def _keys(self, copy_sig: U32 | None, story_sig: U32 | None) -> list[int]:
        """The band keys of one article's stored signatures (None: an empty set, no bands)."""
        keys: list[int] = []
        if copy_sig is not None:
            keys += band_keys(copy_sig[None, :], *self._copy_bands, _COPY)[0].tolist()
        if story_sig is not None:
            keys += band_keys(story_sig[None, :], *self._story_bands, _STORY)[0].tolist()
        return keys

    def _outlet_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Integer ids of outlets, created for new names (inside a write transaction)."""
        wanted = sorted(set(names))
        found = dict(self._in("SELECT outlet, oid FROM outlets WHERE outlet IN ({})", wanted))
        for name in wanted:
            if name not in found:
                cur = self._conn.execute(
                    "INSERT INTO outlets (outlet, articles, sampled, need) VALUES (?, 0, 0, ?)",
                    (name, boilerplate_limit(0, self.settings)),
                )
                assert cur.lastrowid is not None
                found[name] = cur.lastrowid
        return found

    def _count_outlets(self, new: Sequence[_New], changes: dict[int, _SampleChange]) -> None:
        """Count new articles into their outlets and the outlets' boilerplate samples, noting
        the sample changes."""
        conn = self._conn
        by_outlet: dict[int, list[_New]] = {}
        for item in new:
            by_outlet.setdefault(item.oid, []).append(item)
        stored = {
            row[0]: (row[1], row[2])
            for row in self._in(
                "SELECT oid, articles, sampled FROM outlets WHERE oid IN ({})", sorted(by_outlet)
            )
        }
        for oid, items in sorted(by_outlet.items()):
            articles, sampled = stored[oid]
            take = items[: max(0, BOILERPLATE_SAMPLE - sampled)]
            for item in take:
                item.sampled = True
            conn.execute(
                "UPDATE outlets SET articles = ?, sampled = ? WHERE oid = ?",
                (articles + len(items), sampled + len(take), oid),
            )
            if take:
                change = changes.setdefault(oid, _SampleChange(sampled))
                shingles = [item.shingles for item in take]
                values, counts = counted(np.concatenate(shingles))
                change.raised.append(values)
                change.raised_counts.append(self._samples[oid].update(values, counts))

    def _delete_rows(self, rowids: Sequence[int], changes: dict[int, _SampleChange]) -> None:
        """Delete articles (inside the caller's write transaction) with everything derived from
        them, noting the changes to outlets' boilerplate samples."""
        conn = self._conn
        for rowid in rowids:
            row = conn.execute(
                "SELECT a.oid, a.sampled, a.shingles, d.terms "
                "FROM articles a JOIN article_data d ON d.rowid = a.rowid WHERE a.rowid = ?",
                (rowid,),
            ).fetchone()
            if row is None:
                continue
            oid, sampled, shingles_blob, terms_json = row
            shingles = _unblob(shingles_blob)
            self._postings.remove([rowid])
            terms = sorted(json.loads(terms_json))
            conn.executemany("UPDATE terms SET df = df - 1 WHERE term = ?", [(t,) for t in terms])
            self._in("DELETE FROM terms WHERE df <= 0 AND term IN ({})", terms)
            before = conn.execute("SELECT sampled FROM outlets WHERE oid = ?", (oid,)).fetchone()
            conn.execute(
                "UPDATE outlets SET articles = articles - 1, sampled = sampled - ? WHERE oid = ?",
                (int(sampled), oid),
            )
            change = changes.setdefault(oid, _SampleChange(int(before[0])))
            if sampled:
                self._samples[oid].update(shingles, np.full(len(shingles), -1, dtype=np.int64))
                change.lowered.append(shingles)
            conn.execute("DELETE FROM article_data WHERE rowid = ?", (rowid,))
            conn.execute("DELETE FROM articles WHERE rowid = ?", (rowid,))
            self._count_articles(-1)

    def _load_samples(self, rowids: Sequence[int], oids: Sequence[int]) -> None:
        """Have in memory the full sample counts of the outlets of these articles (to be
        deleted) and of these outlets (to be added to), as the transaction found them."""
        version = self._meta_value("boilerplate_version", "0")
        if version != self._samples_version:
            self._samples.clear()
            self._samples_version = version
        wanted = set(oids)
        wanted.update(
            r[0] for r in self._in("SELECT oid FROM articles WHERE rowid IN ({})", rowids)
        )
        for oid in sorted(wanted - set(self._samples)):
            blobs = self._conn.execute(
                "SELECT shingles FROM articles WHERE oid = ? AND sampled = 1", (oid,)
            ).fetchall()
            values = np.concatenate([_unblob(b[0]) for b in blobs]) if blobs else _EMPTY
            uniq, counts = np.unique(values, return_counts=True)
            self._samples[oid] = _Counts(uniq, counts.astype(np.int64))

    def _refresh_samples(self, changes: Mapping[int, _SampleChange]) -> None:
        """Write the changed outlets' counts that a check needs: of every shingle counted at
        least need - 1 times (`outlet_shingles`), and the outlets' new `need`."""
        if not changes:
            return
        conn = self._conn
        for oid, change in sorted(changes.items()):
            row = conn.execute(
                "SELECT articles, sampled FROM outlets WHERE oid = ?", (oid,)
            ).fetchone()
            if row is None or row[0] <= 0:
                conn.execute("DELETE FROM outlet_shingles WHERE oid = ?", (oid,))
                conn.execute("DELETE FROM outlets WHERE oid = ?", (oid,))
                self._samples.pop(oid, None)
                continue
            counts = self._samples[oid]
            need = boilerplate_limit(row[1], self.settings)
            near = max(1, need - 1)
            old_near = max(1, boilerplate_limit(change.sampled, self.settings) - 1)
            conn.execute("UPDATE outlets SET need = ? WHERE oid = ?", (need, oid))
            if near > old_near:
                conn.execute("DELETE FROM outlet_shingles WHERE oid = ? AND df < ?", (oid, near))
            elif near < old_near:
                band = (counts.counts >= near) & (counts.counts < old_near)
                conn.executemany(
                    "INSERT OR REPLACE INTO outlet_shingles (shingle, oid, df) VALUES (?, ?, ?)",
                    zip(
                        _to_sql(counts.values[band]),
                        [oid] * int(band.sum()),
                        counts.counts[band].tolist(),
                        strict=True,
                    ),
                )
            for arrays, fell in ((change.raised, False), (change.lowered, True)):
                if not arrays:
                    continue
                if len(arrays) == 1 and not fell:  # (then its counts are the counts now)
                    values, now = arrays[0], change.raised_counts[0]
                else:
                    values = distinct(np.concatenate(arrays))
                    now = counts.get(values)
                kept = now >= near
                conn.executemany(
                    "INSERT OR REPLACE INTO outlet_shingles (shingle, oid, df) VALUES (?, ?, ?)",
                    zip(
                        _to_sql(values[kept]),
                        [oid] * int(kept.sum()),
                        now[kept].tolist(),
                        strict=True,
                    ),
                )
                if fell:  # a count that fell below near - 1 leaves the table
                    conn.executemany(
                        "DELETE FROM outlet_shingles WHERE shingle = ? AND oid = ?",
                        [(v, oid) for v in _to_sql(values[~kept])],
                    )
        version = str(int(self._meta_value("boilerplate_version", "0")) + 1)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'boilerplate_version'", (version,))
        self._samples_version = version
        # Outlets whose sample is full change no more until a removal: free their counts.
        for (oid,) in self._in(
            "SELECT oid FROM outlets WHERE sampled >= ? AND oid IN ({})",
            sorted(changes),
            BOILERPLATE_SAMPLE,
        ):
            self._samples.pop(oid, None)

    def _meta_value(self, key: str, default: str) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def _boilerplate_all(self) -> U64:
        """Every shingle that is boilerplate of some outlet (sorted), cached by version."""
        version = self._meta_value("boilerplate_version", "0")
        if self._boilerplate_cache is None or self._boilerplate_cache[0] != version:
            rows = self._conn.execute(
                "SELECT DISTINCT s.shingle FROM outlet_shingles s JOIN outlets o "
                "ON o.oid = s.oid WHERE s.df >= o.need"
            ).fetchall()
            values = distinct(_from_sql([r[0] for r in rows])) if rows else _EMPTY
            self._boilerplate_cache = (version, values)
        return self._boilerplate_cache[1]

    # -- checking -----------------------------------------------------------------------------

    def check(
        self,
        article: Article,
        *,
        fail_on: str = "partial",
        window_days: int | None = None,
        settings: Settings | None = None,
    ) -> CheckResult:
        """The verified matches of `article` in the archive, strongest first.

        The same matches, kinds and scores as `report` over the archive plus this article
        (an archive article with the query's id is taken as its old version: left out, as if
        replaced). fail_on: the weakest kind that flags the query. window_days: only archive
        articles published from that many days before the query's date up to that date
        (compared by calendar date; undated articles, and all articles for an undated query,
        always count). settings: thresholds for this check (default: the index object's);
        the settings in `INDEX_SETTINGS` must be the index's.
        """
        s = self._check_settings(settings)
        if fail_on not in KINDS:
            raise SettingsError(f"fail_on must be one of {', '.join(KINDS)}, got {fail_on!r}")
        if window_days is not None and window_days < 0:
            raise SettingsError(f"window_days must be at least 0, got {window_days}")
        fp = self._fingerprinter.fingerprint(article)
        with self._errors():
            version = self._version()
            with self._read():
                got = self._gather(article, fp, s, window_days, version)
        texts = {**got.texts, article.id: article.text}
        verifier = Verifier(self._fingerprinter, texts, got.ignore, got.common)
        matches: list[CheckMatch] = []
        for cand in got.candidates:
            scores, shared = got.scores[cand.rowid], got.shared[cand.rowid]
            if not _may_match(scores, shared, s):
                continue
            if not _match_by_scores(scores, s):
                # Only passages could make it `partial`: trace them only if they can add up.
                query_view = verifier.tokens(article.id).shingles
                if _passage_words_bound(query_view, cand.shingles, s) < s.partial_words:
                    continue
            a, b = sorted((article.id, cand.id))
            runs = verifier.runs(a, b) if shared else ()  # as the report traces them
            match = judge(Evidence(a, b, scores, runs), s)
            if match is None:
                continue
            matches.append(_check_match(match, article, cand, got.titles[cand.rowid]))
        matches.sort(
            key=lambda m: (
                kind_rank(m.kind),
                -max(m.containment_query, m.containment_match),
                -m.cosine,
                m.id,
            )
        )
        limit = kind_rank(fail_on)
        return CheckResult(
            query=article,
            flagged=any(kind_rank(m.kind) <= limit for m in matches),
            matches=tuple(matches),
            candidates=got.proposed,
        )

    def _check_settings(self, settings: Settings | None) -> Settings:
        if settings is None:
            return self.settings
        differ = [n for n in INDEX_SETTINGS if getattr(settings, n) != getattr(self.settings, n)]
        if differ:
            raise IndexFileError(_settings_message(self.path, self.settings, settings, differ))
        return settings

    def _version(self) -> tuple[int, int]:
        """Changes the moment the index changes: commits by other connections
        (`PRAGMA data_version`, read before a snapshot starts) and this object's own."""
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0]), self._writes

    def _gather(
        self,
        article: Article,
        fp: Fingerprint,
        s: Settings,
        window_days: int | None,
        version: tuple[int, int],
    ) -> _Gathered:
        """Everything a check reads, in one snapshot: the candidates to verify, their
        fingerprints and texts, the TF-IDF cosines and the boilerplate in force."""
        conn = self._conn
        # The query's old version (same id) is taken out, as `report` would not see it.
        old = conn.execute(
            "SELECT a.rowid, a.oid, a.sampled, a.shingles, d.terms FROM articles a "
            "JOIN article_data d ON d.rowid = a.rowid WHERE a.id = ?",
            (article.id,),
        ).fetchone()
        old_rowid = None if old is None else int(old[0])
        old_terms: set[str] = set() if old is None else set(json.loads(old[4]))
        n_docs = len(self) + 1 - (old is not None)

        # Boilerplate counts of the outlets the query (and its old version) change.
        row = conn.execute(
            "SELECT oid, sampled FROM outlets WHERE outlet = ?", (fp.outlet,)
        ).fetchone()
        q_oid, q_sampled = (-1, 0) if row is None else (int(row[0]), int(row[1]))  # -1: new
        adjust: dict[int, _Outlet] = {}
        if old is not None and old[2]:
            sampled = conn.execute("SELECT sampled FROM outlets WHERE oid = ?", (old[1],))
            before = int(sampled.fetchone()[0])
            adjust[old[1]] = _Outlet(
                before, before - 1, frozenset(), frozenset(_to_sql(_unblob(old[3])))
            )
        base = adjust.get(q_oid)
        sampled_now = base.new_sampled if base else q_sampled
        if sampled_now < BOILERPLATE_SAMPLE:
            q_shingles = frozenset(_to_sql(fp.shingles))
            if base:
                base.new_sampled += 1
                base.plus = q_shingles
            else:
                adjust[q_oid] = _Outlet(sampled_now, sampled_now + 1, q_shingles, frozenset())

        # Document frequencies as the report over archive + query would count them.
        def doc_freq(terms: Iterable[str]) -> dict[str, int]:
            wanted = sorted(set(terms))
            df = dict(self._in("SELECT term, df FROM terms WHERE term IN ({})", wanted))
            return {t: df.get(t, 0) + (t in fp.terms) - (t in old_terms) for t in wanted}

        limit = common_limit(n_docs, s)
        q_df = doc_freq(fp.terms)
        q_vocab = {t: d for t, d in q_df.items() if d < limit}
        q_weights = tfidf_weights(fp.terms, q_vocab, n_docs)

        # Candidates: LSH buckets at both resolutions, shared anchors, equal digests.
        near = self._near_counts(version)
        q_ignore = self._boilerplate_of(fp.shingles, adjust, s, near)
        copy_set = _without(fp.shingles, q_ignore)
        common = {t for t, d in q_df.items() if d >= limit}
        common_hashes = self._fingerprinter.word_hashes(sorted(common))
        topic_set = _without(fp.topics, distinct(common_hashes))
        copy_sig = signatures([copy_set], s.num_perm, s.seed, perms=self._perms)[0]
        story_sig = signatures([topic_set], s.num_perm, s.seed, perms=self._perms)[0]
        proposed: set[int] = set()
        cap = self.max_bucket
        keys = self._keys(
            copy_sig if len(copy_set) else None, story_sig if len(topic_set) else None
        )
        for rows in self._postings.lookup(BANDS, keys):
            if cap is not None and len(rows) - (old_rowid in rows) > cap:
                continue
            proposed.update(rows)
        if s.anchor_every:
            anchor_hits: Counter[int] = Counter()
            picked = _to_sql(copy_set[copy_set % np.uint64(s.anchor_every) == 0])
            for rows in self._postings.lookup(ANCHORS, picked):
                posting = [r for r in rows if r != old_rowid]
                if len(posting) + 1 <= MAX_ANCHOR_POSTINGS:  # + 1: the query
                    anchor_hits.update(posting)
            proposed.update(r for r, n in anchor_hits.items() if n >= s.min_anchors)
        if fp.digest:
            proposed.update(
                r[0]
                for r in conn.execute(
                    "SELECT rowid FROM articles WHERE digest = ? AND digest != 0",
                    (_signed(fp.digest),),
                )
            )
        if old_rowid is not None:
            proposed.discard(old_rowid)

        candidates = [
            _Candidate(
                rowid=r[0],
                id=r[1],
                outlet=r[2],
                published=r[3],
                digest=r[4],
                words=r[5],
                shingles=_unblob(r[6]),
                topics=_unblob(r[7]),
            )
            for r in self._in(
                "SELECT a.rowid, a.id, o.outlet, a.published, a.digest, a.words, a.shingles, "
                "a.topics FROM articles a JOIN outlets o ON o.oid = a.oid WHERE a.rowid IN ({})",
                sorted(proposed),
            )
        ]
        if window_days is not None:
            candidates = _in_window(candidates, article.published, window_days)
        proposed_count = len(candidates)

        # Exact scores of every candidate, on what the candidate row holds; the rest (text,
        # term counts) is read only for those that may match. A candidate with no shingle in
        # common (boilerplate aside), another digest and a cosine that cannot reach
        # `same_story` is no match of any kind.
        shared_nb, story_possible = self._prefilter(candidates, fp, copy_set, q_weights, s)
        relevant = distinct(
            np.concatenate(
                [fp.shingles]
                + [c.shingles for c, n in zip(candidates, shared_nb, strict=True) if n]
            )
        )
        ignore = self._boilerplate_of(relevant, adjust, s, near)
        q_digest = _signed(fp.digest) if fp.digest else None
        kept: list[_Candidate] = []
        partial_scores: dict[int, tuple[float, float, float]] = {}
        anything = min(s.near_duplicate, s.contained, s.partial) <= 0.0  # all pairs match
        for c, n, story in zip(candidates, shared_nb, story_possible, strict=True):
            exact = c.digest == q_digest
            if not (n or exact or story or anything):
                continue
            d = Fingerprint(c.id, c.outlet, c.words, c.digest % (1 << 64), c.shingles, c.topics, {})
            a, b = (fp, d) if article.id < c.id else (d, fp)
            jac, cab, cba = set_scores(a, b, ignore) if n else (0.0, 0.0, 0.0)
            probe = Scores(jac, cab, cba, 0.0, exact, 0)  # (the cosine comes later)
            if story or _may_match(probe, int(n), s, cosine_known=False):
                kept.append(c)
                partial_scores[c.rowid] = (jac, cab, cba)

        data = {
            r[0]: r[1:]
            for r in self._in(
                "SELECT rowid, title, terms, text FROM article_data WHERE rowid IN ({})",
                [c.rowid for c in kept],
            )
        }
        cand_terms = {rowid: json.loads(d[1]) for rowid, d in data.items()}
        all_df = doc_freq(t for terms in cand_terms.values() for t in terms)
        all_vocab = {t: d for t, d in all_df.items() if d < limit}
        scores: dict[int, Scores] = {}
        shared: dict[int, int] = {}
        for c, n in zip(candidates, shared_nb, strict=True):
            if c.rowid not in partial_scores:
                continue
            weights = tfidf_weights(cand_terms[c.rowid], all_vocab, n_docs)
            cosine = tfidf_cosine(q_weights, weights)
            jac, cab, cba = partial_scores[c.rowid]
            exact = c.digest == q_digest
            scores[c.rowid] = Scores(jac, cab, cba, cosine, exact, len(q_weights.keys() & weights))
            shared[c.rowid] = int(n)
        return _Gathered(
            candidates=kept,
            titles={rowid: d[0] for rowid, d in data.items()},
            texts={c.id: data[c.rowid][2] for c in kept},
            scores=scores,
            shared=shared,
            ignore=ignore,
            common=frozenset(common),
            proposed=proposed_count,
        )

    def _prefilter(
        self,
        candidates: Sequence[_Candidate],
        fp: Fingerprint,
        copy_set: U64,
        q_weights: Mapping[str, float],
        s: Settings,
    ) -> tuple[list[int], list[bool]]:
        """For each candidate: the shingles it shares with the query, boilerplate aside (the
        query's shingles without boilerplate hold every shared one that is not), and whether
        it may be `same_story` (`story_terms` shared words, and a cosine bound of
        `same_story`: the cosine is at most the norm of the query's weights over the shared
        words, by Cauchy-Schwarz)."""
        n = len(candidates)
        if not n:
            return [], []
        owners = np.repeat(np.arange(n), [len(c.shingles) for c in candidates])
        values = np.concatenate([c.shingles for c in candidates])
        shared = np.bincount(owners[np.isin(values, copy_set)], minlength=n)
        if s.same_story <= 0.0 and s.story_terms <= 0:
            return shared.tolist(), [True] * n
        terms = sorted(q_weights)
        hashes = self._fingerprinter.word_hashes(terms)
        order = np.argsort(hashes)
        hashes, squares = hashes[order], (np.array([q_weights[t] for t in terms]) ** 2)[order]
        owners = np.repeat(np.arange(n), [len(c.topics) for c in candidates])
        values = np.concatenate([c.topics for c in candidates])
        bound = np.zeros(n)
        common = np.zeros(n, dtype=np.int64)
        if len(hashes) and len(values):
            pos = np.minimum(np.searchsorted(hashes, values), len(hashes) - 1)
            hit = hashes[pos] == values
            bound = np.sqrt(np.bincount(owners[hit], weights=squares[pos[hit]], minlength=n))
            common = np.bincount(owners[hit], minlength=n)
        story = (bound >= s.same_story - 1e-9) & (common >= s.story_terms)
        return shared.tolist(), story.tolist()

    def _near_counts(self, version: tuple[int, int]) -> _NearCounts:
        """`outlet_shingles` and the outlets' needs, read once per version of the index."""
        if self._near is None or self._near[0] != version:
            rows = self._conn.execute(
                "SELECT shingle, oid, df FROM outlet_shingles ORDER BY shingle"
            ).fetchall()
            needs = dict(self._conn.execute("SELECT oid, need FROM outlets").fetchall())
            self._near = (version, _NearCounts(rows, needs))
        return self._near[1]

    def _boilerplate_of(
        self, shingles: U64, adjust: Mapping[int, _Outlet], s: Settings, near: _NearCounts
    ) -> U64:
        """The shingles among `shingles` that are boilerplate of some outlet, counting the
        query into its outlet (and its old version out), as the report would.

        `outlet_shingles` holds the counts of at least need - 1: a shingle it lacks is counted
        at most need - 2 times, and one article (the query) cannot make it boilerplate, since
        the need never falls by more than one when the sample changes by one article."""
        if not len(shingles) or not len(near.shingles):
            return _EMPTY
        values = distinct(shingles)
        lo = np.searchsorted(near.shingles, values, side="left")
        hi = np.searchsorted(near.shingles, values, side="right")
        found: list[int] = []
        for k in np.flatnonzero(hi > lo).tolist():
            v = int(values[k])
            signed = _signed(v)
            for r in range(int(lo[k]), int(hi[k])):
                oid, df = int(near.oids[r]), int(near.dfs[r])
                c = adjust.get(oid)
                if c is None:
                    hit = df >= near.needs.get(oid, 0)
                else:
                    delta = (signed in c.plus) - (signed in c.minus)
                    hit = df + delta >= boilerplate_limit(c.new_sampled, s)
                if hit:
                    found.append(v)
                    break
        return np.array(found, dtype=np.uint64)

    # -- consistency --------------------------------------------------------------------------

    def audit(self) -> list[str]:
        """Problems found by a full consistency check (empty when the index is sound): SQLite's
        integrity check, and every derived table recomputed from the stored articles. Reads the
        whole index: for tests and repairs, not for every open."""
        problems: list[str] = []
        conn = self._conn
        with self._errors(), self._read():
            for (line,) in conn.execute("PRAGMA integrity_check"):
                if line != "ok":
                    problems.append(f"integrity: {line}")
            df: Counter[str] = Counter()
            outlets: dict[int, list[int]] = {}
            samples: dict[int, Counter[int]] = {}
            bands: set[tuple[int, int]] = set()
            anchors: set[tuple[int, int]] = set()
            every = self.settings.anchor_every
            rows = conn.execute(
                "SELECT a.rowid, a.oid, a.sampled, a.shingles, d.terms, d.copy_sig, "
                "d.story_sig FROM articles a LEFT JOIN article_data d ON d.rowid = a.rowid"
            )
            rowids: set[int] = set()
            for rowid, oid, sampled, shingles_blob, terms, copy_blob, story_blob in rows:
                rowids.add(rowid)
                if terms is None:
                    problems.append(f"article row {rowid} has no data row")
                    continue
                df.update(json.loads(terms).keys())
                counts = outlets.setdefault(oid, [0, 0])
                counts[0] += 1
                counts[1] += int(sampled)
                shingles = _unblob(shingles_blob)
                if sampled:
                    samples.setdefault(oid, Counter()).update(_to_sql(shingles))
                keys = self._keys(
                    None if copy_blob is None else _unsig(copy_blob),
                    None if story_blob is None else _unsig(story_blob),
                )
                bands.update((k, rowid) for k in keys)
                if every:
                    picked = shingles[shingles % np.uint64(every) == 0]
                    anchors.update((v, rowid) for v in _to_sql(picked))
            orphans = conn.execute(
                "SELECT COUNT(*) FROM article_data WHERE rowid NOT IN (SELECT rowid FROM articles)"
            ).fetchone()[0]
            if orphans:
                problems.append(f"{orphans} data rows without an article")
            if dict(conn.execute("SELECT term, df FROM terms")) != dict(df):
                problems.append("terms: document frequencies differ from the stored articles")
            stored_outlets = {
                oid: [n, smp]
                for oid, n, smp in conn.execute("SELECT oid, articles, sampled FROM outlets")
            }
            if stored_outlets != outlets:
                problems.append("outlets: counts differ from the stored articles")
            if self._articles() != sum(n for n, _ in outlets.values()):
                problems.append("meta: the article count differs from the stored articles")
            expected_rows: set[tuple[int, int, int]] = set()
            for oid, counter in samples.items():
                near = max(1, boilerplate_limit(outlets[oid][1], self.settings) - 1)
                expected_rows.update((v, oid, c) for v, c in counter.items() if c >= near)
            if set(conn.execute("SELECT shingle, oid, df FROM outlet_shingles")) != expected_rows:
                problems.append("outlet_shingles: counts differ from the sampled articles")
            needs = {oid: n for oid, n in conn.execute("SELECT oid, need FROM outlets")}
            if any(needs[o] != boilerplate_limit(outlets[o][1], self.settings) for o in outlets):
                problems.append("outlets: need differs from the sample sizes")
            problems += self._postings.audit()
            stored = self._postings.everything
            if set(zip(*(a.tolist() for a in stored(BANDS)), strict=True)) != bands:
                problems.append("bands: postings differ from the stored signatures")
            if set(zip(*(a.tolist() for a in stored(ANCHORS)), strict=True)) != anchors:
                problems.append("anchors: postings differ from the stored shingles")
            live = self._in("SELECT article FROM removed WHERE article IN ({})", sorted(rowids))
            if live:
                problems.append(f"{len(live)} articles are both stored and removed")
        return problems


# -- fingerprinting ----------------------------------------------------------------------------


# -- opening helpers --------------------------------------------------------------------------


def _damaged(path: str, detail: str) -> str:
    return (
        f"{path} cannot be used as a dedup index ({detail}); it may be damaged. "
        "Build a new index (with a new --index path, or after removing the file)."
    )


def _not_index(path: str, detail: str) -> str:
    return f"{path} is not a dedup index ({detail}). Use a new path, or remove the file."


def _check_header(path: str) -> None:
    """Refuse files that are not SQLite databases, or truncated ones, before SQLite opens them
    (so that nothing is ever written to them)."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise IndexFileError(f"cannot read {path}: {e.strerror or e}") from e
    if not head.startswith(b"SQLite format 3\x00"):
        raise IndexFileError(_not_index(path, "file is not a database"))
    if len(head) < 100:
        raise IndexFileError(_damaged(path, f"truncated: {size} bytes"))
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    header_valid = head[24:28] == head[92:96]
    wal = path + "-wal"
    wal_size = os.path.getsize(wal) if os.path.exists(wal) else 0
    if header_valid and pages and size < pages * page_size and wal_size == 0:
        raise IndexFileError(_damaged(path, f"truncated: {size} of {pages * page_size} bytes"))


def _connect(path: str, *, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            uri = "file:" + quote(str(Path(path).resolve())) + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_SECONDS, isolation_level=None)
            conn.execute("PRAGMA query_only = 1")
        else:
            conn = sqlite3.connect(path, timeout=_BUSY_SECONDS, isolation_level=None)
    except sqlite3.Error as e:
        raise IndexFileError(f"cannot open {path}: {e}") from e
    return conn


def _pragma_writer(conn: sqlite3.Connection, path: str) -> None:
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable against a killed process
        conn.execute("PRAGMA wal_autocheckpoint = 16384")  # 64 MB: fewer, larger checkpoints
    except sqlite3.Error as e:
        raise IndexFileError(_damaged(path, str(e))) from e
    if str(mode).lower() != "wal":
        raise IndexFileError(f"{path}: cannot switch to WAL mode (got {mode}).")


def _read_meta(conn: sqlite3.Connection, path: str) -> dict[str, str]:
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app != APPLICATION_ID or "meta" not in tables:
            raise IndexFileError(_not_index(path, "an SQLite database of another kind"))
        meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            raise IndexFileError(_not_index(path, str(e))) from e
        raise IndexFileError(_damaged(path, str(e))) from e
    try:
        version = int(meta["format_version"])
    except (KeyError, ValueError) as e:
        raise IndexFileError(_damaged(path, "no format version")) from e
    if version > FORMAT_VERSION:
        raise IndexFileError(
            f"{path} was written by a newer dedup (index format {version}; this dedup reads "
            f"format {FORMAT_VERSION}). Upgrade dedup, or build a new index with a new --index "
            "path."
        )
    if version < FORMAT_VERSION:
        raise IndexFileError(
            f"{path} was written by an older dedup (index format {version}; this dedup reads "
            f"format {FORMAT_VERSION}). Build a new index with a new --index path (or after "
            "removing the file)."
        )
    missing = [t for t in _TABLES if t not in tables]
    if missing:
        raise IndexFileError(_damaged(path, f"missing table(s) {', '.join(missing)}"))
    try:
        stored = json.loads(meta["settings"])
        for key in ("copy_bands", "story_bands", "stop_words", "permutations"):
            json.loads(meta[key])
        if not isinstance(stored, dict):
            raise ValueError("settings is not an object")
    except (KeyError, ValueError) as e:
        raise IndexFileError(_damaged(path, f"unreadable settings: {e}")) from e
    return meta


def _settings_message(path: str, stored: Settings, given: Settings, differ: Sequence[str]) -> str:
    built = ", ".join(f"{n}={getattr(stored, n)}" for n in differ)
    got = ", ".join(f"{n}={getattr(given, n)}" for n in differ)
    return (
        f"{path} was built with {built}; an index keeps the settings it was created with "
        f"(got {got}). Leave these settings out to use the index's, or build a new index "
        "with a new --index path."
    )


def _settings_from(
    given: Settings | Mapping[str, Any] | None, stored: Mapping[str, Any] | None, path: str
) -> Settings:
    """The settings in force: the index's `INDEX_SETTINGS`, the rest as given (or defaults)."""
    base = Settings()
    if stored is not None:
        try:
            base = base.replace(**{k: v for k, v in stored.items() if k in INDEX_SETTINGS})
        except (SettingsError, TypeError) as e:
            raise IndexFileError(_damaged(path, f"unreadable settings: {e}")) from e
    if given is None:
        return base
    resolved = given if isinstance(given, Settings) else base.replace(**dict(given))
    if stored is not None:
        differ = [n for n in INDEX_SETTINGS if getattr(resolved, n) != getattr(base, n)]
        if differ:
            raise IndexFileError(_settings_message(path, base, resolved, differ))
    return resolved


def _schema() -> list[str]:
    """The statements of the schema, in order (comments out)."""
    schema = "\n".join(line.split("--")[0] for line in _SCHEMA.splitlines())
    return [s.strip() for s in schema.split(";") if s.strip()]


def _deferred(statement: str) -> bool:
    """Whether `statement` makes one of the `_DEFERRED` indexes."""
    words = statement.split()
    return words[:2] == ["CREATE", "INDEX"] and words[2] in _DEFERRED


def _remove_files(path: str) -> None:
    """Remove an SQLite file with its journal, write-ahead log and shared memory, if there."""
    for p in (path, path + "-journal", path + "-wal", path + "-shm"):
        with suppress(FileNotFoundError):
            os.unlink(p)


def _remove_stale_builds(path: str) -> None:
    """Remove what builds of `path` by processes no longer running left behind."""
    index = Path(path).resolve()
    for part in index.parent.glob(glob_escape(index.name) + ".*.building"):
        pid = part.name[len(index.name) + 1 : -len(".building")]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _remove_files(str(part))
        except OSError:  # running as another user: not ours to remove
            pass


def _sync(path: str) -> None:
    """Flush a file (or folder) to disk, where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create(
    conn: sqlite3.Connection, settings: Settings, *, memory: bool, bulk: bool = False
) -> dict[str, str]:
    """Create the schema of a new index (stop words and permutations from this installation,
    LSH banding from datasketch). bulk: for `ArchiveIndex.build`'s file, written by it alone:
    no rollback journal, and without the `_DEFERRED` indexes, which it makes at the end."""
    from datasketch import MinHashLSH

    from .fingerprint import permutations
    from .text import stop_words

    if not memory:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # (before WAL mode, which fixes it)
        conn.execute(f"PRAGMA journal_mode = {'OFF' if bulk else 'WAL'}")
    if bulk:  # (a file no one else opens, removed if the build fails)
        conn.execute("PRAGMA synchronous = OFF")
    a, b = permutations(settings.num_perm, settings.seed)
    copy_lsh = MinHashLSH(threshold=settings.lsh_copy, num_perm=settings.num_perm)
    story_lsh = MinHashLSH(threshold=settings.lsh_story, num_perm=settings.num_perm)
    try:
        from importlib.metadata import version

        dedup_version = version("dedup")
    except Exception:  # not installed as a distribution: informative only
        dedup_version = "unknown"
    meta = {
        "format_version": str(FORMAT_VERSION),
        "settings": json.dumps({n: getattr(settings, n) for n in INDEX_SETTINGS}),
        "copy_bands": json.dumps([copy_lsh.b, copy_lsh.r]),
        "story_bands": json.dumps([story_lsh.b, story_lsh.r]),
        "stop_words": json.dumps(sorted(stop_words())),
        "permutations": json.dumps({"a": _sig_blob(a).hex(), "b": _sig_blob(b).hex()}),
        "boilerplate_sample": str(BOILERPLATE_SAMPLE),
        "boilerplate_version": "0",
        "articles": "0",
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "dedup_version": dedup_version,
    }
    conn.execute("BEGIN IMMEDIATE")
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if exists:  # another process created it meanwhile
            conn.execute("COMMIT")
            return _read_meta(conn, "index")
        # One statement at a time (executescript would commit).
        for statement in _schema():
            if not (bulk and _deferred(statement)):
                conn.execute(statement)
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", sorted(meta.items()))
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return meta


# -- check helpers ----------------------------------------------------------------------------


def _without(values: U64, ignore: U64) -> U64:
    if not len(ignore) or not len(values):
        return values
    return values[~np.isin(values, ignore, assume_unique=True)]


def _match_by_scores(scores: Scores, s: Settings, cosine_known: bool = True) -> bool:
    """Whether the scores alone make a pair a match (of any kind) at `s` (with `cosine_known`
    false, whether they can once the cosine is known)."""
    containment = max(scores.containment_ab, scores.containment_ba)
    return (
        scores.exact
        or scores.jaccard >= s.near_duplicate
        or containment >= s.contained
        or (containment >= s.partial and (scores.cosine >= s.partial_cosine or not cosine_known))
        or (scores.cosine >= s.same_story and scores.shared_terms >= s.story_terms)
    )


def _may_match(scores: Scores, shared: int, s: Settings, cosine_known: bool = True) -> bool:
    """Whether a pair can be a match at `s`, as `detect.Analysis.judge_pairs` decides which
    pairs to trace passages for: a kind by its scores, or enough shared shingles that passages
    could add up to `partial_words` (`verify.passage_shingles_needed`)."""
    return _match_by_scores(scores, s, cosine_known) or shared >= passage_shingles_needed(s)


def _passage_words_bound(query: U64, other: U64, s: Settings) -> int:
    """At most how many words passages shared with `other` (its shingle set) can hold, from
    the query's shingle at each word (`query`): a passage of w >= min_passage_words words
    lies in a chain of consecutive words whose w - shingle_size + 1 shingles `other` has, and
    passages do not overlap, so the chains of at least min_passage_words - shingle_size + 1
    such shingles (each spanning its length + shingle_size - 1 words) bound them."""
    k, m = s.shingle_size, s.min_passage_words
    inside = np.isin(query, other).astype(np.int8)
    if not inside.any():
        return 0
    edges = np.diff(np.concatenate(([0], inside, [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    chains = lengths[lengths >= max(1, m - k + 1)]
    return int(chains.sum() + len(chains) * (k - 1))


def _rows(sets: Sequence[U64]) -> Ragged:
    """The sets as the rows of one array."""
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in sets], out=offsets[1:])
    return Ragged(np.concatenate([_EMPTY, *sets]), offsets)


def _rows_without(rows: Ragged, ignore: U64) -> Ragged:
    """`_without` of each row (`ignore` sorted), as the rows of a new array."""
    if not len(ignore) or not len(rows.values):
        return rows
    keep = ~in_sorted(cast(U64, rows.values), ignore)
    lengths = np.bincount(rows.row_ids[keep], minlength=len(rows.offsets) - 1)
    offsets = np.zeros(len(rows.offsets), dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Ragged(rows.values[keep], offsets)


def _in_window(candidates: list[_Candidate], published: str | None, days: int) -> list[_Candidate]:
    day = _day(published)
    if day is None:
        return candidates
    start = day - timedelta(days=days)
    kept = []
    for c in candidates:
        d = _day(c.published)
        if d is None or start <= d <= day:
            kept.append(c)
    return kept


def _check_match(match: Any, query: Article, cand: _Candidate, title: str) -> CheckMatch:
    """A report Match (a < b by id) seen from the query."""
    if match.a == query.id:
        c_query, c_match = match.containment_ab, match.containment_ba
        passages = tuple(match.passages)
    else:
        c_query, c_match = match.containment_ba, match.containment_ab
        passages = tuple(
            sorted(
                (
                    Passage(
                        a_start=p.b_start,
                        a_end=p.b_end,
                        b_start=p.a_start,
                        b_end=p.a_end,
                        words=p.words,
                        source=query.text,
                    )
                    for p in match.passages
                ),
                key=lambda p: (p.a_start, p.b_start),
            )
        )
    return CheckMatch(
        id=cand.id,
        title=title,
        outlet=cand.outlet,
        published=cand.published,
        kind=match.kind,
        jaccard=match.jaccard,
        containment_query=c_query,
        containment_match=c_match,
        cosine=match.cosine,
        passages=passages,
    )


def check_against(
    queries: Iterable[Article],
    archive: Iterable[Article | str | os.PathLike[str]],
    settings: Settings | Mapping[str, Any] | None = None,
    *,
    fail_on: str = "partial",
    window_days: int | None = None,
) -> tuple[CheckResult, ...]:
    """Check `queries` against `archive` (articles, or paths of files and folders read with
    `read_articles`; an input that cannot be read raises `InputError`) through an in-memory
    index."""
    articles: list[Article] = []
    paths: list[str | Path] = []
    for item in archive:
        if isinstance(item, Article):
            articles.append(item)
        else:
            paths.append(os.fspath(item))
    if paths:
        from .readers import read_articles

        articles.extend(read_articles(paths, strict=True).articles)
    with ArchiveIndex.in_memory(articles, settings) as index:
        return tuple(index.check(q, fail_on=fail_on, window_days=window_days) for q in queries)


# -- rendering --------------------------------------------------------------------------------

CHECK_SCHEMA = "dedup.check/1"
_DIGITS = 4


def _score(value: float) -> float:
    return round(float(value), _DIGITS)


def check_to_dict(results: Sequence[CheckResult]) -> dict[str, Any]:
    """The `dedup.check/1` JSON shape of DESIGN.md (scores rounded to 4 places)."""
    return {
        "schema": CHECK_SCHEMA,
        "results": [
            {
                "query": {"id": r.query.id, "title": r.query.title},
                "flagged": r.flagged,
                "matches": [
                    {
                        "id": m.id,
                        "title": m.title,
                        "outlet": m.outlet,
                        "published": m.published,
                        "kind": m.kind,
                        "jaccard": _score(m.jaccard),
                        "containment_query": _score(m.containment_query),
                        "containment_match": _score(m.containment_match),
                        "cosine": _score(m.cosine),
                        "passages": [
                            {
                                "a_start": p.a_start,
                                "a_end": p.a_end,
                                "b_start": p.b_start,
                                "b_end": p.b_end,
                                "words": p.words,
                                "text": p.text,
                            }
                            for p in m.passages
                        ],
                    }
                    for m in r.matches
                ],
            }
            for r in results
        ],
    }


def _one_line(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    flat = "".join(ch for ch in flat if ch.isprintable())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render_check(results: Sequence[CheckResult], fmt: str) -> str:
    """`results` as `table` (for people) or `json` (`dedup.check/1`)."""
    if fmt == "json":
        return json.dumps(check_to_dict(results), ensure_ascii=False, indent=2) + "\n"
    if fmt != "table":
        raise SettingsError(f"format must be table or json, got {fmt!r}")
    from tabulate import tabulate

    flagged = sum(r.flagged for r in results)
    lines = [
        f"dedup check: {len(results)} article{'s' if len(results) != 1 else ''}, {flagged} flagged",
    ]
    for r in results:
        lines.append("")
        status = "FLAGGED" if r.flagged else "ok"
        strongest = f" ({r.matches[0].kind})" if r.matches else ""
        lines.append(f"== {status}{strongest}: {_one_line(r.query.title, 60)} [{r.query.id}]")
        if not r.matches:
            lines.append("no match in the archive")
            continue
        rows = [
            [
                m.kind,
                f"{m.jaccard:.2f}",
                f"{m.containment_query:.2f}",
                f"{m.containment_match:.2f}",
                f"{m.cosine:.2f}",
                _one_line(m.outlet, 16),
                (m.published or "")[:10],
                _one_line(m.title, 44),
                _one_line(m.id, 40),
            ]
            for m in r.matches
        ]
        headers = [
            "kind",
            "jacc",
            "c.query",
            "c.match",
            "cos",
            "outlet",
            "published",
            "title",
            "id",
        ]
        lines.append(tabulate(rows, headers=headers, disable_numparse=True))
        for m in r.matches:
            if not m.passages:
                continue
            lines.append(
                f"shared with {_one_line(m.id, 60)}: {len(m.passages)} passage"
                f"{'s' if len(m.passages) != 1 else ''}, {m.shared_words} words"
            )
            for p in m.passages[:3]:
                lines.append(f"  > {_one_line(p.text, 100)}")
            if len(m.passages) > 3:
                lines.append(f"  (+{len(m.passages) - 3} more)")
    return "\n".join(lines) + "\n"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def stats_to_dict(stats: IndexStats) -> dict[str, Any]:
    return {
        "schema": "dedup.index-stats/1",
        "path": stats.path,
        "format_version": stats.format_version,
        "articles": stats.articles,
        "outlets": stats.outlets,
        "first_published": stats.first_published,
        "last_published": stats.last_published,
        "undated": stats.undated,
        "size_bytes": stats.size_bytes,
        "created": stats.created,
        "settings": dict(stats.settings),
        "lsh": {k: {"bands": b, "rows": r} for k, (b, r) in stats.lsh.items()},
        "boilerplate_sample": stats.boilerplate_sample,
    }


def render_stats(stats: IndexStats, fmt: str) -> str:
    """`stats` as `table` or `json`."""
    if fmt == "json":
        return json.dumps(stats_to_dict(stats), ensure_ascii=False, indent=2) + "\n"
    if fmt != "table":
        raise SettingsError(f"format must be table or json, got {fmt!r}")
    from tabulate import tabulate

    dates = (
        f"{stats.first_published} .. {stats.last_published}"
        if stats.first_published
        else "(no dates)"
    )
    rows: list[list[Any]] = [
        ["index", stats.path],
        ["format version", stats.format_version],
        ["articles", stats.articles],
        ["outlets", stats.outlets],
        ["published", dates],
        ["undated", stats.undated],
        ["size on disk", _size(stats.size_bytes)],
        ["created", stats.created or ""],
    ]
    rows += [[name, value] for name, value in stats.settings.items()]
    rows += [[f"lsh {k} (bands x rows)", f"{b} x {r}"] for k, (b, r) in stats.lsh.items()]
    rows.append(["boilerplate sample", f"{stats.boilerplate_sample} articles per outlet"])
    return tabulate(rows, tablefmt="plain", disable_numparse=True) + "\n"
