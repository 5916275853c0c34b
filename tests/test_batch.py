"""The bulk (columnar) path gives the values of the one-article path and of datasketch itself."""

import itertools
from unittest.mock import patch

import numpy as np
import pytest
import xxhash
from hypothesis import given
from hypothesis import strategies as st

from dedup import Settings, batch
from dedup.batch import (
    Ragged,
    Vocabulary,
    band_pairs,
    by_range,
    counted,
    counted_by_range,
    fingerprint_corpus,
    group_pairs,
    minhash_rows,
    nearest,
    range_cuts,
    slice_bounds,
    sorted_by,
)
from dedup.detect import analyse, lsh_pairs, lsh_params
from dedup.fingerprint import Fingerprinter, signatures
from dedup.readers import read_articles
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def articles():
    paths = [FIXTURES / "seed", *sorted((FIXTURES / "scenarios").iterdir())]
    return read_articles([p for p in paths if p.is_dir()]).articles


def test_corpus_fingerprints_equal_one_article_fingerprints(articles):
    settings = Settings()
    vocab = Vocabulary()
    corpus = fingerprint_corpus([a.text for a in articles], settings, vocab, batch=7)
    one = Fingerprinter(settings)
    words = vocab.words()
    for i, art in enumerate(articles):
        fp = one.fingerprint(art)
        assert np.array_equal(corpus.shingles.row(i), fp.shingles)
        assert int(corpus.digests[i]) == fp.digest and int(corpus.words[i]) == fp.words
        ids = corpus.term_ids.row(i)
        counts = corpus.term_counts[corpus.term_ids.offsets[i] : corpus.term_ids.offsets[i + 1]]
        assert {words[t]: int(c) for t, c in zip(ids, counts, strict=True)} == fp.terms


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5)), max_size=12))
def test_a_filled_array_is_its_pieces_one_after_another(pieces: list[tuple[int, int]]) -> None:
    from dedup.batch import _Filling

    texts = sum(t for _, t in pieces)
    filling = _Filling(np.int64, texts)  # (its room guessed from the first pieces, then grown)
    made = [np.arange(size, dtype=np.int64) + k * 100 for k, (size, _) in enumerate(pieces)]
    for piece, (_, t) in zip(made, pieces, strict=True):
        filling.add(piece, t)
    assert filling.whole().tolist() == np.concatenate([np.zeros(0, np.int64), *made]).tolist()


def test_bulk_minhash_equals_signatures(articles):
    analysis = analyse(articles)
    sets = analysis.copy_sets
    rows = [sets.row(i) for i in range(len(articles))]
    expected = signatures(rows, 128, 1)
    assert np.array_equal(minhash_rows(sets, 128, 1), expected)
    # rows signed in many small blocks, only the values banding uses: the same values
    assert len(sets.values) > 40 * 50
    with patch.object(batch, "SIGN_VALUES", 50):
        assert np.array_equal(minhash_rows(sets, 128, 1, use=111), expected[:, :111])
    # sets given as indices into a table of their values: the same signatures
    table, index = np.unique(sets.values, return_inverse=True)
    indexed = Ragged(index.astype(np.int32), sets.offsets)
    with patch.object(batch, "SIGN_VALUES", 50):
        assert np.array_equal(minhash_rows(indexed, 128, 1, lookup=table), expected)


