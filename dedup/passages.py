"""Shared passages of many pairs at once: `verify.shared_passages` for a whole corpus.

`verify.shared_passages` traces one pair with a dozen numpy calls, and a corpus of 100k articles
has about 100k pairs to trace. Here the same steps run over a block of pairs at once:
1. token views of the texts involved (`views`): from their words (as fingerprinting found them:
   `dedup.wordstore`) the hash of the shingle starting at each word and whether it is
   boilerplate, flat over all the texts;
2. the runs of equal shingles of a and b along diagonals (position in a minus position in b),
   found as each shingle of b is looked up in a hash table of a's (compiled:
   `kernels.shared_runs`), cut at paragraph breaks;
3. per pair, the longest runs first, none overlapping another on either side.
The passages are those of `verify.shared_passages`, pair for pair (a test compares them).
Texts shorter than a shingle are left to `verify.shared_passages`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .arrays import distinct, in_sorted
from .batch import I64, Vocabulary, ragged_arange, sorted_by
from .fingerprint import U64, shingle_hashes
from .models import Passage, make_passage
from .text import TextWords, paragraph_breaks, tokenize_block
from .verify import topic_shingles

Bools = npt.NDArray[np.bool_]

#: Values below this in the Passages of a report are shared Python ints (`_python_ints`).
SHARED_INTS = 1 << 17


@functools.cache
def _int_table() -> npt.NDArray[np.object_]:
    """The Python ints 0 .. SHARED_INTS - 1, made once (5 MB)."""
    return np.arange(SHARED_INTS).astype(object)


def _python_ints(values: I64) -> npt.NDArray[np.object_]:
    """`values` as an array of Python ints, those below SHARED_INTS shared: a report of a million
    articles holds about fifteen million offsets, which would be half a gigabyte as ints of
    their own (32 bytes each) and are almost all under a hundred thousand."""
    table = _int_table()
    small = (values >= 0) & (values < SHARED_INTS)
    if small.all():
        out: npt.NDArray[np.object_] = table[values]
        return out
    out = values.astype(object)
    out[small] = table[values[small]]
    return out


@dataclass(frozen=True)
class Views:
    """Token views of texts 0..n-1, flat. Text t has words word_offsets[t]..word_offsets[t+1]
    (`starts`, `ends`: character span in the text; `breaks`: a blank line comes before the word)
    and shingles shingle_offsets[t]..shingle_offsets[t+1] (one per word but the last k - 1:
    `shingles` the hash, `content` not boilerplate)."""

    word_offsets: I64
    starts: I64
    ends: I64
    breaks: Bools
    shingle_offsets: I64
    shingles: U64
    content: Bools

    @property
    def break_counts(self) -> I64:
        counts = np.zeros(len(self.breaks) + 1, dtype=np.int64)
        np.cumsum(self.breaks, out=counts[1:])
        return counts


def text_words(texts: Sequence[str], vocab: Vocabulary) -> TextWords:
    """The words of `texts`, tokenised (new words added to `vocab`): what `WordStore.words` reads
    back for texts fingerprinted with a store."""
    tokens = tokenize_block(texts, digests=False)
    ids = vocab.ids(tokens.words)[tokens.ids]
    breaks = paragraph_breaks(texts, tokens)
    return TextWords(tokens.offsets, ids, tokens.starts, tokens.ends, breaks)


def views(words: TextWords, vocab: Vocabulary, boilerplate: U64, topic: Bools, k: int) -> Views:
    """Token views of texts of `words` (each of at least `k` words; ids of `vocab`);
    `boilerplate`: sorted shingle hashes that do not count as shared content; `topic`: whether
    each word of `vocab` (by id) is a topic word (a content shingle must hold one: see
    `verify.token_view`)."""
    word_offsets, ids = words.offsets, words.ids
    n = len(word_offsets) - 1
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(word_offsets))
    word_hashes = vocab.hashes()[ids]
    acc = shingle_hashes(word_hashes, k)  # across text ends too: those are dropped next
    count = len(acc)
    valid = np.arange(count) + k <= word_offsets[1:][owner[:count]]
    shingles = acc[valid]
    shingle_offsets = word_offsets - np.arange(n + 1, dtype=np.int64) * (k - 1)
    if len(topic) < len(vocab):  # (words first seen here: topic words unless stop words)
        topic = np.concatenate((topic, vocab.content()[len(topic) :]))
    content = topic_shingles(topic[ids], k)[valid]  # (shingle p starts at word p, as acc's)
    content &= ~in_sorted(shingles, boilerplate)
    return Views(
        word_offsets, words.starts, words.ends, words.breaks, shingle_offsets, shingles, content
    )


def trace(
    v: Views, left: I64, right: I64, k: int, min_words: int
) -> list[list[tuple[int, int, int]]]:
    """For each pair (left[p], right[p]) of texts of `v`: its passages as (words, first word in
    a, first word in b), in order of position in a (`trace_runs` as lists)."""
    out: list[list[tuple[int, int, int]]] = [[] for _ in range(len(left))]
    runs = (x.tolist() for x in trace_runs(v, left, right, k, min_words))
    for q, n, ia, jb in zip(*runs, strict=True):
        out[q].append((n, ia, jb))
    return out


def trace_runs(v: Views, left: I64, right: I64, k: int, min_words: int) -> tuple[I64, ...]:
    """The passages of each pair (left[p], right[p]) of texts of `v`, as arrays: the pair, the
    words, the first word in a, the first word in b; by pair, then position in a."""
    pairs = len(left)
    if not pairs:
        return (np.zeros(0, dtype=np.int64),) * 4
    from . import kernels  # (numba: imported when there are passages to trace)

    # 1. the runs of equal shingles of a and b along each diagonal, pair by pair; those of
    # enough words with a content shingle are kept
    p, i, j, length, has_content = kernels.shared_runs(
        v.shingles, v.shingle_offsets, v.content, left, right
    )
    words = length + k - 1
    keep = has_content & (words >= min_words)
    rp, rn, ri, rj = p[keep], words[keep], i[keep], j[keep]
    longest = int(np.diff(v.word_offsets).max(initial=0))

    # 2. cut where either text starts a paragraph
    rp, rn, ri, rj = _split_at_paragraphs(v, left, right, rp, rn, ri, rj, min_words)

    # 3. longest first (then leftmost in a, then in b), none overlapping on either side: a run
    # that overlaps no other run of its pair is taken as it is, the others one by one
    if longest < 1 << 20:
        order = sorted_by(rp, ((longest - rn) << 40) | (ri << 20) | rj)
    else:
        order = np.lexsort((rj, ri, -rn, rp))
    rp, rn, ri, rj = rp[order], rn[order], ri[order], rj[order]
    keep = ~(_overlapping(rp, ri, rn) | _overlapping(rp, rj, rn))
    contested = np.flatnonzero(~keep)
    current = -1
    taken: list[tuple[int, int, int]] = []
    for at, q, n, ia, jb in zip(
        contested.tolist(),
        rp[contested].tolist(),
        rn[contested].tolist(),
        ri[contested].tolist(),
        rj[contested].tolist(),
        strict=True,
    ):
        if q != current:
            current, taken = q, []
        if any((ia < x + m and x < ia + n) or (jb < y + m and y < jb + n) for m, x, y in taken):
            continue
        taken.append((n, ia, jb))
        keep[at] = True
    rp, rn, ri, rj = rp[keep], rn[keep], ri[keep], rj[keep]
    order = sorted_by(rp, ri)  # (a pair's passages do not overlap in a: one order)
    return rp[order], rn[order], ri[order], rj[order]


def _overlapping(pair: I64, start: I64, length: I64) -> npt.NDArray[np.bool_]:
    """Whether each interval start .. start + length - 1 overlaps another of the same pair."""
    overlaps = np.zeros(len(pair), dtype=bool)
    if len(pair) < 2:
        return overlaps
    order = sorted_by(pair, start)
    p, s = pair[order], start[order]
    e = s + length[order]
    span = int(e.max()) + 1  # (ends made to grow from pair to pair: one running maximum)
    before = np.maximum.accumulate(e + p * span)[:-1] - p[1:] * span  # (latest end before)
    same = p[1:] == p[:-1]
    hit = same & (before > s[1:])  # an earlier interval ends after this one starts
    hit_next = same & (s[1:] < e[:-1])  # the next interval starts before this one ends
    overlaps[order[1:][hit]] = True
    overlaps[order[:-1][hit_next]] = True
    return overlaps


def _split_at_paragraphs(
    v: Views, left: I64, right: I64, rp: I64, rn: I64, ri: I64, rj: I64, min_words: int
) -> tuple[I64, I64, I64, I64]:
    """Runs (pair, words, first word in a, first word in b) cut where either text starts a new
    paragraph, keeping the pieces of at least `min_words` words."""
    wa = v.word_offsets[left[rp]] + ri  # flat index of each run's first word in a, and in b
    wb = v.word_offsets[right[rp]] + rj
    counts = v.break_counts
    crossing = (counts[wa + rn] - counts[wa + 1] > 0) | (counts[wb + rn] - counts[wb + 1] > 0)
    if not crossing.any():
        return rp, rn, ri, rj
    whole = ~crossing
    cut = np.flatnonzero(crossing)
    offset, owner = ragged_arange(np.zeros(len(cut), dtype=np.int64), rn[cut])
    run = cut[owner]
    starts_piece = (offset == 0) | v.breaks[wa[run] + offset] | v.breaks[wb[run] + offset]
    piece = np.cumsum(starts_piece) - 1
    length = np.bincount(piece)
    head = np.flatnonzero(starts_piece)
    long_enough = length >= min_words
    head, length = head[long_enough], length[long_enough]
    run_of = run[head]
    return (
        np.concatenate((rp[whole], rp[run_of])),
        np.concatenate((rn[whole], length)),
        np.concatenate((ri[whole], ri[run_of] + offset[head])),
        np.concatenate((rj[whole], rj[run_of] + offset[head])),
    )


def to_passages(
    v: Views, t: int, u: int, runs: Sequence[tuple[int, int, int]], text_a: str
) -> tuple[Passage, ...]:
    """The runs of texts t (a) and u (b) of `v` as Passages (through `run_table`, as a report's
    passages are)."""
    flat = np.asarray(runs, dtype=np.int64).reshape(-1, 3)
    pair = np.zeros(len(flat), dtype=np.int64)
    table = run_table(v, np.asarray([t]), np.asarray([u]), (pair, *flat.T))
    return as_passages(table, text_a)


def as_passages(rows: I64, text_a: str) -> tuple[Passage, ...]:
    """Rows (a_start, a_end, b_start, b_end, words) as Passages."""
    return tuple(Passage(a0, a1, b0, b1, w, text_a) for a0, a1, b0, b1, w in rows.tolist())


def run_table(v: Views, left: I64, right: I64, runs: tuple[I64, ...]) -> I64:
    """The runs of `trace_runs` for pairs (left[p], right[p]) of texts of `v` as a table of rows
    (a_start, a_end, b_start, b_end, words): the passages without a Python object per run (a
    worker sends arrays back, not millions of objects)."""
    pair, n, ia, jb = runs
    wa = v.word_offsets[left[pair]] + ia
    wb = v.word_offsets[right[pair]] + jb
    table = np.stack((v.starts[wa], v.ends[wa + n - 1], v.starts[wb], v.ends[wb + n - 1], n), 1)
    return table.astype(np.int64, copy=False)


def passage_rows(passages: Sequence[Passage]) -> I64:
    """Passages as rows of a `Traced` table."""
    rows = [(p.a_start, p.a_end, p.b_start, p.b_end, p.words) for p in passages]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 5)


@dataclass(frozen=True)
class Traced:
    """The shared runs of the pairs traced so far, without an object per run: pair `codes`
    (i * n + j, sorted) and, for the pair at index x, rows offsets[x]..offsets[x + 1] of
    `table` (a_start, a_end, b_start, b_end, words), in order of position in a."""

    codes: I64
    offsets: I64
    table: I64

    @classmethod
    def empty(cls) -> Traced:
        return cls(
            np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros((0, 5), np.int64)
        )

    def find(self, codes: I64) -> npt.NDArray[np.intp]:
        """Index of each of `codes` (each must be traced)."""
        return np.searchsorted(self.codes, codes)

    def missing(self, codes: I64) -> I64:
        """Those of `codes` not traced yet."""
        found: I64 = codes[~np.isin(codes, self.codes)]
        return found

    def merged(self, codes: I64, pair: I64, table: I64) -> Traced:
        """With the runs of new pairs `codes` added (run r belongs to codes[pair[r]])."""
        if len(self.codes):
            owner = np.concatenate((np.repeat(self.codes, np.diff(self.offsets)), codes[pair]))
            rows = np.concatenate((self.table, table))
        else:  # (the first pairs traced: no copy of their table)
            owner, rows = codes[pair], table
        order = np.argsort(owner, kind="stable")  # each pair's runs keep their order
        all_codes = distinct(np.concatenate((self.codes, codes)))
        offsets = np.zeros(len(all_codes) + 1, dtype=np.int64)
        np.cumsum(
            np.bincount(np.searchsorted(all_codes, owner), minlength=len(all_codes)),
            out=offsets[1:],
        )
        return Traced(all_codes, offsets, rows[order])

    def words_at_least(self, index: npt.NDArray[np.intp], least: int) -> I64:
        """Words in the runs of at least `least` words of the pairs at `index`."""
        words = np.where(self.table[:, 4] >= least, self.table[:, 4], 0)
        total = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(words, out=total[1:])
        found: I64 = total[self.offsets[index + 1]] - total[self.offsets[index]]
        return found

    def passages(
        self, index: npt.NDArray[np.intp], texts_a: Sequence[str], least: int = 0
    ) -> list[tuple[Passage, ...]]:
        """The runs of at least `least` words of the pairs at `index` (-1: a pair without runs)
        as Passages, those of index[p] cut from texts_a[p]: the rows of every pair are gathered
        and made Python values at once."""
        out: list[tuple[Passage, ...]] = [()] * len(index)
        has = np.flatnonzero(index >= 0)
        lo = self.offsets[index[has]]
        rows, owner = ragged_arange(lo, self.offsets[index[has] + 1] - lo)
        kept = self.table[rows, 4] >= least
        values = _python_ints(self.table[rows[kept]]).tolist()
        ends = np.cumsum(np.bincount(owner[kept], minlength=len(has))).tolist()
        start = 0
        for p, end in zip(has.tolist(), ends, strict=True):
            if end > start:
                text = texts_a[p]
                out[p] = tuple(
                    [
                        make_passage(a0, a1, b0, b1, w, text)
                        for a0, a1, b0, b1, w in values[start:end]
                    ]
                )
            start = end
        return out
