"""The detector: articles -> fingerprints -> LSH candidates -> verified matches -> stories.

MinHash-LSH proposes candidate pairs at two resolutions: word shingles (copies) and content words
(same-story coverage in other words), with datasketch's permutations and banding; shared anchor
shingles propose pairs that share a passage. LSH is approximate; every reported match is verified
on exact scores (see `dedup.verify`).

`analyse` does the work that does not depend on the verification thresholds (fingerprints,
signatures, candidates, exact scores of each pair, all cached); `Analysis.report(settings)` then
applies thresholds, so a sweep over thresholds costs little more than one run. The work is done
in blocks with numpy (nothing runs per shingle in Python) and compiled loops where numpy would
need a sort or a Python loop (`dedup.kernels`: signatures, pair scores, shared shingle
positions), the blocks of each stage on several cores (`dedup.parallel`: forked processes where
Python tokenises, threads where compiled loops and numpy do all the work); only the
pairs that are or may be matches have their passages traced (`dedup.passages`). Neither the
block sizes nor the number of workers changes a byte of the report. The large arrays that a
stage does not use (the shingle sets, the TF-IDF rows, the anchors) wait in a temporary file
meanwhile (`Analysis._park`), so memory holds what the stage at work needs.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .arrays import bitmap_bits, distinct, grouped_order
from .batch import (
    CHUNK,
    I64,
    Ragged,
    Vocabulary,
    band_counts,
    by_range,
    concat,
    counted,
    counted_by_range,
    fingerprint_corpus,
    minhash_rows,
    nearest,
    pair_chunks,
    range_cuts,
)
from .errors import DedupError
from .fingerprint import U32, U64, Fingerprinter, permutations
from .models import (
    KINDS,
    Article,
    Match,
    Report,
    Settings,
    Skipped,
    Stats,
    make_match,
    with_text,
)
from .parallel import default_workers, gc_paused, release_memory, run_blocks, run_threads
from .passages import Traced, passage_rows, run_table, trace_runs, views
from .stories import MAX_MERGE_PAIRS, build_stories
from .textstore import Kept, Parked, Texts, set_aside
from .verify import (
    Evidence,
    Scores,
    Verifier,
    boilerplate_limit,
    classify_all,
    common_limit,
    passage_shingles_needed,
    tfidf,
)
from .wordstore import WordStore

if TYPE_CHECKING:
    from scipy import sparse

#: progress(stage, done, total): called as long work advances.
Progress = Callable[[str, int, int], None]

#: Settings that change fingerprints or boilerplate: changing them needs a new `analyse`.
ANALYSIS_SETTINGS = (
    "shingle_size",
    "num_perm",
    "seed",
    "boilerplate_docs",
    "boilerplate_share",
    "boilerplate_cap",
    "common_share",
    "common_docs",
)

#: Articles of each outlet (the first by id) whose shingles are counted for its boilerplate.
BOILERPLATE_SAMPLE = 1000

#: Texts fingerprinted, pairs scored, pairs traced in one vectorised step: each a block of work
#: for one worker process (blocks bound the working memory). Scores and passages use small
#: blocks, so that a step's arrays stay in the CPU's caches.
FINGERPRINT_BLOCK = 4096
SCORE_BLOCK = 4096
TRACE_BLOCK = 2048

#: Pairs judged a slice at a time: their scores become Python objects only for the slice.
JUDGE_BLOCK = 65536

#: Story (content-word) LSH candidates kept for each article: those sharing the most bands.
#: The low story threshold pairs every article of a templated series (earnings, sports
#: results) with every other, a count that grows with the square of the corpus. (On the 1M
#: synthetic corpus 20 gave 13.2M story candidates and 10 gave 7.6M; at 100k, 10 instead of 20
#: loses 0.02% of copy recall and 14% of the same_story matches, almost all outside the gold
#: copy clusters: story precision against them 0.768 -> 0.793, story recall 0.9928 -> 0.9926.)
STORY_NEIGHBOURS = 10

#: A story LSH bucket of more articles than this proposes no pairs: a band of content words
#: that many articles share is a template's vocabulary (earnings tables, sports results), and
#: its pairs, the square of its size, would mostly fall to STORY_NEIGHBOURS anyway.
STORY_BUCKET = 500

#: Anchors shared by more articles than this are stock phrases, not evidence of reuse.
MAX_ANCHOR_POSTINGS = 64

#: The anchors are grouped in 2 ** ANCHOR_PART_BITS parts (by their hashes' top bits), a part at
#: a time: the working memory of a sort is that of a part (at 1M articles, 18M anchors).
ANCHOR_PART_BITS = 3

#: Arrays of at least this many bytes are kept in a temporary file while the stages that do
#: not use them run (`Analysis._park`); smaller ones stay in memory. (Up to about 120k articles
#: nothing is parked: memory is under a gigabyte, and writing the shingle sets, then waiting
#: for them to be written, cost a quarter of a second at 100k.)
PARK_BYTES = 1 << 27

#: What `Analysis._park` keeps in a temporary file, by name: the attribute that holds it.
_PARKED_ATTRIBUTES = {"anchors": "_anchors", "copy_sets": "_copy_sets", "tfidf": "_tfidf"}

_NO_KIND = -1


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH chooses for `threshold` and `num_perm`."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


def lsh_pairs(
    sigs: U32, threshold: float, num_perm: int, seed: int, usable: Sequence[bool]
) -> set[tuple[int, int]]:
    """Pairs of rows that share a bucket of datasketch's own MinHashLSH tuned for `threshold`:
    the reference that `batch.band_pairs` is tested against."""
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, row in enumerate(sigs):
        if usable[i]:
            minhash = LeanMinHash(seed=seed, hashvalues=row, scheme="affine32")
            lsh.insert(i, minhash, check_duplication=False)
    pairs: set[tuple[int, int]] = set()
    for table in lsh.hashtables:
        for key in table.keys():  # noqa: SIM118  (datasketch storage, not a dict)
            bucket = sorted(table.get(key))
            for x in range(len(bucket)):
                for y in range(x + 1, len(bucket)):
                    pairs.add((bucket[x], bucket[y]))
    return pairs


def anchor_pairs(sets: Ragged, every: int, min_shared: int, workers: int = 1) -> I64:
    """Pairs (codes i * n + j) of rows sharing at least `min_shared` anchors: the shingles whose
    hash is divisible by `every` (mod-p sampling, as in Broder's shingling). A shared passage of
    L words holds about (L - shingle_size + 1) / every anchors, so a quoted paragraph is found
    whatever the rest of the two articles is."""
    n = len(sets.offsets) - 1
    return shared_anchors(pick_anchors(sets, every), n, min_shared, workers)


@dataclass(frozen=True)
class Anchors:
    """The anchors of every row (`pick_anchors`): their hashes and owners (rows), in parts by
    the hashes' top ANCHOR_PART_BITS bits (part p is bounds[p] .. bounds[p + 1] - 1), so that an
    anchor's postings are all in one part and each part is grouped on its own (the working
    memory of grouping is a part's)."""

    hashes: U64
    owners: npt.NDArray[np.int32]
    bounds: I64


def pick_anchors(sets: Ragged, every: int) -> Anchors:
    """The anchors of `sets` at `every` (see `anchor_pairs`; `kernels.anchors_by_part`)."""
    from .kernels import anchors_by_part  # (numba: imported when there are sets)

    values, offsets = sets.values.astype(np.uint64, copy=False), sets.offsets
    if every <= 0:  # (anchors off: none)
        values, offsets, every = values[:0], offsets[:1], 1
    return Anchors(*anchors_by_part(values, offsets, every, ANCHOR_PART_BITS))


def shared_anchors(anchors: Anchors, n: int, min_shared: int, workers: int = 1) -> I64:
    """The pairs (codes) of the n rows that share at least `min_shared` of `anchors`. The pairs
    of each part of the anchors are found on up to `workers` threads, then counted by range
    (`counted_by_range`)."""
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    cuts = range_cuts(n)
    bounds = anchors.bounds.tolist()

    def part_pairs(part: int) -> list[I64]:
        """The pairs of a part, by range."""
        lo, hi = bounds[part], bounds[part + 1]
        return by_range(_posting_pairs(anchors.hashes[lo:hi], anchors.owners[lo:hi], n), cuts)

    parts = run_threads(part_pairs, len(bounds) - 1, workers)
    shared: I64 = counted_by_range(parts, np.int32, workers, min_shared)[0]
    return shared


def _posting_pairs(hashes: U64, owners: npt.NDArray[np.int32], n: int) -> Iterator[I64]:
    """The pairs (codes) of the owners of each anchor hash held by 2 to MAX_ANCHOR_POSTINGS
    articles, in chunks."""
    order = grouped_order(hashes)  # (any order within a posting list: its pairs are what counts)
    hashes = hashes[order]
    members = owners[order].astype(np.int64)
    del order, owners
    if not len(hashes):
        return
    bounds = np.flatnonzero(hashes[1:] != hashes[:-1]) + 1
    sizes = np.diff(np.concatenate(([0], bounds, [len(hashes)])))
    # (an anchor of one article proposes nothing; one of too many is a stock phrase)
    kept = np.repeat((sizes >= 2) & (sizes <= MAX_ANCHOR_POSTINGS), sizes)
    hashes, members = hashes[kept], members[kept]
    del kept
    same = hashes[1:] == hashes[:-1]
    del hashes
    yield from pair_chunks(members, same, n)


@dataclass(frozen=True)
class PairScores:
    """Exact scores of candidate pairs (arrays aligned with the pairs). The ratios are computed
    from the shared shingles and the articles' set `sizes` when asked for: a pair costs 33
    bytes, not 65, which at 15M candidate pairs is half a gigabyte less."""

    left: I64
    right: I64
    shared: npt.NDArray[np.int32]  # shingles in both (boilerplate excluded)
    cosine: npt.NDArray[np.float64]
    shared_terms: npt.NDArray[np.int32]
    exact: npt.NDArray[np.bool_]
    sizes: I64  # shingles (boilerplate excluded) of every article, by row

    def ratios(self, at: npt.NDArray[np.intp]) -> tuple[np.ndarray, ...]:
        """(jaccard, containment_ab, containment_ba) of the pairs at `at`, as arrays."""
        shared = self.shared[at].astype(np.int64)
        sa, sb = self.sizes[self.left[at]], self.sizes[self.right[at]]
        union = sa + sb - shared
        return (
            np.where(union > 0, shared / np.maximum(union, 1), 0.0),
            np.where(sa > 0, shared / np.maximum(sa, 1), 0.0),
            np.where(sb > 0, shared / np.maximum(sb, 1), 0.0),
        )

    def scores(self, at: npt.NDArray[np.intp]) -> list[Scores]:
        """The Scores of the pairs at `at`."""
        jaccard, cab, cba = self.ratios(at)
        columns = (jaccard, cab, cba, self.cosine[at], self.exact[at], self.shared_terms[at])
        return [Scores(*row) for row in zip(*(c.tolist() for c in columns), strict=True)]


class Analysis:
    """A corpus analysed at fixed fingerprint settings: fingerprints, boilerplate, MinHash
    signatures at both resolutions, TF-IDF rows; candidates, pair scores and passages are
    computed on first use and cached."""

    @gc_paused()
    def __init__(
        self,
        articles: Iterable[Article],
        settings: Settings,
        progress: Progress | None = None,
        workers: int | None = None,
        texts: Texts | None = None,
    ) -> None:
        self.settings = settings
        self.progress = progress or _no_progress
        self.workers = workers or default_workers()
        by_id: dict[str, Article] = {}
        for art in articles:
            if art.id in by_id:
                raise DedupError(f"duplicate article id {art.id!r}: ids must be unique")
            by_id[art.id] = art
        if texts is not None and len(texts) != len(by_id):
            raise DedupError(f"{len(texts)} texts for {len(by_id)} articles")
        self.articles = by_id
        ids = list(by_id)  # (in the order given, which `texts` follows)
        order = sorted(range(len(ids)), key=ids.__getitem__)
        self.ordered = [by_id[ids[k]] for k in order]
        del ids
        self.row = {a.id: i for i, a in enumerate(self.ordered)}
        #: The text of each row: the articles' own, or those of `texts`.
        self.texts: Sequence[str] = (
            [a.text for a in self.ordered] if texts is None else texts.take(order)
        )
        del order
        self._texts_of = _TextsOf(self.texts)
        n = len(self.ordered)

        self.vocab = Vocabulary()
        #: The words of each row's text, as fingerprinting found them (for the passage trace).
        self.text_words = WordStore()
        corpus = fingerprint_corpus(
            self.texts,
            settings,
            self.vocab,
            batch=FINGERPRINT_BLOCK,
            workers=self.workers,
            progress=lambda done: self.progress("fingerprint", done, n),
            meanwhile=lambda: _preload(settings),
            words=self.text_words,
        )
        self.words, self.digests = corpus.words, corpus.digests
        shingles, term_offsets = corpus.shingles, corpus.term_ids.offsets
        # (the terms wait, in a file when large, while the shingles are made sets)
        terms = set_aside([corpus.term_ids.values, corpus.term_counts], PARK_BYTES)
        del corpus  # (each part is let go once used: at 1M articles each is about 1 GB)
        release_memory()
        self.boilerplate: U64 = self._boilerplate(shingles)
        self._copy_sets: Ragged | None = _drop_values(shingles, self.boilerplate)  # (in place)
        self._anchors: Anchors | None = None  # (below)
        self._tfidf: sparse.csr_matrix | None = None  # (below)
        self._parked: dict[str, tuple[Parked, Callable[..., object]]] = {}  # (see `_park`)
        #: What was read back from its file (the file kept, and what was rebuilt from it).
        self._unparked: dict[str, tuple[Parked, Callable[..., object], object]] = {}
        shingles = self._copy_sets
        self._park("copy_sets")  # (until the anchors are shared: written while they are picked)
        # (the anchors at the analysis settings are picked now, while the sets are here)
        self._anchors = pick_anchors(shingles, settings.anchor_every)
        del shingles
        self._park("anchors")  # (until the story candidates are found)
        for parked, _ in self._parked.values():  # (the TF-IDF rows are made once they are gone:
            parked.wait()  # at 1M articles, the sets and the rows' temporaries would pass 3 GB)
        self._tfidf = self._tfidf_of(terms, term_offsets)
        del terms
        # topic words: content words but the corpus stop words (a passage must hold one)
        self.topic = self.vocab.content() & ~self.common
        self.fingerprinter = Fingerprinter(settings)
        common_words = frozenset(w for w, i in self.vocab.index.items() if self.common[i])
        self.verifier = Verifier(
            self.fingerprinter, _Texts(self.row, self._texts_of), self.boilerplate, common_words
        )
        self._candidates: dict[tuple[float, float, int, int], I64] = {}
        self._pair_scores: PairScores | None = None
        self.traced = Traced.empty()
        release_memory()  # (the fingerprints' pieces, freed on the heap: hundreds of MB at 1M)

    def _boilerplate(self, sets: Ragged) -> U64:
        """Shingles in at least `boilerplate_limit` of an outlet's sampled articles (the first
        BOILERPLATE_SAMPLE by id): footers, bylines, stock phrases, templates."""
        by_outlet: dict[str, list[int]] = {}
        for i, art in enumerate(self.ordered):
            rows = by_outlet.setdefault(art.outlet, [])
            if len(rows) < BOILERPLATE_SAMPLE:
                rows.append(i)
        samples = [
            (rows, need)
            for rows in by_outlet.values()
            if len(rows) >= (need := boilerplate_limit(len(rows), self.settings))
        ]

        def outlet(k: int) -> U64:  # (a sort of the outlet's shingles: on a thread each)
            rows, need = samples[k]
            values = np.concatenate([sets.row(i) for i in rows]).astype(np.uint64)
            uniq, counts = counted(values)
            found: U64 = uniq[counts >= need]
            return found

        found = list(run_threads(outlet, len(samples), self.workers))
        return distinct(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint64)

    def _tfidf_of(self, terms: Parked | Kept, offsets: I64) -> sparse.csr_matrix:
        """The TF-IDF rows of the terms of each article (`terms`: their ids and counts, each
        row from `offsets`; loaded here and used up) but the corpus stop words (`common`, set
        here), their columns ascending within each row."""
        from scipy import sparse

        n = len(self.ordered)
        values, term_counts = terms.load()
        term_ids = Ragged(values, offsets)
        df = np.zeros(len(self.vocab), dtype=np.int64)
        kept = np.empty(len(values), dtype=bool)
        # (a step at a time: numpy counts and looks up int32 ids as 64-bit copies of them all)
        for lo in range(0, len(values), CHUNK):
            df += np.bincount(values[lo : lo + CHUNK], minlength=len(df))
        self.common = df >= common_limit(n, self.settings)
        for lo in range(0, len(values), CHUNK):
            np.logical_not(self.common[values[lo : lo + CHUNK]], out=kept[lo : lo + CHUNK])
        columns, offsets = values[kept], _filtered_offsets(term_ids, kept)
        del values, term_ids  # (each array let go as soon as it is used: hundreds of MB at 1M)
        kept_counts = term_counts[kept]
        del term_counts, kept
        counts = kept_counts.astype(np.float64)  # (the matrix's own values, used up)
        del kept_counts
        m = tfidf(
            sparse.csr_matrix((counts, columns, offsets), shape=(n, len(self.vocab))),
            df,
            n,
            copy=False,
        )
        m.sort_indices()  # (already sorted, but `_row_cosine` relies on it)
        return m

    @property
    def copy_sets(self) -> Ragged:
        """The shingles of each article but its outlets' boilerplate (sorted hashes)."""
        self._unpark("copy_sets")
        if self._copy_sets is None:
            raise DedupError("the shingle sets were let go by report(last=True): analyse again")
        return self._copy_sets

    @property
    def anchors(self) -> Anchors:
        """The anchors of the shingle sets at the analysis's `anchor_every` (`pick_anchors`)."""
        self._unpark("anchors")
        if self._anchors is None:
            raise DedupError("the anchors were let go by report(last=True): analyse again")
        return self._anchors

    @property
    def tfidf(self) -> sparse.csr_matrix:
        """The TF-IDF row of each article (scikit-learn's weights, rows L2-normalised)."""
        self._unpark("tfidf")
        if self._tfidf is None:
            raise DedupError("the TF-IDF rows were let go by report(last=True): analyse again")
        return self._tfidf

    def set_sizes(self, resolution: str) -> I64:
        """The size of each article's set at `resolution` (see `signatures`)."""
        return self.copy_sets.lengths() if resolution == "copy" else np.diff(self.tfidf.indptr)

    def signatures(self, resolution: str, use: int | None = None, first: int = 0) -> U32:
        """MinHash signatures of every article: "copy" (shingles without boilerplate) or "story"
        (content words without corpus stop words, as 64-bit word hashes: the columns of its
        TF-IDF row, every one with a weight, counts and idf being positive), the `use` values of
        each from `first` (default: all). Not kept: 512 bytes an article at each resolution,
        needed only to band (a few bands at a time, for each LSH threshold asked for)."""
        s = self.settings
        if resolution == "copy":
            sets, hashes = self.copy_sets, None
        else:  # (the columns' hashes looked up a block at a time)
            m = self.tfidf
            sets, hashes = Ragged(m.indices, m.indptr.astype(np.int64)), self.vocab.hashes()
        return minhash_rows(
            sets, s.num_perm, s.seed, use, workers=self.workers, first=first, lookup=hashes
        )

    def candidate_codes(self, settings: Settings) -> I64:
        """Candidate pairs as codes i * n + j (i < j), sorted: proposed by either LSH resolution
        or by shared anchors. The story resolution first, then the copy resolution: each runs
        with what only the other uses in a temporary file (`_park`)."""
        s = settings
        key = (s.lsh_copy, s.lsh_story, s.anchor_every, s.min_anchors)
        if key not in self._candidates:
            found = [self._lsh_codes("story", s.lsh_story, STORY_NEIGHBOURS, STORY_BUCKET)]
            self._park("tfidf")  # (until the pairs are scored)
            found.append(self._shared_anchors(s))
            found.append(self._lsh_codes("copy", s.lsh_copy))
            self._candidates[key] = distinct(np.concatenate(found), runs=True)  # (each sorted)
            del found
            release_memory()
        return self._candidates[key]

    def _shared_anchors(self, settings: Settings) -> I64:
        """The pairs sharing `min_anchors` anchors at `settings` (`anchor_pairs`): from the
        anchors picked by the analysis when `anchor_every` is the analysis's, without the shingle
        sets."""
        n = len(self.ordered)
        every, least = settings.anchor_every, settings.min_anchors
        if every != self.settings.anchor_every:
            return anchor_pairs(self.copy_sets, every, least, self.workers)
        codes = shared_anchors(self.anchors, n, least, self.workers)
        self._park("anchors")
        return codes

    def _lsh_codes(
        self,
        resolution: str,
        threshold: float,
        neighbours: int | None = None,
        largest: int | None = None,
    ) -> I64:
        """The pairs (codes) whose signatures at `resolution` share a band at `threshold`, at
        most `largest` articles to a bucket, and among each article's `neighbours` nearest."""
        bands, rows = lsh_params(threshold, self.settings.num_perm)
        usable = self.set_sizes(resolution) > 0

        def sign(first: int, use: int) -> U32:
            return self.signatures(resolution, use, first)  # (the story sets not kept)

        codes, shared = band_counts(sign, bands, rows, usable, largest, self.workers)
        del usable
        if neighbours is not None:
            codes = nearest(codes, shared, len(self.ordered), neighbours, workers=self.workers)
        del shared
        release_memory()  # (the banding's temporaries, before the next stage's)
        return codes

    def _park(self, name: str) -> None:
        """Keep the shingle sets ("copy_sets"), the TF-IDF rows ("tfidf") or the anchors at the
        analysis settings ("anchors") in a temporary file until they are next used (`copy_sets`,
        `tfidf`, `_shared_anchors` read them back), when they are at least PARK_BYTES: the
        stages of one LSH resolution do not use what the other does, and at 1M articles the
        sets are a gigabyte, the rows half a gigabyte and the anchors a fifth of one. (What
        rebuilds each from its arrays holds no reference to the analysis: no cycle.)"""
        attribute = _PARKED_ATTRIBUTES[name]
        unparked = self._unparked.pop(name, None)
        if unparked is not None and getattr(self, attribute) is unparked[2]:
            # (read back from its file and not changed since: the file is kept, not written
            # again; at 1M articles the TF-IDF rows and anchors would be 800 MB to write)
            self._parked[name] = unparked[:2]
            del unparked
            setattr(self, attribute, None)
            release_memory()
            return
        del unparked
        anchors, sets, m = self._anchors, self._copy_sets, self._tfidf
        arrays: list[np.ndarray]
        rebuild: Callable[..., object]
        if name == "anchors" and anchors is not None:
            arrays, rebuild = [anchors.hashes, anchors.owners, anchors.bounds], Anchors
        elif name == "copy_sets" and sets is not None:
            arrays, rebuild = [sets.values], functools.partial(_ragged_of, sets.offsets)
        elif name == "tfidf" and m is not None:
            arrays, rebuild = [m.data, m.indices], functools.partial(_csr_of, m.indptr, m.shape)
        else:
            return
        del anchors, sets, m
        if sum(a.nbytes for a in arrays) < PARK_BYTES:
            return
        self._parked[name] = (Parked(arrays), rebuild)
        del arrays
        setattr(self, attribute, None)
        release_memory()

    def _let_go(self, *names: str) -> None:
        """Let these go for good (in memory or in their temporary files): no later stage
        needs them."""
        for name in names:
            setattr(self, _PARKED_ATTRIBUTES[name], None)
            self._parked.pop(name, None)
            self._unparked.pop(name, None)

    def _unpark(self, name: str) -> None:
        """Read `name` back from its temporary file if `_park` put it there."""
        parked = self._parked.pop(name, None)
        if parked is not None:
            arrays, rebuild = parked[0].load(keep=True), parked[1]
            rebuilt = rebuild(*arrays)
            setattr(self, _PARKED_ATTRIBUTES[name], rebuilt)
            self._unparked[name] = (parked[0], rebuild, rebuilt)

    def candidates(self, settings: Settings) -> list[tuple[int, int]]:
        """Candidate pairs of rows (i < j), sorted."""
        n = max(len(self.ordered), 1)
        codes = self.candidate_codes(settings)
        return list(zip((codes // n).tolist(), (codes % n).tolist(), strict=True))

    def score_pairs(self, left: I64, right: I64, last: bool = False) -> PairScores:
        """Exact scores of pairs of rows, SCORE_BLOCK pairs per block, on the threads: the
        shingles two sets share, then the TF-IDF cosine, each a merge of two sorted rows
        (`dedup.kernels`). `last`: nothing will be scored after, so the shingle sets are let go
        once counted, before the TF-IDF rows are read back (`_park`): at 1M articles, the two
        are a gigabyte and a half."""
        from . import kernels  # (numba: imported when there is scoring to do)

        chunk = SCORE_BLOCK
        blocks = (len(left) + chunk - 1) // chunk
        # (written in place by the blocks)
        shared = np.zeros(len(left), np.int32)
        cosine = np.zeros(len(left), np.float64)
        shared_terms = np.zeros(len(left), np.int32)

        def run(block_scores: Callable[[int], None], passed: int) -> None:
            for done, _ in enumerate(run_threads(block_scores, blocks, self.workers), start=1):
                self.progress("verify", passed + min(done * chunk, len(left)), 2 * len(left))

        sets = self.copy_sets
        values, offsets, sizes = (
            sets.values.astype(np.uint64, copy=False),
            sets.offsets,
            sets.lengths(),
        )
        del sets

        def shared_counts(b: int, values: U64 = values, offsets: I64 = offsets) -> None:
            at = slice(b * chunk, (b + 1) * chunk)
            kernels.shared_counts(values, offsets, left[at], right[at], shared[at])

        run(shared_counts, 0)
        del values, offsets, shared_counts
        if last:
            self._let_go("copy_sets")
            release_memory()
        m = self.tfidf  # (its rows' columns ascend: see __init__)
        longest = int(np.diff(m.indptr).max(initial=0))

        def cosines(b: int) -> None:
            at = slice(b * chunk, (b + 1) * chunk)
            kernels.dot_rows(
                m.indptr,
                m.indices,
                m.data,
                left[at],
                right[at],
                longest,
                cosine[at],
                shared_terms[at],
            )

        run(cosines, len(left))
        digests = self.digests
        exact = np.empty(len(left), dtype=bool)
        for lo in range(0, len(left), CHUNK):  # (not two digests of every pair at once)
            a, c = digests[left[lo : lo + CHUNK]], digests[right[lo : lo + CHUNK]]
            exact[lo : lo + CHUNK] = (a == c) & (a != 0)
        return PairScores(left, right, shared, cosine, shared_terms, exact, sizes)

    def _candidate_scores(self, settings: Settings, last: bool = False) -> tuple[I64, PairScores]:
        """Scores of the candidates at `settings`, from one cached computation over the union
        of every candidate set asked for so far (`last`: see `score_pairs`)."""
        codes = self.candidate_codes(settings)
        n = max(len(self.ordered), 1)
        known = self._pair_scores
        todo = (
            codes
            if known is None
            else np.setdiff1d(codes, known.left * n + known.right, assume_unique=True)
        )
        if len(todo):
            fresh = self.score_pairs(todo // n, todo % n, last)
            merged = fresh if known is None else _merge_scores(known, fresh, n)
            self._pair_scores = merged
        scores = self._pair_scores
        if scores is None:  # no candidates at all
            empty = np.zeros(0, dtype=np.int64)
            scores = self.score_pairs(empty, empty)
        if known is None:  # (the first candidates scored: they are all the pairs scored)
            return np.arange(len(codes)), scores
        all_codes = scores.left * n + scores.right
        return np.searchsorted(all_codes, codes), scores

    def _row_cosine(self) -> Callable[[int, int], float]:
        """The TF-IDF cosine of two rows, summed as the pairs' scores are (`score_pairs`): for
        many single pairs, with the matrix and the kernel looked up once."""
        from .kernels import row_dot

        m = self.tfidf  # (its rows' columns ascend: see __init__)
        indptr, indices, data = m.indptr, m.indices, m.data

        def cosine(i: int, j: int) -> float:
            return float(row_dot(indptr, indices, data, i, j))

        return cosine

    def trace(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Trace the shared runs of pairs of rows (i < j) not traced yet (see `_trace`)."""
        n = max(len(self.ordered), 1)
        self._trace(np.asarray([i * n + j for i, j in pairs], dtype=np.int64))

    def _trace(
        self,
        codes: I64,
        on_block: Callable[[Traced], object] | None = None,
        keep: bool = True,
    ) -> None:
        """Trace the shared runs of pairs (codes i * n + j) not traced yet, TRACE_BLOCK pairs at
        a time; pairs that share articles go in the same block, so most texts' words are read
        once. `on_block(traced)` is called with the runs of each block as it comes back, while
        the workers trace the next ones (the pairs of texts shorter than a shingle are not
        given to it). The runs are kept in `traced`, but for those given to `on_block` when not
        `keep` (at 1M articles, a table of 130 MB and three times that while it is sorted in)."""
        k = self.settings.shingle_size
        n = max(len(self.ordered), 1)
        codes = self.traced.missing(distinct(codes))
        if not len(codes):
            return
        left, right = codes // n, codes % n
        short = (self.words[left] < k) | (self.words[right] < k)
        if short.any():  # texts shorter than a shingle: traced pair by pair
            found = [
                passage_rows(self.verifier.runs(self.ordered[i].id, self.ordered[j].id))
                for i, j in zip(left[short].tolist(), right[short].tolist(), strict=True)
            ]
            pair = np.repeat(np.arange(len(found), dtype=np.int64), [len(f) for f in found])
            self.traced = self.traced.merged(codes[short], pair, concat(found, np.int64))
        codes, left, right = codes[~short], left[~short], right[~short]
        topic = self.topic
        order = np.lexsort((right, left, _components(left, right, len(self.ordered))[left]))
        blocks = [order[lo : lo + TRACE_BLOCK] for lo in range(0, len(order), TRACE_BLOCK)]

        def block_runs(b: int) -> tuple[I64, I64]:
            block = blocks[b]
            both = np.concatenate((left[block], right[block]))
            rows, local = np.unique(both, return_inverse=True)
            v = views(self.text_words.words(rows), self.vocab, self.boilerplate, topic, k)
            la, lb = local[: len(block)], local[len(block) :]
            runs = trace_runs(v, la, lb, k, k)
            return runs[0], run_table(v, la, lb, runs)

        from .kernels import shared_runs

        none = np.zeros(0, dtype=np.int64)  # (compiled here, not on each worker: see score_pairs)
        shared_runs(np.zeros(0, np.uint64), np.zeros(1, np.int64), np.zeros(0, bool), none, none)
        pairs_done, tables = [], []
        done = 0
        for block, (pair, table) in zip(
            blocks, run_blocks(block_runs, len(blocks), self.workers), strict=True
        ):
            if keep or on_block is None:
                pairs_done.append(block[pair])
                tables.append(table)
            if on_block is not None:
                on_block(Traced.empty().merged(codes[block], pair, table))
            done += len(block)
            self.progress("passages", done, len(order))
        if tables:
            runs, pairs = np.concatenate(tables), concat(pairs_done, np.int64)
            tables.clear()
            pairs_done.clear()
            self.traced = self.traced.merged(codes, pairs, runs)
            del runs, pairs
            release_memory()

    def judge_pairs(
        self,
        settings: Settings,
        where: npt.NDArray[np.intp],
        scores: PairScores,
        keep: bool = True,
    ) -> list[Match]:
        """The matches among pairs `where` of `scores` at `settings` (thresholds applied to the
        exact scores; passages traced only for pairs that are matches or could be by words),
        strongest first, as `group` takes them. `keep`: keep the runs traced for later reports
        (see `_trace`)."""
        return self._judge(settings, where, scores, keep)[0]

    def _judge(
        self,
        settings: Settings,
        where: npt.NDArray[np.intp],
        scores: PairScores,
        keep: bool = True,
    ) -> tuple[list[Match], I64, I64]:
        """`judge_pairs`, with the rows of each match's articles (a, then b)."""
        s = settings
        kinds, _, maybe = scored_kinds(scores, where, s, self.workers)
        judged = where[(kinds != _NO_KIND) | maybe]
        del kinds, maybe
        n = max(len(self.ordered), 1)
        codes = scores.left[judged] * n + scores.right[judged]  # (ascending, as `where`)
        # No shared shingle (boilerplate aside): no passage to trace.
        traceable = scores.shared[judged] > 0
        out: list[Match] = []
        made: list[npt.NDArray[np.intp]] = []  # (the pairs of `out`, in `scores`)
        kinds_made: list[npt.NDArray[np.int8]] = []
        done = np.zeros(len(judged), dtype=bool)

        def judge(at: npt.NDArray[np.intp], traced: Traced) -> None:
            """The matches among judged[at], their runs (if any) in `traced`."""
            done[at] = True
            found, pairs, kinds = self._matches(scores, judged[at], codes[at], traced, s)
            out.extend(found)
            made.append(pairs)
            kinds_made.append(kinds)

        # (each block of traced pairs is judged while the workers trace the next ones; then
        # the pairs whose runs were known, or that have none)
        self._trace(
            codes[traceable],
            on_block=lambda block: judge(np.searchsorted(codes, block.codes), block),
            keep=keep,
        )
        judge(np.flatnonzero(~done), self.traced)
        pairs = concat(made, np.intp)
        order = _strongest_first(scores, pairs, concat(kinds_made, np.int8))
        pairs = pairs[order]
        return [out[i] for i in order.tolist()], scores.left[pairs], scores.right[pairs]

    def _matches(
        self,
        scores: PairScores,
        pairs: npt.NDArray[np.intp],
        codes: I64,
        traced: Traced,
        settings: Settings,
    ) -> tuple[list[Match], npt.NDArray[np.intp], npt.NDArray[np.int8]]:
        """The matches at `settings` among `pairs` of `scores` (their `codes`; the runs of those
        that share a shingle are in `traced`), with their pairs in `scores` and their kinds."""
        s = settings
        m = s.min_passage_words
        has = scores.shared[pairs] > 0
        at = np.full(len(pairs), -1, dtype=np.intp)
        at[has] = traced.find(codes[has])
        shared_words = np.zeros(len(pairs), dtype=np.int64)
        shared_words[has] = traced.words_at_least(at[has], m)
        final = _kinds(scores, pairs, shared_words, s)
        found = np.flatnonzero(final != _NO_KIND)  # (the matches: a Python object each)
        jaccard, cab, cba = scores.ratios(pairs[found])
        cosine = scores.cosine[pairs[found]]
        out: list[Match] = []
        ordered = self.ordered
        for lo in range(0, len(found), JUDGE_BLOCK):  # (a Python object a value: in slices)
            part, cut = found[lo : lo + JUDGE_BLOCK], slice(lo, lo + JUDGE_BLOCK)
            rows = scores.left[pairs[part]].tolist()
            left = [ordered[i] for i in rows]
            passages = traced.passages(at[part], self._texts_of(rows), m)
            for a, j, kind, jac, ab, ba, cos, shared in zip(
                left,
                scores.right[pairs[part]].tolist(),
                final[part].tolist(),
                jaccard[cut].tolist(),
                cab[cut].tolist(),
                cba[cut].tolist(),
                cosine[cut].tolist(),
                passages,
                strict=True,
            ):
                out.append(make_match(a.id, ordered[j].id, KINDS[kind], jac, ab, ba, cos, shared))
        return out, pairs[found], final[found]

    @gc_paused()
    def measure(self, pairs: Sequence[tuple[int, int]]) -> list[Evidence]:
        """Scores and shared runs of pairs of rows (i < j); the runs are kept for later."""
        if not len(pairs):
            return []
        left = np.asarray([i for i, _ in pairs], dtype=np.int64)
        right = np.asarray([j for _, j in pairs], dtype=np.int64)
        scores = self.score_pairs(left, right)
        self.trace(pairs)
        at = self.traced.find(left * max(len(self.ordered), 1) + right)
        every = scores.scores(np.arange(len(pairs)))
        runs = self.traced.passages(at, self._texts_of([i for i, _ in pairs]))
        return [
            Evidence(self.ordered[i].id, self.ordered[j].id, every[p], runs[p])
            for p, (i, j) in enumerate(pairs)
        ]

    @gc_paused()
    def report(
        self,
        settings: Settings | None = None,
        *,
        skipped: Sequence[Skipped] = (),
        started: float | None = None,
        last: bool = False,
    ) -> Report:
        """The report at `settings` (default: the analysis settings); only the verification and
        LSH thresholds may differ from the analysis settings. `started` (a perf_counter value)
        turns on timing. `last`: no other report or measure follows, so what only those would
        need is let go as soon as this one is done with it: the shingle sets, candidates and
        scores once the candidates are scored, the runs traced as they become passages, the
        TF-IDF rows once the stories are grouped (at 1M articles, two gigabytes, while the
        matches and their passages are made)."""
        settings = settings or self.settings
        changed = [
            n for n in ANALYSIS_SETTINGS if getattr(settings, n) != getattr(self.settings, n)
        ]
        if changed:
            raise DedupError(f"{', '.join(changed)} differ from the analysis: analyse again")
        where, scores = self._candidate_scores(settings, last)
        candidate_pairs = len(where)
        if last:  # (what no other report needs: at 1M articles, a gigabyte and more)
            self._let_go("copy_sets", "anchors")  # (when nothing was scored, the sets are here)
            self._candidates.clear()
            self._pair_scores = None
            self._park("tfidf")  # (until the stories are grouped)
            release_memory()
        matches, left, right = self._judge(settings, where, scores, keep=not last)
        del where, scores
        release_memory()  # (the scores and the blocks' runs, freed on the heap)

        groups, inside = self._groups(left, right, settings.link_cosine)
        del left, right
        if last:
            self._let_go("tfidf")
        stories = build_stories(
            groups,
            [[matches[k] for k in part.tolist()] for part in inside],
            self.articles,
            _Words(self.row, self.words),
            _Texts(self.row, self._texts_of),
        )
        members = sorted({m.id for s in stories for m in s.members})
        stats = Stats(
            articles=len(self.ordered),
            skipped=len(skipped),
            candidate_pairs=candidate_pairs,
            matches=sum(len(s.matches) for s in stories),
            stories=len(stories),
            seconds=None if started is None else round(time.perf_counter() - started, 3),
        )
        return Report(
            settings=settings,
            stats=stats,
            skipped=tuple(sorted(skipped, key=lambda s: (s.path, s.reason))),
            stories=tuple(stories),
            articles=self._members(members),
        )

    def _groups(
        self, left: I64, right: I64, least: float
    ) -> tuple[list[list[str]], list[npt.NDArray[np.intp]]]:
        """`stories.group` of the matches between rows left[k] and right[k] (strongest first,
        as `_judge` gives them), two articles related when they are a match or their cosine is
        at least `least`: one pass over the rows (`kernels.linked_groups`; the TF-IDF rows read
        as a cosine is needed), the groups in the order `group` gives them; and the matches
        within each group (their indices), by their rows (so by ids: a, then b)."""
        from .kernels import linked_groups

        n = len(self.ordered)
        m = self.tfidf  # (its rows' columns ascend: see __init__)
        group_of, sizes = linked_groups(
            left, right, n, np.sort(left * n + right), m.indptr, m.indices, m.data, least,
            MAX_MERGE_PAIRS,
        )  # fmt: skip
        del m
        # (each row's group among those of two or more, numbered in order; -1 for none)
        label = np.full(n, -1, dtype=np.int64)
        placed = np.flatnonzero(group_of >= 0)
        label[placed] = np.where(sizes > 1, np.cumsum(sizes > 1) - 1, -1)[group_of[placed]]
        rows = np.flatnonzero(label >= 0)
        rows = rows[np.argsort(label[rows], kind="stable")]  # (each group's by row: by id)
        ordered = self.ordered
        ids = [ordered[r].id for r in rows.tolist()]
        cuts = [0, *np.cumsum(np.bincount(label[rows])).tolist()]
        groups = [ids[lo:hi] for lo, hi in itertools.pairwise(cuts)]
        if not groups:
            return [], []
        inside = np.flatnonzero((label[left] == label[right]) & (label[left] >= 0))
        inside = inside[np.lexsort((right[inside], left[inside], label[left[inside]]))]
        counts = np.bincount(label[left[inside]], minlength=len(groups))
        return groups, np.split(inside, np.cumsum(counts)[:-1])

    def _members(self, ids: list[str]) -> Mapping[str, Article]:
        """The articles of `ids` with their texts: when the texts are in a file, each is read
        back when a view asks for it (`_WithTexts`)."""
        articles = {i: self.articles[i] for i in ids}
        if isinstance(self.texts, list):
            return articles
        return _WithTexts(articles, _Texts({i: self.row[i] for i in ids}, self._texts_of))


def _strongest_first(
    scores: PairScores, pairs: npt.NDArray[np.intp], kinds: npt.NDArray[np.int8]
) -> npt.NDArray[np.intp]:
    """An order of the matches of `pairs` (of `scores`; `kinds`: theirs, as indices in KINDS)
    strongest first, as `group` takes them (`stories._strength`: kind, the larger containment,
    cosine, then the ids, whose order is the rows'), from one sort of arrays: at 680k matches,
    0.3 s against 2.2 s for a sort of the matches by their own keys."""
    _, cab, cba = scores.ratios(pairs)
    strength = (
        scores.right[pairs],
        scores.left[pairs],
        -scores.cosine[pairs],
        -np.maximum(cab, cba),
        kinds,
    )
    order: npt.NDArray[np.intp] = np.lexsort(strength)
    return order


def _kinds(
    scores: PairScores, pairs: npt.NDArray[np.intp], shared_words: I64, settings: Settings
) -> npt.NDArray[np.int8]:
    """The kind (index in KINDS, or _NO_KIND) of `pairs` of `scores` whose passages hold
    `shared_words` (`verify.classify_all`)."""
    jaccard, cab, cba = scores.ratios(pairs)
    return classify_all(
        scores.exact[pairs],
        jaccard,
        np.maximum(cab, cba),
        scores.cosine[pairs],
        scores.shared_terms[pairs],
        shared_words,
        settings,
    )


def scored_kinds(
    scores: PairScores, where: npt.NDArray[np.intp], settings: Settings, workers: int = 1
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """What the scores of pairs `where` say before any passage is traced: the kind each
    supports (as `_kinds` with no passage words), whether that is a copy kind, and whether a
    pair that is not a copy by its scores shares enough shingles (`passage_shingles_needed`)
    that its passages may still make it `partial` (those are traced to find out). The kinds
    of parts of the pairs on up to `workers` threads (numpy lets them run side by side: at 1M
    articles, ten million pairs and a second on one core)."""
    bounds = np.linspace(0, len(where), 2 * workers + 1).astype(np.int64).tolist()

    def part(p: int) -> npt.NDArray[np.int8]:
        at = where[bounds[p] : bounds[p + 1]]
        return _kinds(scores, at, np.zeros(len(at), dtype=np.int64), settings)

    kinds = np.concatenate(list(run_threads(part, len(bounds) - 1, workers)))
    copy = (kinds != _NO_KIND) & (kinds <= KINDS.index("partial"))
    maybe = ~copy & (scores.shared[where] >= passage_shingles_needed(settings))
    return kinds, copy, maybe


def _preload(settings: Settings) -> None:
    """Import and set up what the stages after fingerprinting use (datasketch's permutations
    and LSH parameters: a second of start-up), while the workers fingerprint."""
    permutations(settings.num_perm, settings.seed)
    for threshold in (settings.lsh_copy, settings.lsh_story):
        lsh_params(threshold, settings.num_perm)


class _TextsOf:
    """The texts of rows (a list of them for a list of rows). Texts read from a file are kept
    once read, so that the passages cut from a text and its article in the report share one
    string. (An object of its own, not a method of `Analysis`: the verifier holds it, and a
    bound method would tie the analysis to itself in a cycle that only the garbage collector,
    paused while a report is made, could free: a gigabyte at 1M articles.)"""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.kept: dict[int, str] = {}

    def __call__(self, rows: list[int]) -> list[str]:
        texts = self.texts
        if isinstance(texts, list):
            return [texts[r] for r in rows]
        kept = self.kept
        for r in rows:
            if r not in kept:
                kept[r] = texts[r]
        return [kept[r] for r in rows]


class _Texts(Mapping[str, str]):
    """The text of each article by id, read by row (`Analysis._texts_of`): no second dict of a
    million."""

    def __init__(self, row: Mapping[str, int], texts_of: Callable[[list[int]], list[str]]) -> None:
        self.row, self.texts_of = row, texts_of

    def __getitem__(self, article_id: str) -> str:
        return self.texts_of([self.row[article_id]])[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self.row)

    def __len__(self) -> int:
        return len(self.row)


class _WithTexts(Mapping[str, Article]):
    """Articles by id, each given its text (from `texts`) when asked for: `Report.articles`
    when the texts are in a file. Only the views that show texts ask (HTML), and at 1M
    articles, reading the texts of every member of a story takes seconds."""

    def __init__(self, articles: dict[str, Article], texts: Mapping[str, str]) -> None:
        self.articles, self.texts = articles, texts

    def __getitem__(self, article_id: str) -> Article:
        return with_text(self.articles[article_id], self.texts[article_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self.articles)

    def __len__(self) -> int:
        return len(self.articles)


class _Words(Mapping[str, int]):
    """The number of words of each article by id, read from the rows' array when asked for."""

    def __init__(self, row: Mapping[str, int], words: I64) -> None:
        self.row, self.words = row, words

    def __getitem__(self, article_id: str) -> int:
        return int(self.words[self.row[article_id]])

    def __iter__(self) -> Iterator[str]:
        return iter(self.row)

    def __len__(self) -> int:
        return len(self.row)


def _components(left: I64, right: I64, n: int) -> I64:
    """The connected component of each of n rows in the graph of pairs (left, right)."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    graph = sparse.coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    labels: I64 = connected_components(graph, directed=False)[1].astype(np.int64)
    return labels


def _ragged_of(offsets: I64, values: np.ndarray) -> Ragged:
    return Ragged(values, offsets)


def _csr_of(
    indptr: np.ndarray, shape: tuple[int, int], data: np.ndarray, indices: np.ndarray
) -> sparse.csr_matrix:
    """The CSR matrix of these arrays, whose columns ascend in each row (as `_row_cosine` needs)."""
    from scipy import sparse

    m = sparse.csr_matrix((data, indices, indptr), shape=shape)
    m.sort_indices()  # (sorted already: this only notes it)
    return m


def _filtered_offsets(rows: Ragged, keep: npt.NDArray[np.bool_]) -> I64:
    """Offsets of `rows` after dropping the values where `keep` is False (CHUNK values at a
    time: the positions dropped are tens of millions at 1M articles)."""
    n = len(rows.offsets) - 1
    dropped = np.zeros(n, dtype=np.int64)
    for lo in range(0, len(keep), CHUNK):
        at = np.flatnonzero(~keep[lo : lo + CHUNK]) + lo
        dropped += np.bincount(np.searchsorted(rows.offsets, at, side="right") - 1, minlength=n)
    offsets = rows.offsets.copy()
    offsets[1:] -= np.cumsum(dropped)
    return offsets


def _drop_values(rows: Ragged, drop: U64) -> Ragged:
    """Rows without the values in `drop` (sorted), moved down in `rows`' own array, which is
    overwritten (the caller lets `rows` go: a second array of every shingle would be another
    gigabyte at 1M articles; `kernels.drop_in_rows`)."""
    if not len(drop):
        return rows
    from .kernels import drop_in_rows  # (numba: imported when there is something to drop)

    values = rows.values.astype(np.uint64, copy=False)
    drop = drop.astype(np.uint64, copy=False)
    offsets = drop_in_rows(values, rows.offsets, drop, bitmap_bits(len(drop)))
    return Ragged(values[: offsets[-1]], offsets)


def _merge_scores(a: PairScores, b: PairScores, n: int) -> PairScores:
    order = np.argsort(np.concatenate((a.left * n + a.right, b.left * n + b.right)), kind="stable")

    def cat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.concatenate((x, y))[order]

    fields = [f for f in PairScores.__dataclass_fields__ if f != "sizes"]
    return PairScores(**{f: cat(getattr(a, f), getattr(b, f)) for f in fields}, sizes=a.sizes)


def analyse(
    articles: Iterable[Article],
    settings: Settings | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    texts: Texts | None = None,
) -> Analysis:
    """Fingerprint and index `articles` once; see `Analysis.report`. `workers`: processes or
    threads for the work that splits into blocks (default: every core this process may use);
    the results do not depend on it. `texts`: the articles' texts in the order of `articles`,
    kept in a file (`read_articles(spill=True)`); the articles' own `text` is then not read."""
    return Analysis(articles, settings or Settings(), progress, workers, texts)


@gc_paused()
def detect(
    articles: Iterable[Article],
    settings: Settings | None = None,
    *,
    skipped: Sequence[Skipped] = (),
    progress: Progress | None = None,
    timing: bool = True,
    workers: int | None = None,
    texts: Texts | None = None,
) -> Report:
    """Find the stories in `articles`: verified matches grouped without chaining, each with its
    original. `skipped` (inputs that could not be read) is carried into the report. The result
    does not depend on the order of `articles`, nor on `workers`, nor on where the texts are
    (`texts`: as in `analyse`)."""
    started = time.perf_counter()
    analysis = analyse(articles, settings, progress, workers, texts)
    return analysis.report(skipped=skipped, started=started if timing else None, last=True)
