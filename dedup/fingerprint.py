"""Fingerprints: what detection keeps of an article.

Each article is tokenised once; from the same tokens come
- the word-shingle hashes (copies): 64-bit, order-sensitive hashes of `shingle_size` consecutive
  words, kept as a sorted set;
- the content-word hashes (same-story coverage): one hash per distinct topic word;
- the term counts (TF-IDF);
- a hash of the whole normalised text (exact copies).

MinHash signatures are computed for many sets at once with numpy, using datasketch's `affine32`
scheme with its permutations for (`num_perm`, `seed`): the values equal those of
`datasketch.MinHash(num_perm, seed, hashfunc=<identity>, scheme="affine32")` updated with the
32-bit set hashes, so the signatures can be handed to datasketch's `MinHashLSH`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import xxhash

from .arrays import distinct
from .models import Article, Settings
from .text import content_words, words_of

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

# Odd 64-bit multipliers, one per position in a shingle (order-sensitive combination).
_POSITION_MULTIPLIERS = np.array(
    [(0x9E3779B97F4A7C15 * (2 * i + 1)) & 0xFFFFFFFFFFFFFFFF for i in range(32)], dtype=np.uint64
)
_EMPTY = np.zeros(0, dtype=np.uint64)


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What detection keeps of one article.

    id, outlet: as in the Article.
    words: number of normalised words.
    digest: hash of the whole normalised text (equal digests: `exact`; 0 for an empty text).
    shingles: sorted distinct word-shingle hashes (uint64).
    topics: sorted distinct content-word hashes (uint64).
    terms: content-word counts (for TF-IDF).
    """

    id: str
    outlet: str
    words: int
    digest: int
    shingles: U64
    topics: U64
    terms: dict[str, int]


class Fingerprinter:
    """Turns articles into fingerprints. Holds a cache of word hashes that it owns; results never
    depend on what was fingerprinted before."""

    def __init__(self, settings: Settings, stop_words: frozenset[str] | None = None) -> None:
        self.settings = settings
        self.stop_words = stop_words  # None: `text.stop_words()`; an index passes its own list
        self._word_hashes: dict[str, int] = {}

    def word_hashes(self, words: Sequence[str]) -> U64:
        cache = self._word_hashes
        out = np.empty(len(words), dtype=np.uint64)
        for i, w in enumerate(words):
            h = cache.get(w)
            if h is None:
                h = cache[w] = xxhash.xxh3_64_intdigest(w.encode("utf-8"))
                if len(cache) > 2_000_000:  # bound memory on huge vocabularies
                    cache.clear()
            out[i] = h
        return out

    def shingle_sequence(self, words: Sequence[str]) -> U64:
        """The hash of every `shingle_size`-word shingle, in text order (one shingle of all words
        when the text is shorter)."""
        return shingle_hashes(self.word_hashes(words), self.settings.shingle_size)

    def fingerprint(self, article: Article) -> Fingerprint:
        words = words_of(article.text)
        hashes = self.word_hashes(words)
        shingles = distinct(shingle_hashes(hashes, self.settings.shingle_size))
        topic_words = content_words(words, self.stop_words)
        terms = Counter(topic_words)
        topics = distinct(self.word_hashes(sorted(terms)))
        digest = xxhash.xxh3_64_intdigest("\x1f".join(words).encode("utf-8")) if words else 0
        return Fingerprint(
            id=article.id,
            outlet=article.outlet,
            words=len(words),
            digest=digest,
            shingles=shingles,
            topics=topics,
            terms=dict(terms),
        )


def shingle_hashes(word_hashes: U64, k: int) -> U64:
    """Order-sensitive 64-bit hashes of each run of `k` consecutive word hashes."""
    n = len(word_hashes)
    if n == 0:
        return _EMPTY
    if n < k:
        k = n
    count = n - k + 1
    acc = np.zeros(count, dtype=np.uint64)
    for j in range(k):
        acc ^= word_hashes[j : j + count] * _POSITION_MULTIPLIERS[j]
        acc = (acc << np.uint64(13)) | (acc >> np.uint64(51))  # rotate: position matters
    return acc


#: Set values signed in one step (`signatures`, `batch.minhash_rows`): 4 bytes each, so that
#: a step stays in the CPU's cache while every permutation hashes it.
SIGN_VALUES = 1 << 16
#: A set of at most this many values alone is hashed by every permutation in one step (a
#: values x permutations matrix of 2 MB at 128 permutations).
SIGN_ONE_SET = 4096


def to_hash32(hashes: U64) -> U32:
    """Fold 64-bit set hashes to the 32-bit values datasketch's `affine32` scheme takes."""
    return ((hashes >> np.uint64(32)) ^ (hashes & np.uint64(0xFFFFFFFF))).astype(np.uint32)


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """datasketch's `affine32` permutation parameters (a, b) for (num_perm, seed)."""
    from datasketch import MinHash

    perms = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return perms[0].astype(np.uint32), perms[1].astype(np.uint32)


def _fmix32(h: U32) -> U32:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signatures(
    sets: Sequence[U64],
    num_perm: int,
    seed: int,
    batch: int = SIGN_VALUES,
    perms: tuple[U32, U32] | None = None,
) -> U32:
    """MinHash signatures (rows) of many hash sets at once, about `batch` values a step; an
    empty set gets all 0xFFFFFFFF, as datasketch's empty MinHash. `perms`: the (a, b) of
    `permutations(num_perm, seed)` when the caller has them (an index stores them, so a check
    does not need datasketch)."""
    a, b = perms if perms is not None else permutations(num_perm, seed)
    out = np.full((len(sets), num_perm), 0xFFFFFFFF, dtype=np.uint32)
    rows = [i for i, values in enumerate(sets) if len(values)]
    start = 0
    while start < len(rows):
        # Take as many sets as fit in `batch` values (at least one).
        stop, total = start, 0
        while stop < len(rows) and (stop == start or total + len(sets[rows[stop]]) <= batch):
            total += len(sets[rows[stop]])
            stop += 1
        block = rows[start:stop]
        starts = np.cumsum([0] + [len(sets[i]) for i in block[:-1]])
        out[block] = sign_block(np.concatenate([sets[i] for i in block]), starts, a, b)
        start = stop
    return out


def sign_block(values: np.ndarray, starts: npt.NDArray[np.int64], a: U32, b: U32) -> U32:
    """The signatures (rows) of non-empty sets laid end to end in `values`, set r from
    starts[r], under the permutations (a, b). Each permutation hashes every value in turn, so
    the block stays in the CPU's cache; one small set (a check's article) is hashed by all of
    them in one step."""
    hashed = _fmix32(to_hash32(values.astype(np.uint64, copy=False)))
    if len(starts) == 1 and len(values) <= SIGN_ONE_SET:
        with np.errstate(over="ignore"):
            one: U32 = (hashed[:, None] * a[None, :] + b[None, :]).min(axis=0)[None, :]
        return one
    permuted = np.empty_like(hashed)
    out = np.empty((len(starts), len(a)), dtype=np.uint32)
    for p in range(len(a)):
        np.multiply(hashed, a[p], out=permuted)
        np.add(permuted, b[p], out=permuted)
        out[:, p] = np.minimum.reduceat(permuted, starts)
    return out
