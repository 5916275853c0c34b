"""The compiled kernels against numpy and scipy doing the same work."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.preprocessing import normalize

from dedup import kernels
from dedup.fingerprint import permutations, sign_block
from dedup.verify import pair_cosines


@given(st.lists(st.sets(st.integers(0, 40)), min_size=2, max_size=12), st.randoms())
@settings(max_examples=60, deadline=None)
def test_shared_counts_are_the_sizes_of_set_intersections(rows: list[set[int]], rnd) -> None:
    values = np.concatenate(
        [np.array(sorted(r), dtype=np.uint64) for r in rows] + [np.zeros(0, np.uint64)]
    )
    offsets = np.concatenate(([0], np.cumsum([len(r) for r in rows]))).astype(np.int64)
    # (an odd number of pairs too: two are merged at a time)
    count = rnd.randrange(1, 22)
    pairs = [(rnd.randrange(len(rows)), rnd.randrange(len(rows))) for _ in range(count)]
    left = np.array([i for i, _ in pairs], dtype=np.int64)
    right = np.array([j for _, j in pairs], dtype=np.int64)
    out = np.full(len(pairs), -1, dtype=np.int32)
    kernels.shared_counts(values, offsets, left, right, out)
    assert out.tolist() == [len(rows[i] & rows[j]) for i, j in pairs]


def test_dot_rows_are_pair_cosines_to_the_last_bit() -> None:
    rng = np.random.default_rng(7)
    # rows of 0 to 600 terms out of 700: pairs sharing none, a few, and hundreds (numpy sums
    # more than 128 values in halves)
    lengths = rng.integers(0, 600, size=60)
    lengths[:3] = 0, 1, 599
    rows = [np.sort(rng.choice(700, size=k, replace=False)) for k in lengths]
    matrix = normalize(
        sparse.csr_matrix(
            (
                rng.random(int(lengths.sum())),
                np.concatenate(rows),
                np.concatenate(([0], np.cumsum(lengths))),
            ),
            shape=(len(rows), 700),
        )
    ).tocsr()
    matrix.sort_indices()
    left = rng.integers(0, len(rows), size=401)  # (odd: two pairs are merged at a time)
    right = rng.integers(0, len(rows), size=401)
    cosine, shared = pair_cosines(matrix, left, right)
    got = np.full(len(left), -1.0)
    got_shared = np.full(len(left), -1, dtype=np.int32)
    longest = int(np.diff(matrix.indptr).max())
    kernels.dot_rows(
        matrix.indptr, matrix.indices, matrix.data, left, right, longest, got, got_shared
    )
    assert np.array_equal(got_shared, shared)
    assert shared.max() > 300
    assert np.array_equal(got, cosine)


@given(st.integers(0, 3000), st.integers(0, 2**32 - 1))
@settings(max_examples=80, deadline=None)
def test_the_pairwise_sum_is_numpys(n: int, seed: int) -> None:
    values = np.random.default_rng(seed).random(n) * 1e-3
    assert kernels._pairwise_sum(values, 0, n) == (np.add.reduce(values) if n else 0.0)


@given(
    st.lists(st.lists(st.integers(0, 12), max_size=30), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20),
)
@settings(max_examples=80, deadline=None)
def test_equal_positions_are_every_shared_position(
    rows: list[list[int]], pairs: list[tuple[int, int]]
) -> None:
    # rows of small values, so that values repeat within a row and across rows
    pairs = sorted((i % len(rows), j % len(rows)) for i, j in pairs)
    values = np.array([v for r in rows for v in r], dtype=np.uint64)
    offsets = np.concatenate(([0], np.cumsum([len(r) for r in rows]))).astype(np.int64)
    left = np.array([i for i, _ in pairs], dtype=np.int64)
    right = np.array([j for _, j in pairs], dtype=np.int64)
    found = kernels.equal_positions(values, offsets, left, right)
    expected = [
        (p, x, y)
        for p, (i, j) in enumerate(pairs)
        for x in range(offsets[i], offsets[i + 1])
        for y in range(offsets[j], offsets[j + 1])
        if values[x] == values[y]
    ]
    assert sorted(zip(*(a.tolist() for a in found), strict=True)) == expected


def test_row_dot_is_dot_rows_for_one_pair() -> None:
    rng = np.random.default_rng(11)
    lengths = rng.integers(0, 400, size=30)
    rows = [np.sort(rng.choice(500, size=k, replace=False)) for k in lengths]
    matrix = sparse.csr_matrix(
        (
            rng.random(int(lengths.sum())),
            np.concatenate(rows),
            np.concatenate(([0], np.cumsum(lengths))),
        ),
        shape=(len(rows), 500),
    )
    left, right = np.repeat(np.arange(30), 30), np.tile(np.arange(30), 30)
    cosine = np.zeros(len(left))
    kernels.dot_rows(
        matrix.indptr,
        matrix.indices,
        matrix.data,
        left,
        right,
        400,
        cosine,
        np.zeros(len(left), np.int32),
    )
    one = [
        kernels.row_dot(matrix.indptr, matrix.indices, matrix.data, i, j)
        for i, j in zip(left.tolist(), right.tolist(), strict=True)
    ]
    assert one == cosine.tolist()


def test_min_hashes_are_sign_blocks_rows() -> None:
    rng = np.random.default_rng(5)
    sizes = rng.integers(1, 300, 200)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    values = rng.integers(0, 2**64 - 1, int(sizes.sum()), dtype=np.uint64)
    values[:5] = [0, 2**64 - 1, 2**32, 2**32 - 1, 1]  # (the folds' and mixes' edges)
    a, b = permutations(128, 1)
    out = np.zeros((400, 128), dtype=np.uint32)
    rows = np.arange(200, dtype=np.int64) * 2  # (every other row of `out`)
    kernels.min_hashes(values, starts, a, b, out, rows)
    assert np.array_equal(out[rows], sign_block(values, starts, a, b))
    assert not out[1::2].any()


@given(st.binary(max_size=200).map(lambda b: b.lower()))
@settings(max_examples=200, deadline=None)
def test_ascii_words_are_the_runs_of_word_bytes_with_their_keys(data: bytes) -> None:
    raw = np.frombuffer(data, dtype=np.uint8)
    is_word, first, last, keys = kernels.ascii_words(raw)
    words = [(m.start(), m.end()) for m in re.finditer(rb"[a-z0-9_]+", data)]
    assert list(zip(first.tolist(), last.tolist(), strict=True)) == words
    assert is_word.tolist() == [bool(re.fullmatch(rb"[a-z0-9_]", bytes([c]))) for c in data]
    for (lo, hi), (low, high) in zip(words, keys.tolist(), strict=True):
        word = data[lo:hi]
        assert low == int.from_bytes(word[:8], "little")
        assert high == int.from_bytes(word[8:16], "little")


@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 30), max_size=3000))
@settings(max_examples=80, deadline=None)
def test_first_use_ids_number_the_distinct_values_in_order_of_first_use(values) -> None:
    # (more than 512 distinct values grow the table: random 64-bit values, repeats of small ones)
    ids, first = kernels.first_use_ids(np.array(values, dtype=np.uint64))
    first_at: dict[int, int] = {}
    for at, v in enumerate(values):
        first_at.setdefault(v, at)
    number = {v: k for k, v in enumerate(first_at)}  # (in order of first use)
    assert ids.tolist() == [number[v] for v in values]
    assert first.tolist() == list(first_at.values())


@given(
    st.lists(st.lists(st.integers(0, 12), max_size=20), max_size=6),
    st.lists(st.booleans(), min_size=13, max_size=13),
)
@settings(max_examples=80, deadline=None)
def test_term_counts_count_each_documents_content_words_in_order_of_first_use(
    docs: list[list[int]], content: list[bool]
) -> None:
    flat = np.array([w for doc in docs for w in doc], dtype=np.int64)
    lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
    ids, counts, found = kernels.term_counts(flat, lengths, np.array(content))
    expected = [
        (d, w, doc.count(w)) for d, doc in enumerate(docs) for w in dict.fromkeys(doc) if content[w]
    ]
    rows = np.repeat(np.arange(len(docs)), found).tolist()
    assert list(zip(rows, ids.tolist(), counts.tolist(), strict=True)) == expected
    assert ids.dtype == counts.dtype == np.int32


@given(
    st.dictionaries(
        st.tuples(st.integers(0, 40), st.integers(0, 30)), st.integers(1, 2**31 - 1), max_size=200
    ),
    st.randoms(),
)
@settings(max_examples=80, deadline=None)
def test_renumbered_in_rows_orders_each_rows_entries_by_their_new_ids(
    entries: dict[tuple[int, int], int], rnd
) -> None:
    listed = list(entries)
    rnd.shuffle(listed)
    listed.sort(key=lambda e: e[0])  # (rows ascending, ids in any order within a row)
    lengths = np.bincount([r for r, _ in listed], minlength=41).astype(np.int64)
    ids = np.asarray([i for _, i in listed], dtype=np.int32)
    counts = np.asarray([entries[e] for e in listed], dtype=np.int32)
    renumber = np.asarray(rnd.sample(range(1000), 31), dtype=np.int64)  # (distinct new ids)
    got_ids, got_counts = kernels.renumbered_in_rows(lengths, ids, counts, renumber)
    expected = sorted((r, renumber[i], entries[r, i]) for r, i in listed)
    assert got_ids.tolist() == [i for _, i, _ in expected]
    assert got_counts.tolist() == [c for _, _, c in expected]
    assert got_ids.dtype == np.int32 and got_counts.dtype == np.int32


@given(
    st.lists(st.lists(st.integers(0, 4), max_size=30), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=8),
    st.randoms(),
)
@settings(max_examples=80, deadline=None)
def test_shared_runs_are_the_diagonals_of_the_equal_positions(rows, pairs, rnd) -> None:
    # (few distinct values: repeats within a row, runs that meet and part)
    values = np.array([v for row in rows for v in row], dtype=np.uint64) * np.uint64(2**61 + 1)
    offsets = np.cumsum([0, *map(len, rows)]).astype(np.int64)
    content = np.array([rnd.random() < 0.5 for _ in range(len(values))], dtype=bool)
    pairs = [(a % len(rows), b % len(rows)) for a, b in sorted(pairs)]
    left = np.array([a for a, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b in pairs], dtype=np.int64)
    p, x, y = kernels.equal_positions(values, offsets, left, right)
    i, j = x - offsets[left][p], y - offsets[right][p]
    at = set(zip(p.tolist(), i.tolist(), j.tolist(), strict=True))
    expected = []
    for q, i, j in at:
        if (q, i - 1, j - 1) in at:
            continue  # (not where a run starts)
        n = 0
        while (q, i + n, j + n) in at:
            n += 1
        has = bool(content[offsets[left[q]] + i : offsets[left[q]] + i + n].any())
        expected.append((q, i, j, n, has))
    got = kernels.shared_runs(values, offsets, content, left, right)
    assert sorted(zip(*(a.tolist() for a in got), strict=True)) == sorted(expected)


def test_merge_counts_adds_counts_and_drops_those_at_zero():
    rng = np.random.default_rng(5)
    for n, m in ((0, 0), (0, 5), (6, 0), (300, 200), (5000, 40)):
        values = np.unique(rng.integers(0, 2000, size=n).astype(np.uint64))
        counts = rng.integers(1, 4, size=len(values)).astype(np.int64)
        more = np.unique(rng.integers(0, 2000, size=m).astype(np.uint64))
        deltas = rng.integers(-3, 4, size=len(more)).astype(np.int64)
        expected = dict(zip(values.tolist(), counts.tolist(), strict=True))
        for v, d in zip(more.tolist(), deltas.tolist(), strict=True):
            expected[v] = expected.get(v, 0) + d
        kept = sorted((v, c) for v, c in expected.items() if c > 0)
        got_values, got_counts, now = kernels.merge_counts(values, counts, more, deltas)
        assert got_values.dtype == np.uint64
        assert list(zip(got_values.tolist(), got_counts.tolist(), strict=True)) == kept
        assert now.tolist() == [max(0, expected[v]) for v in more.tolist()]


def test_sort_pairs_sorts_as_lexsort():
    rng = np.random.default_rng(11)
    for n in (0, 1, 7, 3000, 200_000):
        keys = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=n)
        keys[: n // 3] = rng.integers(-40, 40, size=n // 3)  # (long runs of equal top bits)
        keys[n // 3 : n // 2] = rng.choice(keys[: max(1, n // 9)], size=n // 2 - n // 3)
        pairs = np.stack([keys, rng.integers(0, 50, size=n)], axis=1).astype(np.int64)
        expected = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        kernels.sort_pairs(pairs)
        assert np.array_equal(pairs, expected)


@given(
    st.integers(2, 14),
    st.lists(st.tuples(st.integers(0, 13), st.integers(0, 13)), max_size=40),
    st.floats(0.0, 0.6),
    st.integers(1, 30),
    st.randoms(),
)
@settings(max_examples=150, deadline=None)
def test_linked_groups_are_the_groups_of_complete_linkage(
    n: int, pairs: list[tuple[int, int]], least: float, most: int, rnd
) -> None:
    from dedup import stories
    from dedup.models import Match

    # matches between distinct rows (i < j), each once, in a random order ("strongest first")
    found = sorted({(min(i, j) % n, max(i, j) % n) for i, j in pairs if i % n != j % n})
    rnd.shuffle(found)
    m = normalize(sparse.random(n, 12, density=0.4, format="csr", random_state=rnd.randrange(99)))
    m.sort_indices()
    ids = [f"r{k:02d}" for k in range(n)]  # (their order is the rows')

    def cosine(i: int, j: int) -> float:
        return float(kernels.row_dot(m.indptr, m.indices, m.data, i, j))

    known = {(ids[i], ids[j]) for i, j in found}

    def linked(left: list[str], right: list[str]) -> bool:
        return all(
            (min(x, y), max(x, y)) in known or cosine(ids.index(x), ids.index(y)) >= least
            for x in left
            for y in right
        )

    matches = [Match(ids[i], ids[j], "partial", 0.0, 0.0, 0.0, 0.0) for i, j in found]
    saved, stories.MAX_MERGE_PAIRS = stories.MAX_MERGE_PAIRS, most  # (the same limit on a merge)
    try:
        expected = stories.group(matches, linked, strongest_first=True)
    finally:
        stories.MAX_MERGE_PAIRS = saved
    left = np.array([i for i, _ in found], dtype=np.int64)
    right = np.array([j for _, j in found], dtype=np.int64)
    codes = np.sort(left * n + right)
    got, sizes = kernels.linked_groups(
        left, right, n, codes, m.indptr, m.indices, m.data, least, most
    )
    groups = [[ids[r] for r in range(n) if got[r] == g] for g in range(len(sizes)) if sizes[g] > 1]
    assert groups == expected


@pytest.mark.parametrize("dtype", [np.uint64, np.int64])
@pytest.mark.parametrize(
    "case", ["hashes", "narrow", "pair codes", "one run", "repeats", "small", "negative"]
)
def test_sort_values_sorts_as_numpy(dtype: type, case: str) -> None:
    rng = np.random.default_rng(len(case))
    n = 300 if case == "small" else 1 << 22 if case == "pair codes" else 50_000
    if case == "hashes":
        values = rng.integers(0, 1 << 63, n, dtype=np.int64).astype(dtype)
        if dtype is np.uint64:  # (the top bit set too)
            values[::7] |= np.uint64(1 << 63)
        else:  # (and negative)
            values[::7] = -values[::7]
    elif case == "narrow":  # (a spread of fewer bits than the key: one counting pass sorts)
        values = rng.integers(1000, 1000 + (1 << 20), n).astype(dtype)
    elif case == "pair codes":  # (codes i * n + j of a range of i, each pair several times)
        codes = rng.integers(0, 1 << 17, n // 2) * 1_000_000 + rng.integers(0, 1_000_000, n // 2)
        values = np.concatenate((codes, codes[: n // 2])).astype(dtype)
    elif case == "one run":  # (values alike in their top bits: runs of more than 32)
        values = (rng.integers(0, 1 << 40, n) | (1 << 50)).astype(dtype)
        values[:10] = 0
    elif case == "repeats":
        values = rng.integers(0, 40, n).astype(dtype) << dtype(45)
    elif case == "negative":
        values = rng.integers(-(1 << 62), 1 << 62, n).astype(dtype)
    else:
        values = rng.integers(0, 1 << 63, n, dtype=np.int64).astype(dtype)
    got = values.copy()
    kernels.sort_values(got)
    assert np.array_equal(got, np.sort(values))
