"""Verification of candidate pairs: exact scores, shared passages, and the kind of match.

LSH only proposes candidates; every reported match is verified here on the exact shingle sets,
the TF-IDF vectors and the texts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .fingerprint import U64, Fingerprint, Fingerprinter
from .models import Kind, Match, Passage, Settings
from .text import PARAGRAPH_BREAK, is_content_word, stop_words, token_spans

if TYPE_CHECKING:
    from scipy import sparse


@dataclass(frozen=True, slots=True)
class Scores:
    """Scores of a pair before classification."""

    jaccard: float
    containment_ab: float
    containment_ba: float
    cosine: float
    exact: bool
    shared_terms: int = 0


def set_scores(a: Fingerprint, b: Fingerprint, ignore: U64) -> tuple[float, float, float]:
    """Exact Jaccard and containment both ways of the shingle sets, without `ignore`d
    (boilerplate) shingles."""
    sa = _without(a.shingles, ignore)
    sb = _without(b.shingles, ignore)
    if not len(sa) or not len(sb):
        return 0.0, 0.0, 0.0
    inter = len(np.intersect1d(sa, sb, assume_unique=True))
    union = len(sa) + len(sb) - inter
    return inter / union, inter / len(sa), inter / len(sb)


def _without(values: U64, ignore: U64) -> U64:
    if not len(ignore) or not len(values):
        return values
    return values[~np.isin(values, ignore, assume_unique=True)]


#: Values weighted in one step of `tfidf` (copy=False).
TFIDF_STEP = 1 << 20


def idf(df: Sequence[int] | np.ndarray, n_docs: int) -> np.ndarray:
    """scikit-learn's smoothed inverse document frequency: ln((1 + n) / (1 + df)) + 1."""
    d = np.asarray(df, dtype=np.float64)
    return np.log((1.0 + n_docs) / (1.0 + d)) + 1.0


def tfidf(
    counts: sparse.csr_matrix, doc_freq: np.ndarray, n_docs: int, *, copy: bool = True
) -> sparse.csr_matrix:
    """Rows of term counts weighted as scikit-learn's TfidfTransformer does with sublinear tf,
    smoothed idf and l2 norm, the idf coming from `doc_freq` over `n_docs` articles. With
    copy=False, `counts` (float64) is used up: its values are overwritten, the idf weights
    applied TFIDF_STEP values at a time (scikit-learn's one step makes a second array of every
    value: 350 MB at 1M articles) and the rows normalised by `kernels.l2_normalize_rows`
    (scikit-learn is not imported: a second of start-up); the same operations on each value, so
    the same result."""
    if not counts.shape[0] or not counts.shape[1]:
        return counts  # nothing to weigh (scikit-learn refuses empty input)
    weights = idf(doc_freq, n_docs)
    if copy or counts.format != "csr" or counts.dtype != np.float64:
        from sklearn.feature_extraction.text import TfidfTransformer

        transformer = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2")
        transformer.idf_ = weights
        return transformer.transform(counts, copy=copy)
    data, columns = counts.data, counts.indices
    for lo in range(0, len(data), TFIDF_STEP):  # (TfidfTransformer.transform, a step at a time)
        part = data[lo : lo + TFIDF_STEP]
        np.log(part, out=part)
        part += 1.0
        part *= weights[columns[lo : lo + TFIDF_STEP]]
    from .kernels import l2_normalize_rows  # (scikit-learn's `normalize`, bit for bit)

    l2_normalize_rows(counts.indptr, data)
    return counts


class TermWeights:
    """TF-IDF (scikit-learn: sublinear tf, smoothed idf, l2 norm) over a fixed vocabulary and
    document frequencies. The vocabulary is sorted so results do not depend on input order."""

    def __init__(self, doc_freq: Mapping[str, int], n_docs: int) -> None:
        from sklearn.feature_extraction.text import TfidfTransformer

        self.vocab = {t: i for i, t in enumerate(sorted(doc_freq))}
        self.transformer = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2")
        self.transformer.idf_ = idf([doc_freq[t] for t in sorted(doc_freq)], n_docs)

    def matrix(self, terms: Sequence[Mapping[str, int]]) -> sparse.csr_matrix:
        from scipy import sparse

        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        vocab = self.vocab
        for r, counts in enumerate(terms):
            for t, c in sorted(counts.items()):
                col = vocab.get(t)
                if col is not None:
                    rows.append(r)
                    cols.append(col)
                    vals.append(c)
        counts_matrix = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(len(terms), len(vocab))
        )
        counts_matrix.sort_indices()
        if not len(terms) or not vocab:
            return counts_matrix  # nothing to weigh (scikit-learn refuses empty input)
        return self.transformer.transform(counts_matrix)


