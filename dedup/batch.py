"""Columnar fingerprints of a whole corpus, computed in bulk with numpy.

The same values as `Fingerprinter.fingerprint` gives one article at a time (a test holds them
equal), laid out as flat arrays: what the batch detector needs for millions of articles without a
Python object per shingle. Each article is tokenised once; shingles, content words and the digest
come from the same word ids.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import xxhash

from .arrays import grouped_order, sort_ints
from .fingerprint import SIGN_VALUES, U32, U64, permutations, shingle_hashes
from .models import Settings
from .parallel import release_memory, run_blocks, run_threads
from .text import (
    compile_tokenizer,
    is_content_word,
    paragraph_breaks,
    stop_words,
    tokenize_block,
)
from .wordstore import WordStore

I64 = npt.NDArray[np.int64]
Ints = TypeVar("Ints", npt.NDArray[np.int64], npt.NDArray[np.uint64])

#: Ranges of pair codes counted one at a time (`counted_by_range`: banding and anchors bound
#: their working memory so; fewer than 256).
COUNT_RANGES = 8

#: Values handled at once where a whole-corpus array would need temporaries of its size.
CHUNK = 1 << 22

#: Bytes of parts joined (`_joined`) between two hand-backs of the heap's free memory.
JOIN_TRIM = 1 << 26

#: Signature values of each row in memory at once while banding (whole bands: `band_counts`).
BAND_COLUMNS = 32


class Vocabulary:
    """Word -> id, with each word's 64-bit hash (the one `Fingerprinter` uses) and whether it is a
    content word. Owned by one corpus analysis."""

    def __init__(self, stop: frozenset[str] | None = None) -> None:
        self.index: dict[str, int] = {}
        self._hashes = array("Q")
        self._content = bytearray()
        self.stop = stop if stop is not None else stop_words()
        #: A table of the word hashes (`kernels.hashed_ids`), made by the first `hashed_ids`.
        self._slots: I64 | None = None
        self._bits = 0

    def __len__(self) -> int:
        return len(self.index)

    def extend(self, new: Sequence[str], hashes: U64 | None = None) -> None:
        """Add words that are not in the vocabulary yet (distinct), in order; `hashes`: theirs,
        when the caller has them."""
        start = len(self.index)
        self.index.update(zip(new, range(start, start + len(new)), strict=True))
        if hashes is None:
            self._hashes.extend([xxhash.xxh3_64_intdigest(w.encode("utf-8")) for w in new])
        else:
            self._hashes.frombytes(hashes.astype(np.uint64).tobytes())
        stop = self.stop
        self._content.extend([is_content_word(w, stop) for w in new])
        if self._slots is not None:
            self._place(start)

    def hashed_ids(self, words: Sequence[str], hashes: U64) -> I64:
        """`ids` of distinct `words`, given their hashes: each looked up by its hash in a
        compiled table, and only the new words' strings used (at 1M articles, ten million
        look-ups of a block's words: a dict of strings takes seconds). Words of one 64-bit hash
        are one word here, as they are in the shingles."""
        from .kernels import hashed_ids  # (numba: imported when a corpus is fingerprinted)

        if self._slots is None:
            self._place(0)
        assert self._slots is not None
        found = hashed_ids(self._slots, self._bits, self.hashes(), hashes)
        new = np.flatnonzero(found < 0)
        if len(new):
            start = len(self.index)
            self.extend([words[i] for i in new.tolist()], hashes[new])
            found[new] = np.arange(start, start + len(new))
        return found

    def _place(self, first: int) -> None:
        """Place the words from id `first` on in the table of hashes, grown (every word placed
        again) to stay at most half full."""
        from .kernels import place_ids

        size = len(self._hashes)
        if self._slots is None or 2 * size > len(self._slots):
            self._bits = max(16, (2 * size).bit_length())
            self._slots = np.full(1 << self._bits, -1, dtype=np.int64)
            first = 0
        place_ids(self._slots, self._bits, self.hashes(), first)

    def ids(self, words: Sequence[str]) -> I64:
        """The id of each of `words`, new words added (in order of first use). One look-up a
        word (-1 for a new one); only the new words are looked up again once added."""
        index = self.index
        found = np.fromiter(
            map(index.get, words, itertools.repeat(-1)), dtype=np.int64, count=len(words)
        )
        new = np.flatnonzero(found < 0).tolist()
        if new:
            self.extend(list(dict.fromkeys(words[i] for i in new)))
            found[new] = [index[words[i]] for i in new]
        return found

    def hashes(self) -> U64:
        return np.frombuffer(self._hashes, dtype=np.uint64)

    def content(self) -> npt.NDArray[np.bool_]:
        return np.frombuffer(self._content, dtype=np.bool_)

    def words(self) -> list[str]:
        """Words by id."""
        return list(self.index)


@dataclass(frozen=True)
class Ragged:
    """Rows of different lengths: row i is values[offsets[i]:offsets[i + 1]]."""

    values: npt.NDArray[np.generic]
    offsets: I64

    def row(self, i: int) -> npt.NDArray[np.generic]:
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> I64:
        return np.diff(self.offsets)

    @property
    def row_ids(self) -> I64:
        return np.repeat(np.arange(len(self.offsets) - 1), self.lengths())


@dataclass(frozen=True)
class CorpusFingerprints:
    """Fingerprints of n articles, as arrays.

    words: number of normalised words per article; digests: hash of each whole normalised text
    (0 when empty); shingles: sorted distinct shingle hashes per article; term_ids, term_counts:
    the content words (vocabulary ids, ascending, 32-bit) and their counts per article.
    """

    words: I64
    digests: U64
    shingles: Ragged
    term_ids: Ragged
    term_counts: npt.NDArray[np.int32]


def ragged_arange(starts: I64, lengths: I64) -> tuple[I64, I64]:
    """The ranges starts[r] .. starts[r] + lengths[r] - 1 one after another, and the r each value
    belongs to."""
    lengths = np.asarray(lengths, dtype=np.int64)
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    first = np.cumsum(lengths) - lengths
    values = np.arange(len(owner), dtype=np.int64) - first[owner] + np.asarray(starts)[owner]
    return values, owner


def sorted_by(major: I64, minor: npt.NDArray[np.generic]) -> I64:
    """An order of the elements by `major`, then `minor`, as `np.lexsort((minor, major))` but
    with elements equal on both keys in any order: a sort of `minor`, then a stable sort of
    `major` (a radix sort where it fits 16 bits), several times faster than lexsort."""
    by_minor = np.argsort(minor)
    major = major[by_minor]
    if len(major) and major.min() >= 0 and major.max() < 1 << 16:
        major = major.astype(np.uint16)
    order: I64 = by_minor[np.argsort(major, kind="stable")]
    return order


def slice_bounds(ends: I64, size: int) -> list[int]:
    """Bounds 0 = b0 < b1 < ... < len(ends) of slices of consecutive items whose sizes end at
    `ends` (cumulative, increasing), cut at multiples of `size`: each slice holds its first item
    and fewer than `size` values more."""
    if not len(ends):
        return [0]
    cuts = np.searchsorted(ends, np.arange(size, int(ends[-1]), size), side="right")
    bounds: list[int] = np.unique(np.concatenate(([0], cuts, [len(ends)]))).tolist()
    return bounds


def concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


@dataclass(frozen=True)
class _Block:
    """Fingerprints of a block of texts with word ids of the block's own vocabulary (`words`,
    in order of first use), to be renumbered by the corpus vocabulary."""

    words: list[str]
    counts: I64
    digests: U64
    shingles: U64
    shingle_counts: I64
    term_ids: npt.NDArray[np.int32]
    term_counts: npt.NDArray[np.int32]
    term_lengths: I64
    hashes: U64  # (of `words`)
    words_at: int  # (where the block's words went in the `WordStore`; -1: none)


def _fingerprint_block(
    texts: Sequence[str], k: int, stop: frozenset[str], store: WordStore | None
) -> _Block:
    tokens = tokenize_block(texts)
    words_at = -1 if store is None else store.put(tokens, paragraph_breaks(texts, tokens))
    local = Vocabulary(stop)
    local.extend(tokens.words)  # (numbered as in `tokens`: in order of first use)
    flat, counts = tokens.ids, np.diff(tokens.offsets)
    shingles, shingle_counts = _batch_shingles(flat, counts, local.hashes(), k)
    term_ids, term_counts, term_lengths = _batch_terms(flat, counts, local.content())
    return _Block(
        tokens.words,
        counts,
        tokens.digests,
        shingles,
        shingle_counts,
        term_ids,
        term_counts,
        term_lengths,
        local.hashes(),
        words_at,
    )


def fingerprint_corpus(
    texts: Sequence[str],
    settings: Settings,
    vocab: Vocabulary,
    batch: int = 4096,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    meanwhile: Callable[[], object] | None = None,
    words: WordStore | None = None,
) -> CorpusFingerprints:
    """Fingerprint every text, `batch` texts per vectorised step, on up to `workers` processes.
    Each block numbers its words itself; they are renumbered here in block order, so `vocab`
    grows exactly as if one process had read the texts in order. `progress(done)` is called as
    texts are done; `meanwhile()` while the workers are at work (see `run_blocks`). The words
    of the texts are kept in `words` (if given: then sealed) for the passage trace."""
    k = settings.shingle_size
    blocks = (len(texts) + batch - 1) // batch

    def task(b: int) -> _Block:
        return _fingerprint_block(texts[b * batch : (b + 1) * batch], k, vocab.stop, words)

    from .kernels import renumbered_in_rows  # (numba: imported when there are texts)

    # (each block's pieces are copied into the whole as they come, and let go: the pieces and
    # the whole are never all in memory, and no join is left for the end; at 1M articles the
    # shingles alone are a gigabyte)
    fields = {
        name: _Filling(dtype, len(texts))
        for name, dtype in (
            ("counts", np.int64),
            ("digests", np.uint64),
            ("shingles", np.uint64),
            ("shingle_counts", np.int64),
            ("term_ids", np.int32),  # (32-bit: half the memory)
            ("term_lengths", np.int64),
            ("term_counts", np.int32),
        )
    }
    if blocks > 1 and workers > 1:
        compile_tokenizer()  # (here, not on each worker)
        _batch_terms(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.bool_))
    for part in run_blocks(task, blocks, workers, meanwhile):
        corpus_ids = vocab.hashed_ids(part.words, part.hashes)
        if words is not None:
            words.add(part.words_at, part.counts, corpus_ids)
        ids, counts = renumbered_in_rows(
            part.term_lengths, part.term_ids, part.term_counts, corpus_ids
        )
        for name, value in (
            ("counts", part.counts),
            ("digests", part.digests),
            ("shingles", part.shingles),
            ("shingle_counts", part.shingle_counts),
            ("term_ids", ids),
            ("term_lengths", part.term_lengths),
            ("term_counts", counts),
        ):
            fields[name].add(value, len(part.counts))
        del part, ids, counts, corpus_ids
        done = fields["counts"].size
        if progress is not None:
            progress(done)
    if words is not None:
        words.seal()

    def ragged(values: str, lengths: str) -> Ragged:
        sizes = fields[lengths].whole()
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return Ragged(fields[values].whole(), offsets)

    return CorpusFingerprints(
        words=fields["counts"].whole(),
        digests=fields["digests"].whole(),
        shingles=ragged("shingles", "shingle_counts"),
        term_ids=ragged("term_ids", "term_lengths"),
        term_counts=fields["term_counts"].whole(),
    )


class _Filling:
    """An array filled a block's piece at a time, for n texts in all. Its room is guessed from
    the first pieces (a quarter more than their size a text, for every text) and grown by half
    when it is full; the room never filled is never touched, so it takes no memory."""

    def __init__(self, dtype: type, n: int) -> None:
        self.array: np.ndarray = np.empty(0, dtype=dtype)
        self.size, self.texts, self.n = 0, 0, n

    def add(self, piece: np.ndarray, texts: int) -> None:
        end = self.size + len(piece)
        self.texts += texts
        if end > len(self.array):
            guess = -(-end * self.n // max(self.texts, 1)) * 5 // 4
            grown = np.empty(max(guess, len(self.array) * 3 // 2, end), dtype=self.array.dtype)
            grown[: self.size] = self.array[: self.size]
            self.array = grown
        self.array[self.size : end] = piece
        self.size = end

    def whole(self) -> np.ndarray:
        return self.array[: self.size]


def _batch_shingles(flat: I64, lengths: I64, hashes: U64, k: int) -> tuple[U64, I64]:
    """Sorted distinct shingle hashes of each document of a batch (flat word ids). The shingles
    of all the documents are hashed at once; each document's are then sorted on their own
    (a sort of values, several times faster than ordering the whole batch by document)."""
    word_hashes = hashes[flat]
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    acc = shingle_hashes(word_hashes, k)  # across document ends too: those are left out
    sizes = np.where(lengths >= k, lengths - k + 1, np.minimum(lengths, 1))
    ends = np.cumsum(sizes)
    values = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint64)
    for start, length, end, size in zip(
        starts.tolist(), lengths.tolist(), ends.tolist(), sizes.tolist(), strict=True
    ):
        if length >= k:
            values[end - size : end] = np.sort(acc[start : start + size])
        elif length:  # a text shorter than a shingle: one shingle of all its words
            values[end - 1] = shingle_hashes(word_hashes[start : start + length], k)[0]
    new = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=new[1:])
    new[ends[:-1][sizes[1:] > 0]] = True  # (each document's first shingle)
    owners = np.repeat(np.arange(len(lengths), dtype=np.int64), sizes)
    return values[new], np.bincount(owners[new], minlength=len(lengths)).astype(np.int64)


def _batch_terms(
    flat: I64, lengths: I64, content: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], I64]:
    """Content-word ids (in order of first use within each document: `fingerprint_corpus`
    orders them by their corpus ids), their counts, and how many each document has, for a
    batch of documents (`kernels.term_counts`: one pass, no sort)."""
    from .kernels import term_counts  # (numba: imported when a block is fingerprinted)

    return term_counts(flat, lengths, content)


def minhash_rows(
    sets: Ragged,
    num_perm: int,
    seed: int,
    use: int | None = None,
    workers: int = 1,
    first: int = 0,
    lookup: U64 | None = None,
) -> U32:
    """MinHash signatures (datasketch `affine32`, see `fingerprint.signatures`) of every row, for
    the `use` permutations from `first` only (default: all; `kernels.min_hashes`, compiled).
    Rows go in blocks of about SIGN_VALUES values, on up to `workers` threads. With `lookup`,
    the values of `sets` are indices into it (the sets are lookup[values]), looked up a block at
    a time by the blocks: the sets of hashes are never made whole."""
    a, b = permutations(num_perm, seed)
    use = num_perm - first if use is None else use
    n = len(sets.offsets) - 1
    out: U32 = np.empty((n, use), np.uint32)  # (each block writes its rows in place)
    lengths = sets.lengths()
    out[lengths == 0] = 0xFFFFFFFF  # (an empty set's, as datasketch's)
    nonempty = np.flatnonzero(lengths)
    if not len(nonempty):
        return out
    from .kernels import min_hashes  # (numba: imported when there are sets to sign)

    starts = sets.offsets[:-1][nonempty]  # (the values of the rows with values: contiguous)
    ends = sets.offsets[1:][nonempty]
    bounds = slice_bounds(ends, SIGN_VALUES)
    values: np.ndarray = (
        sets.values if lookup is not None else sets.values.astype(np.uint64, copy=False)
    )
    a, b = a[first : first + use].copy(), b[first : first + use].copy()

    def block(r: int) -> None:
        lo, hi = bounds[r], bounds[r + 1]
        start, stop = int(starts[lo]), int(ends[hi - 1])
        part: U64 = values[start:stop] if lookup is None else lookup[values[start:stop]]
        min_hashes(part, starts[lo:hi] - start, a, b, out, nonempty[lo:hi])

    for _ in run_threads(block, len(bounds) - 1, workers):
        pass
    return out


def band_pairs(
    sigs: U32,
    bands: int,
    rows: int,
    usable: npt.NDArray[np.bool_],
    neighbours: int | None = None,
    largest: int | None = None,
) -> I64:
    """Candidate pairs as codes i * n + j (i < j): rows whose signatures agree on every value of
    some band. The banding of datasketch's MinHashLSH (band t = values t*r .. t*r + r - 1), done
    for the whole corpus at once. With `largest`, a bucket of more rows than that proposes no
    pairs; with `neighbours`, a pair is kept only if it is among the `neighbours` pairs of i or
    of j that share the most bands (see `nearest`)."""
    codes, shared = band_counts(
        lambda first, use: sigs[:, first : first + use], bands, rows, usable, largest
    )
    return codes if neighbours is None else nearest(codes, shared, len(sigs), neighbours)


def band_counts(
    sign: Callable[[int, int], U32],
    bands: int,
    rows: int,
    usable: npt.NDArray[np.bool_],
    largest: int | None = None,
    workers: int = 1,
) -> tuple[I64, npt.NDArray[np.integer]]:
    """The pairs of `band_pairs` (without `neighbours`) and the bands each shares (uint8 for up
    to 255 bands): `nearest` ranks by them. `sign(first, use)` gives the signature values
    first .. first + use - 1 of every row: they are asked for BAND_COLUMNS at a time (whole
    bands), so that only those are in memory (at 1M articles all of them would be 450 MB). The
    bands are bucketed on up to `workers` threads."""
    n = len(usable)
    idx = np.flatnonzero(usable)
    cuts = range_cuts(n)
    step = max(1, BAND_COLUMNS // rows)  # (bands a group)

    def banded() -> Iterator[list[I64]]:
        for lo in range(0, bands, step):
            group = min(step, bands - lo)
            sigs = sign(lo * rows, group * rows)

            def band(t: int, sigs: U32 = sigs) -> list[I64]:
                keys = band_keys(sigs[idx, t * rows : (t + 1) * rows])
                order = grouped_order(keys)  # (any order within a bucket: its pairs count)
                sorted_keys = keys[order]
                members = idx[order]
                same = sorted_keys[1:] == sorted_keys[:-1]
                return by_range(pair_chunks(members, same, n, largest), cuts)

            yield from run_threads(band, group, workers)
            del sigs, band

    # (each range's pairs let go as soon as it is counted)
    found = counted_by_range(banded(), np.min_scalar_type(bands), workers)
    release_memory()  # (the buckets' pairs, freed on the heap: hundreds of MB at 1M articles)
    return found


def range_cuts(n: int) -> I64:
    """The first code of each of the COUNT_RANGES ranges of pair codes of n rows but the first."""
    cuts: I64 = np.linspace(0, n, COUNT_RANGES + 1).astype(np.int64)[1:-1] * n
    return cuts


def by_range(chunks: Iterable[I64], cuts: I64) -> list[I64]:
    """The codes of `chunks` in the COUNT_RANGES ranges that `cuts` (`range_cuts`) bound, each
    range's codes as one array."""
    pieces: list[list[I64]] = [[] for _ in range(len(cuts) + 1)]
    for codes in chunks:
        part = np.searchsorted(cuts, codes, side="right").astype(np.uint8)  # (a radix sort)
        by_part = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[by_part], np.arange(len(pieces) + 1))
        codes = codes[by_part]
        for r, piece in enumerate(pieces):
            piece.append(codes[bounds[r] : bounds[r + 1]].copy())
        del codes, part, by_part
    return [concat(piece, np.int64) for piece in pieces]