@pytest.mark.parametrize("threshold", [0.2, 0.3, 0.5, 0.8])
def test_banding_finds_the_pairs_datasketch_minhashlsh_finds(articles, threshold):
    analysis = analyse(articles)
    for resolution in ("copy", "story"):
        sigs = analysis.signatures(resolution)
        usable = analysis.set_sizes(resolution) > 0
        bands, rows = lsh_params(threshold, 128)
        n = len(articles)
        codes = band_pairs(sigs, bands, rows, usable)
        ours = {(int(c) // n, int(c) % n) for c in codes}
        assert ours == lsh_pairs(sigs, threshold, 128, 1, usable.tolist())


@given(
    st.dictionaries(
        st.tuples(st.integers(0, 7), st.integers(0, 7)).filter(lambda p: p[0] < p[1]),
        st.integers(1, 4),
        max_size=28,
    ),
    st.integers(1, 4),
    st.integers(1, 60),
)
def test_nearest_keeps_the_best_pairs_of_either_article(scored: dict, k: int, entries: int) -> None:
    n = 8
    pairs = sorted(scored)
    codes = np.asarray([i * n + j for i, j in pairs], dtype=np.int64)
    score = np.asarray([scored[p] for p in pairs], dtype=np.int64)

    def best(article: int) -> set[tuple[int, int]]:
        mine = [p for p in pairs if article in p]
        mine.sort(key=lambda p: (-scored[p], p))
        return set(mine[:k])

    expected = set().union(*(best(a) for a in range(n)))
    kept = nearest(codes, score, n, k, entries)  # few entries: articles ranked in ranges
    assert [(int(c) // n, int(c) % n) for c in kept] == sorted(expected)
    # Scores this large leave no room for the position in one int64 key: the stable sort
    # takes over, with the same ranking.
    huge = nearest(codes, score << 55, n, k, entries)
    assert np.array_equal(huge, kept)


@given(
    st.lists(st.integers(0, 5), max_size=30),
    st.sampled_from([None, 2, 3]),
    st.integers(1, 8),
)
def test_group_pairs_pairs_every_run_whatever_the_slices(keys, largest, chunk) -> None:
    members = np.asarray(sorted(range(len(keys)), key=lambda m: (keys[m], m)), dtype=np.int64)
    ordered = sorted(keys)
    same = np.asarray([x == y for x, y in itertools.pairwise(ordered)], dtype=bool)
    n = len(keys) + 1
    expected = []
    for key in set(keys):
        run = [m for m in range(len(keys)) if keys[m] == key]
        if largest is None or len(run) <= largest:
            expected += [i * n + j for i, j in itertools.combinations(run, 2)]
    with patch.object(batch, "CHUNK", chunk):  # runs paired a few pairs at a time
        codes = group_pairs(members, same, n, largest)
    assert sorted(codes.tolist()) == sorted(expected) and len(codes) == len(expected)


@given(st.lists(st.integers(1, 9), max_size=20), st.integers(1, 12))
def test_slice_bounds_cut_items_into_slices_of_about_size(sizes: list[int], size: int) -> None:
    ends = np.cumsum(np.asarray(sizes, dtype=np.int64))
    bounds = slice_bounds(ends, size)
    assert bounds[0] == 0 and bounds[-1] == len(sizes)
    assert all(lo < hi for lo, hi in itertools.pairwise(bounds))
    for lo, hi in itertools.pairwise(bounds):  # its first item, and fewer than `size` more
        assert sum(sizes[lo + 1 : hi]) < size


@given(st.lists(st.tuples(st.integers(-3, 70000), st.integers(0, 5))))
def test_sorted_by_orders_as_lexsort(pairs: list[tuple[int, int]]) -> None:
    major = np.asarray([p[0] for p in pairs], dtype=np.int64)
    minor = np.asarray([p[1] for p in pairs], dtype=np.uint64)
    order = sorted_by(major, minor)
    expected = np.lexsort((minor, major))
    assert np.array_equal(major[order], major[expected])
    assert np.array_equal(minor[order], minor[expected])


@given(st.lists(st.integers(0, 99), max_size=300), st.integers(1, 5), st.integers(1, 120))
def test_counted_by_range_is_counted_of_every_chunk(rows: list[int], chunks: int, n: int) -> None:
    codes = np.asarray([r % n * n + (r * 7) % n for r in rows], dtype=np.int64)
    cuts = range_cuts(n)
    pieces = [by_range([piece], cuts) for piece in np.array_split(codes, chunks)]
    distinct, counts = counted_by_range(iter(pieces), np.uint16)
    expected, expected_counts = counted(codes.copy())
    assert np.array_equal(distinct, expected) and np.array_equal(counts, expected_counts)
    assert counts.dtype == np.uint16


@given(st.lists(st.integers(-5, 5)))
def test_counted_is_np_unique_with_counts(values: list[int]) -> None:
    array = np.asarray(values, dtype=np.int64)
    expected = np.unique(array, return_counts=True)
    distinct, counts = counted(array.copy())
    assert np.array_equal(distinct, expected[0]) and np.array_equal(counts, expected[1])


def test_banding_with_neighbours_keeps_a_subset_and_every_pair_when_there_is_room(articles):
    analysis = analyse(articles)
    sigs = analysis.signatures("story")
    usable = analysis.set_sizes("story") > 0
    bands, rows = lsh_params(0.2, 128)
    every = band_pairs(sigs, bands, rows, usable)
    assert np.array_equal(band_pairs(sigs, bands, rows, usable, len(articles)), every)
    few = band_pairs(sigs, bands, rows, usable, 1)
    assert set(few.tolist()) <= set(every.tolist()) and len(few) < len(every)


@pytest.mark.parametrize("largest", [2, 3])
def test_banding_leaves_out_buckets_over_the_largest_size(articles, largest):
    analysis = analyse(articles)
    sigs = analysis.signatures("story")
    usable = analysis.set_sizes("story") > 0
    bands, rows = lsh_params(0.2, 128)
    n = len(articles)
    expected = set()
    for t in range(bands):
        buckets: dict[bytes, list[int]] = {}
        for i in np.flatnonzero(usable).tolist():
            buckets.setdefault(sigs[i, t * rows : (t + 1) * rows].tobytes(), []).append(i)
        for members in buckets.values():
            if len(members) <= largest:
                expected |= {(a, b) for x, a in enumerate(members) for b in members[x + 1 :]}
    codes = band_pairs(sigs, bands, rows, usable, largest=largest)
    assert {(int(c) // n, int(c) % n) for c in codes} == expected
    assert len(codes) < len(band_pairs(sigs, bands, rows, usable))


def test_vocabulary_ids_number_new_words_in_order_of_first_use() -> None:
    vocab = Vocabulary(frozenset())
    assert vocab.ids(["b", "a", "b"]).tolist() == [0, 1, 0]
    assert vocab.ids(["c", "a", "d", "c", "b"]).tolist() == [2, 1, 3, 2, 0]
    assert vocab.words() == ["b", "a", "c", "d"]
    assert vocab.ids([]).tolist() == []


def test_vocabulary_hashed_ids_are_its_ids_by_name() -> None:
    rng = np.random.default_rng(3)
    pool = [f"w{i}" for i in range(60_000)]  # (the table grows past its first 2**16 slots)
    by_hash, by_name = Vocabulary(frozenset()), Vocabulary(frozenset())
    for size in (5, 40_000, 1, 30_000, 0, 2_000):
        block = list(dict.fromkeys(pool[i] for i in rng.integers(0, len(pool), size).tolist()))
        hashes = np.array([xxhash.xxh3_64_intdigest(w.encode()) for w in block], dtype=np.uint64)
        assert by_hash.hashed_ids(block, hashes).tolist() == by_name.ids(block).tolist()
        # (words added by name are found by hash too)
        extra = [f"x{size}", "w1"]
        assert by_hash.ids(extra).tolist() == by_name.ids(extra).tolist()
    added = ["x5", "x40000", "new"]
    hashes = np.array([xxhash.xxh3_64_intdigest(w.encode()) for w in added], dtype=np.uint64)
    assert by_hash.hashed_ids(added, hashes).tolist() == by_name.ids(added).tolist()
    assert by_hash.words() == by_name.words()
    assert np.array_equal(by_hash.hashes(), by_name.hashes())
    assert np.array_equal(by_hash.content(), by_name.content())