def pair_cosines(
    matrix: sparse.csr_matrix,
    left: Sequence[int] | npt.NDArray[np.int64],
    right: Sequence[int] | npt.NDArray[np.int64],
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of rows left[i] and right[i] of an l2-normalised matrix, and the number of terms
    the two rows share."""
    if not len(left):
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    products = matrix[np.asarray(left)].multiply(matrix[np.asarray(right)]).tocsr()
    return np.asarray(products.sum(axis=1)).ravel(), np.diff(products.indptr)


def document_frequencies(fingerprints: Sequence[Fingerprint]) -> dict[str, int]:
    df: dict[str, int] = {}
    for fp in fingerprints:
        for t in fp.terms:
            df[t] = df.get(t, 0) + 1
    return df


def common_limit(n_docs: int, settings: Settings) -> int:
    """Document frequency from which a content word is a corpus stop word."""
    return max(settings.common_docs, math.ceil(settings.common_share * n_docs))


def boilerplate_limit(outlet_docs: int, settings: Settings) -> int:
    """Articles of one outlet a shingle must be in to be that outlet's boilerplate."""
    share = math.ceil(settings.boilerplate_share * outlet_docs)
    return max(settings.boilerplate_docs, min(share, settings.boilerplate_cap))


@dataclass(frozen=True, eq=False)
class TokenView:
    """What passage tracing needs of one text: the character span of each word (starts, ends),
    the hash of the shingle starting at each word, whether that shingle is not boilerplate,
    and whether a paragraph break (a blank line) comes before each word."""

    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    shingles: U64
    content: npt.NDArray[np.bool_]
    breaks: npt.NDArray[np.bool_]

    @property
    def words(self) -> int:
        return len(self.starts)

    def breaks_before(self, lo: int, hi: int) -> bool:
        """Whether a paragraph starts at any word lo .. hi - 1."""
        return bool(self.break_count[hi] - self.break_count[lo])

    @cached_property
    def break_count(self) -> npt.NDArray[np.int64]:
        counts = np.zeros(len(self.breaks) + 1, dtype=np.int64)
        np.cumsum(self.breaks, out=counts[1:])
        return counts


def token_view(
    text: str, fingerprinter: Fingerprinter, ignore: U64, common: frozenset[str] = frozenset()
) -> TokenView:
    """The token view of `text`: a shingle is content when it is not in `ignore` (boilerplate)
    and holds a topic word, one neither a stop word nor in `common` (corpus stop words)."""
    words, offsets = token_spans(text)
    spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    shingles = fingerprinter.shingle_sequence(words)
    stop = fingerprinter.stop_words if fingerprinter.stop_words is not None else stop_words()
    topic = np.fromiter(
        (is_content_word(w, stop) and w not in common for w in words), dtype=bool, count=len(words)
    )
    content = topic_shingles(topic, fingerprinter.settings.shingle_size)
    if len(ignore):
        pos = np.minimum(np.searchsorted(ignore, shingles), len(ignore) - 1)
        content &= ignore[pos] != shingles
    blank_lines = np.asarray([m.start() for m in PARAGRAPH_BREAK.finditer(text)], dtype=np.int64)
    breaks = np.zeros(len(spans), dtype=bool)
    if len(blank_lines) and len(spans) > 1:
        # a blank line between the end of word t - 1 and the start of word t
        before = np.searchsorted(blank_lines, spans[1:, 0])
        after = np.searchsorted(blank_lines, spans[:-1, 1])
        breaks[1:] = before > after
    return TokenView(spans[:, 0], spans[:, 1], shingles, content, breaks)


def topic_shingles(topic: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.bool_]:
    """Whether each shingle of a text holds a topic word, from whether each word is one (the
    shingles of `fingerprint.shingle_hashes`: one of all the words when there are fewer than k).
    A run of shingles without one, however long, is made of stop words: "in the first quarter
    of the year", which texts share without copying."""
    n = len(topic)
    k = min(k, n)
    total = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(topic, out=total[1:])
    found: npt.NDArray[np.bool_] = total[k:] > total[: n - k + 1] if n else topic
    return found


def _split_at_paragraphs(
    run: tuple[int, int, int], ta: TokenView, tb: TokenView, min_words: int
) -> list[tuple[int, int, int]]:
    """A run cut where either text starts a new paragraph, keeping the pieces of at least
    `min_words` words: a passage is a stretch of one paragraph, not "... August. The"."""
    n, ia, jb = run
    if not (ta.breaks_before(ia + 1, ia + n) or tb.breaks_before(jb + 1, jb + n)):
        return [run]
    cuts = np.flatnonzero(ta.breaks[ia + 1 : ia + n] | tb.breaks[jb + 1 : jb + n]) + 1
    if not len(cuts):
        return [run]
    bounds = [0, *cuts.tolist(), n]
    return [
        (hi - lo, ia + lo, jb + lo) for lo, hi in itertools.pairwise(bounds) if hi - lo >= min_words
    ]


def shared_passages(
    ta: TokenView, tb: TokenView, text_a: str, min_words: int, k: int
) -> tuple[Passage, ...]:
    """Maximal runs of words shared by a and b (at least `min_words` words): runs of equal
    shingles along one diagonal (position in a minus position in b), so a run of s shingles is
    s + k - 1 words; runs without a content shingle (see `token_view`) are dropped; runs do not
    overlap on either side (longest first)."""
    ha, hb = ta.shingles, tb.shingles
    if not ta.words or not tb.words or not len(ha) or not len(hb):
        return ()
    k = min(k, ta.words, tb.words)
    order_b = np.argsort(hb, kind="stable")
    sorted_b = hb[order_b]
    lo = np.searchsorted(sorted_b, ha, "left")
    hits = np.searchsorted(sorted_b, ha, "right") - lo
    if not hits.any():
        return ()
    i = np.repeat(np.arange(len(ha)), hits)
    within = np.arange(len(i)) - np.repeat(np.cumsum(hits) - hits, hits)
    j = order_b[np.repeat(lo, hits) + within]
    content = ta.content[i]
    order = np.lexsort((i, i - j))
    i, j, content = i[order], j[order], content[order]
    diagonal = i - j
    starts = np.ones(len(i), dtype=bool)
    starts[1:] = (diagonal[1:] != diagonal[:-1]) | (i[1:] != i[:-1] + 1)
    run = np.cumsum(starts) - 1
    shingles = np.bincount(run)
    has_content = np.bincount(run, weights=content) > 0
    words = shingles + k - 1
    first = np.flatnonzero(starts)
    keep = has_content & (words >= min_words)
    runs = sorted(
        (
            piece
            for run in zip(
                words[keep].tolist(), i[first][keep].tolist(), j[first][keep].tolist(), strict=True
            )
            for piece in _split_at_paragraphs(run, ta, tb, min_words)
        ),
        key=lambda r: (-r[0], r[1], r[2]),
    )
    used_a = np.zeros(ta.words, dtype=bool)
    used_b = np.zeros(tb.words, dtype=bool)
    chosen: list[tuple[int, int, int]] = []
    for n, ia, jb in runs:
        if used_a[ia : ia + n].any() or used_b[jb : jb + n].any():
            continue
        used_a[ia : ia + n] = True
        used_b[jb : jb + n] = True
        chosen.append((n, ia, jb))
    chosen.sort(key=lambda r: r[1])
    passages = []
    for n, ia, jb in chosen:
        a_start, a_end = int(ta.starts[ia]), int(ta.ends[ia + n - 1])
        b_start, b_end = int(tb.starts[jb]), int(tb.ends[jb + n - 1])
        passages.append(Passage(a_start, a_end, b_start, b_end, n, text_a))
    return tuple(passages)


def passage_shingles_needed(settings: Settings) -> float:
    """The fewest shared content shingles (boilerplate excluded) with which a pair's passages
    can add up to `partial_words`: a run of w >= min_passage_words words holds
    w - shingle_size + 1 shingles. Pairs with fewer are not traced for passages (words of
    boilerplate shingles a run crosses are not shared content)."""
    k, m = settings.shingle_size, settings.min_passage_words
    return settings.partial_words * (m - k + 1) / m


def classify(scores: Scores, shared_words: int, settings: Settings) -> Kind | None:
    """The strongest kind the scores support, or None when the pair is not a match."""
    if scores.exact:
        return "exact"
    if scores.jaccard >= settings.near_duplicate:
        return "near_duplicate"
    containment = max(scores.containment_ab, scores.containment_ba)
    if containment >= settings.contained:
        return "contained"
    if shared_words >= settings.partial_words or (
        containment >= settings.partial and scores.cosine >= settings.partial_cosine
    ):
        return "partial"
    if scores.cosine >= settings.same_story and scores.shared_terms >= settings.story_terms:
        return "same_story"
    return None


def classify_all(
    exact: npt.NDArray[np.bool_],
    jaccard: npt.NDArray[np.float64],
    containment: npt.NDArray[np.float64],
    cosine: npt.NDArray[np.float64],
    shared_terms: npt.NDArray[np.integer],
    shared_words: npt.NDArray[np.integer],
    settings: Settings,
) -> npt.NDArray[np.int8]:
    """`classify` of many pairs at once (containment: the larger of the two ways): the index in
    KINDS of each pair's kind, or -1 when it is not a match."""
    s = settings
    kind = np.full(len(exact), -1, dtype=np.int8)
    rules = (  # (in the order of `classify`: the first that holds)
        exact,
        jaccard >= s.near_duplicate,
        containment >= s.contained,
        (shared_words >= s.partial_words)
        | ((containment >= s.partial) & (cosine >= s.partial_cosine)),
        (cosine >= s.same_story) & (shared_terms >= s.story_terms),
    )
    for code, hit in enumerate(rules):
        kind[(kind < 0) & hit] = code
    return kind


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything verification measured on a pair, before any threshold: scores, and the shared
    runs of at least `shingle_size` words (thresholds pick from them)."""

    a: str
    b: str
    scores: Scores
    runs: tuple[Passage, ...]


def judge(evidence: Evidence, settings: Settings) -> Match | None:
    """Apply the thresholds of `settings` to what was measured: the Match, or None."""
    passages = tuple(p for p in evidence.runs if p.words >= settings.min_passage_words)
    scores = evidence.scores
    kind = classify(scores, sum(p.words for p in passages), settings)
    if kind is None:
        return None
    return to_match(evidence.a, evidence.b, kind, scores, passages)


def to_match(a: str, b: str, kind: Kind, scores: Scores, passages: tuple[Passage, ...]) -> Match:
    """The Match of a pair judged `kind`, with its passages (of at least min_passage_words)."""
    return Match(
        a=a,
        b=b,
        kind=kind,
        jaccard=scores.jaccard,
        containment_ab=scores.containment_ab,
        containment_ba=scores.containment_ba,
        cosine=scores.cosine,
        passages=passages,
    )


#: Token views kept by a Verifier (the oldest goes first).
TOKEN_CACHE = 65536


class Verifier:
    """Measures pairs of one corpus: holds the texts' token views (computed on first use), the
    boilerplate shingles and the corpus stop words (`common`: content words in too many of its
    articles to carry topic; see `token_view`). Pairs are given as (a, b) with a.id < b.id."""

    def __init__(
        self,
        fingerprinter: Fingerprinter,
        texts: Mapping[str, str],
        boilerplate: U64,
        common: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = fingerprinter.settings
        self.fingerprinter = fingerprinter
        self.texts = texts
        self.boilerplate = np.sort(boilerplate)  # searched with searchsorted
        self.common = common
        self._tokens: dict[str, TokenView] = {}

    def tokens(self, article_id: str) -> TokenView:
        got = self._tokens.get(article_id)
        if got is None:
            got = token_view(
                self.texts[article_id], self.fingerprinter, self.boilerplate, self.common
            )
            if len(self._tokens) >= TOKEN_CACHE:  # the oldest goes first
                del self._tokens[next(iter(self._tokens))]
            self._tokens[article_id] = got
        return got

    def runs(self, a_id: str, b_id: str) -> tuple[Passage, ...]:
        """Shared runs of at least `shingle_size` words of articles a and b (a < b)."""
        k = self.settings.shingle_size
        return shared_passages(self.tokens(a_id), self.tokens(b_id), self.texts[a_id], k, k)

    def measure(
        self, a: Fingerprint, b: Fingerprint, cosine: float, *, shared_terms: int
    ) -> Evidence:
        """Scores and shared runs of a pair; `cosine` and `shared_terms` (content words both
        have, corpus stop words left out) come from the corpus' TF-IDF rows."""
        jac, cab, cba = set_scores(a, b, self.boilerplate)
        exact = a.digest != 0 and a.digest == b.digest
        scores = Scores(jac, cab, cba, cosine, exact, shared_terms)
        runs: tuple[Passage, ...] = ()
        if jac > 0.0:
            runs = self.runs(a.id, b.id)
        return Evidence(a.id, b.id, scores, runs)