def counted_by_range(
    parts: Iterable[list[I64]],
    count_dtype: np.dtype | type,
    workers: int = 1,
    least: int = 1,
) -> tuple[I64, npt.NDArray[np.integer]]:
    """`counted` of the pair codes of all `parts` together (each a list of the codes in each of
    the COUNT_RANGES ranges, as `by_range` gives), with the counts as `count_dtype`, only those
    counted at least `least` times. Each range is counted on its own, on up to `workers`
    threads: the working memory of counting is a range's, not every pair's."""
    pieces: list[list[I64]] = [[] for _ in range(COUNT_RANGES)]
    for part in parts:
        for r, codes in enumerate(part):
            pieces[r].append(codes)

    def count(r: int) -> tuple[I64, npt.NDArray[np.integer]]:
        distinct, counts = counted(concat(pieces[r], np.int64))
        if least > 1:
            enough = counts >= least
            distinct, counts = distinct[enough], counts[enough]
        return distinct, counts.astype(count_dtype)

    uniq_parts: list[np.ndarray] = []
    count_parts: list[np.ndarray] = []
    for r, (distinct, counts) in enumerate(run_threads(count, COUNT_RANGES, workers)):
        pieces[r] = []  # (counted: let go)
        release_memory()  # (its pieces are many small arrays, freed on the heap)
        uniq_parts.append(distinct)
        count_parts.append(counts)
        del distinct, counts
    uniq = _joined(uniq_parts, np.int64)
    shared = _joined(count_parts, count_dtype)  # (and the sorts' memory handed back)
    return uniq, shared


def _joined(parts: list[np.ndarray], dtype: np.dtype | type) -> np.ndarray:
    """The parts one after another, each let go once copied (the list is emptied; the heap's
    free memory is handed back every JOIN_TRIM bytes copied): the parts and the whole are never
    all in memory."""
    out = np.empty(sum(len(p) for p in parts), dtype=dtype)
    at = untrimmed = 0
    parts.reverse()
    while parts:
        part = parts.pop()
        out[at : at + len(part)] = part
        at += len(part)
        untrimmed += part.nbytes
        del part
        if untrimmed >= JOIN_TRIM or not parts:
            release_memory()
            untrimmed = 0
    return out


def counted(values: Ints) -> tuple[Ints, I64]:
    """The distinct values (ascending) and how often each occurs: `np.unique(values,
    return_counts=True)` without its copy of `values`, which is sorted in place."""
    sort_ints(values)
    first = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    del first
    distinct = values[starts]
    counts: I64 = starts  # (each count in its start's place)
    counts[:-1] = np.diff(starts)
    if len(counts):
        counts[-1] = len(values) - starts[-1]
    return distinct, counts


def nearest(
    codes: I64,
    score: npt.NDArray[np.integer],
    n: int,
    k: int,
    entries: int = CHUNK,
    workers: int = 1,
) -> I64:
    """The pairs (sorted codes i * n + j) that are among the `k` best-scored pairs of i or of j
    (ties: the smaller code first). Low LSH thresholds propose pairs at a rate that grows with
    the square of the corpus (every article of a templated series pairs with every other);
    keeping each article's k best keeps the candidates linear in the corpus. Articles are
    ranked a range at a time, of about `entries` pairs (bounding the working memory), the
    ranges on up to `workers` threads."""
    if not len(codes):
        return codes
    top = int(score.max()) + 1
    right = np.empty(len(codes), dtype=np.int32 if n < 1 << 31 else np.int64)
    for lo in range(0, len(codes), entries):  # (not a 64-bit temporary of every pair)
        np.remainder(codes[lo : lo + entries], n, out=right[lo : lo + entries], casting="unsafe")
    spans = max(-(-2 * len(codes) // entries), workers)  # (a range a worker at least)
    bounds = np.linspace(0, n, spans + 1).astype(np.int64).tolist()

    def best(span: int) -> I64:
        """The pairs among the k best of an article in the span's range."""
        lo, hi = bounds[span], bounds[span + 1]
        # Each pair of an article in lo..hi-1 once as (j, pair), then once as (i, pair): for any
        # article, its entries then come in order of code (i * n + j with i < j: the pairs
        # where it is j have the smaller codes), so sorting by article, score and position
        # ranks ties by code.
        as_right = np.flatnonzero((right >= lo) & (right < hi))
        first, last = np.searchsorted(codes, (lo * n, hi * n)).tolist()
        pair = np.concatenate((as_right, np.arange(first, last, dtype=np.int64)))
        if not len(pair):
            return pair
        article = np.concatenate((right[as_right], codes[first:last] // n))
        key = article * top + (top - 1 - score[pair].astype(np.int64))
        if int(key.max()) < (1 << 62) // len(key):  # (position in the key: a sort of values)
            key *= len(key)
            key += np.arange(len(key), dtype=np.int64)
            sort_ints(key)
            order = key % len(key)
        else:
            order = np.argsort(key, kind="stable")
        del key
        article = article[order]
        rank = np.arange(len(order))  # (less the position where the article's entries begin)
        starts = np.ones(len(order), dtype=bool)
        np.not_equal(article[1:], article[:-1], out=starts[1:])
        rank -= np.maximum.accumulate(np.where(starts, rank, 0))
        kept: I64 = pair[order[rank < k]]
        return kept

    keep = np.zeros(len(codes), dtype=bool)
    for kept in run_threads(best, spans, workers):
        keep[kept] = True
    found: I64 = codes[keep]
    return found


def band_keys(band: U32) -> U64:
    """One 64-bit key per row for the values of a band (equal values, equal keys; different
    values collide with probability 2**-64)."""
    key = np.zeros(len(band), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(band.shape[1]):
            key = (key ^ band[:, c].astype(np.uint64)) * np.uint64(0x100000001B3)
            key ^= key >> np.uint64(29)
    return key


def group_pairs(
    members: I64, same: npt.NDArray[np.bool_], n: int, largest: int | None = None
) -> I64:
    """All pairs within runs of equal keys (same[i]: element i + 1 equals element i), as codes
    i * n + j with i < j; runs longer than `largest` give none. The runs are paired about CHUNK
    pairs at a time, into one array: the working memory is the pairs, not six times them."""
    runs = _runs(members, same, largest)
    if runs is None:
        return np.zeros(0, dtype=np.int64)
    starts, sizes, ends = runs
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    for lo, hi in itertools.pairwise(slice_bounds(ends, CHUNK)):
        first = int(ends[lo - 1]) if lo else 0
        out[first : int(ends[hi - 1])] = _run_pairs(members, starts[lo:hi], sizes[lo:hi], n)
    return out


def pair_chunks(
    members: I64, same: npt.NDArray[np.bool_], n: int, largest: int | None = None
) -> Iterator[I64]:
    """The pairs of `group_pairs`, in arrays of about CHUNK pairs."""
    runs = _runs(members, same, largest)
    if runs is None:
        return
    starts, sizes, ends = runs
    for lo, hi in itertools.pairwise(slice_bounds(ends, CHUNK)):
        yield _run_pairs(members, starts[lo:hi], sizes[lo:hi], n)


def _runs(
    members: I64, same: npt.NDArray[np.bool_], largest: int | None
) -> tuple[I64, I64, I64] | None:
    """The runs of two or more (at most `largest`) equal keys: start, size, and where the pairs
    of each end in the pairs of all (None when there are none)."""
    if not same.any():
        return None
    boundaries = np.flatnonzero(~same) + 1
    starts = np.concatenate(([0], boundaries))
    sizes = np.diff(np.concatenate((starts, [len(members)])))
    grouped = sizes >= 2
    if largest is not None:
        grouped &= sizes <= largest
    starts, sizes = starts[grouped], sizes[grouped]
    return starts, sizes, np.cumsum(sizes * (sizes - 1) // 2)


def _run_pairs(members: I64, starts: I64, sizes: I64, n: int) -> I64:
    """The pairs of the runs members[starts[r]:starts[r] + sizes[r]], run after run."""
    size_of = np.repeat(sizes, sizes)
    start_of = np.repeat(starts, sizes)
    pos = start_of + (np.arange(len(size_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    after = size_of - 1 - (pos - start_of)  # partners that follow each element in its run
    left = np.repeat(pos, after)
    block = np.repeat(np.cumsum(after) - after, after)
    right = left + 1 + (np.arange(len(left)) - block)
    a, b = members[left], members[right]
    codes: I64 = np.minimum(a, b) * n + np.maximum(a, b)
    return codes
