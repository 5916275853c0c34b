"""Compiled loops (numba) for the steps numpy can only do with a sort, a pass per item or a Python
loop:
- `min_hashes`: MinHash signatures of many sets, every permutation of a value at once;
- `shared_counts`, `dot_rows`: the shingles two articles share and their TF-IDF cosine, each a
  merge of two sorted rows, for millions of pairs; `row_dot`: the cosine of one pair;
- `shared_runs`: the runs of shingles two texts share, along each diagonal (a hash join; the
  passages' raw runs); `equal_positions`, every position they share a shingle at, is the
  reference it is tested against;
- `ascii_words`, `first_use_ids`: the words of a block of texts and their keys, and their
  numbers in order of first use (a hash table), for `dedup.text.tokenize_block`; `blank_lines`:
  the paragraph breaks between them; `hashed_ids`, `place_ids`: a corpus vocabulary's table of
  word hashes, which numbers each block's words;
- `term_counts`: the content words of each text of a block and their counts (a table by word);
  `renumbered_in_rows`: those words renumbered by the corpus vocabulary and put in order of it;
- `anchors_by_part`, `drop_in_rows`: the anchors of the shingle sets, laid out by part, and the
  sets without their boilerplate, each in one pass over every shingle;
- `l2_normalize_rows`: TF-IDF rows scaled to unit length, as scikit-learn does (without importing
  it: a second of start-up);
- `sort_values`: a sort of 64-bit integers (LSH bucket keys, pair codes), by their top bits
  first;
- `sort_pairs`: (key, article) postings sorted, for the runs of `dedup.postings`;
- `merge_counts`: an outlet's shingle counts with a batch's added (`dedup.index`);
- `linked_groups`: the stories' complete linkage over the matches (`dedup.stories.group`, which
  it is tested against), a cosine computed only where a merge asks for it.

The kernels of many pairs write their results into arrays the caller gives them (each block of
`dedup.parallel.run_threads` its part, in place); the others return new arrays. Each releases the
GIL (so that threads run them side by side) and is compiled once per machine (numba's cache,
beside this module) and then loaded. The kernels that forked workers run are called once (on
empty arrays of the real dtypes, or a one-word text) before the pool forks, so that the workers
inherit them compiled. The results are those of the numpy computations they replace, bit for bit
(`tests/test_kernels.py`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Index = npt.NDArray[np.int32] | npt.NDArray[np.int64]  # (scipy's CSR index arrays)


@njit(nogil=True, cache=True)
def _rows(offsets: Index, i: int, j: int) -> tuple[int, int, int, int]:
    """Where rows i and j start and end: offsets[i], offsets[i + 1], offsets[j], offsets[j + 1]."""
    return offsets[i], offsets[i + 1], offsets[j], offsets[j + 1]


@njit(nogil=True, cache=True)
def shared_counts(values: U64, offsets: I64, left: I64, right: I64, out: I32) -> None:
    """out[p] = the number of values rows left[p] and right[p] share, row r being the sorted
    distinct values values[offsets[r]:offsets[r + 1]]. Each merge moves on without a branch on
    the values (which row moves on is a comparison added to an index), and two pairs are
    merged step for step together: a merge waits on its own last comparison at each step, two
    keep the core busy (about 1.5 times as fast as one after the other)."""
    last = len(left) - 1
    for p in range(0, len(left), 2):
        q = min(p + 1, last)  # (an odd last pair is merged twice)
        a, a_end, b, b_end = _rows(offsets, left[p], right[p])
        c, c_end, d, d_end = _rows(offsets, left[q], right[q])
        found_p = found_q = 0
        while a < a_end and b < b_end and c < c_end and d < d_end:
            x, y, u, v = values[a], values[b], values[c], values[d]
            found_p += x == y
            a += x <= y
            b += y <= x
            found_q += u == v
            c += u <= v
            d += v <= u
        out[p] = found_p + _shared_count(values, a, a_end, b, b_end)
        out[q] = found_q + _shared_count(values, c, c_end, d, d_end)


@njit(nogil=True, cache=True)
def _shared_count(values: U64, a: int, a_end: int, b: int, b_end: int) -> int:
    """The values that values[a:a_end] and values[b:b_end] (sorted, distinct) share."""
    found = 0
    while a < a_end and b < b_end:
        x, y = values[a], values[b]
        found += x == y
        a += x <= y
        b += y <= x
    return found


#: numpy sums blocks of up to this many values with 8 running sums, and halves longer ones.
_PAIRWISE_BLOCK = 128


@njit(nogil=True, cache=True)
def _block_sum(values: F64, lo: int, n: int) -> float:
    """numpy's sum of a block, values[lo:lo + n] (n <= _PAIRWISE_BLOCK)."""
    total: float = 0.0
    if n < 8:
        for i in range(lo, lo + n):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[lo], values[lo + 1], values[lo + 2], values[lo + 3]
    r4, r5, r6, r7 = values[lo + 4], values[lo + 5], values[lo + 6], values[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += values[lo + i]
        r1 += values[lo + i + 1]
        r2 += values[lo + i + 2]
        r3 += values[lo + i + 3]
        r4 += values[lo + i + 4]
        r5 += values[lo + i + 5]
        r6 += values[lo + i + 6]
        r7 += values[lo + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[lo + i]
        i += 1
    return total


@njit(nogil=True, cache=True)
def _pairwise_sum(values: F64, lo: int, n: int) -> float:
    """numpy's pairwise summation of values[lo:lo + n], operation for operation (so the sum is
    numpy's to the last bit): `_block_sum` of a short run; a longer one is cut in two (the
    first part a multiple of 8 long) and the sums of the parts added. The halving runs on a
    stack of its own (numba does not cache recursive functions): frame f is the run
    starts[f]:starts[f] + sizes[f], stage[f] how many of its parts are summed, left[f] the
    first part's sum."""
    if n <= _PAIRWISE_BLOCK:
        return _block_sum(values, lo, n)
    starts = np.empty(64, dtype=np.int64)
    sizes = np.empty(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)
    left = np.zeros(64, dtype=np.float64)
    top, starts[0], sizes[0] = 0, lo, n
    done: float = 0.0
    while True:
        half = sizes[top] // 2
        half -= half % 8
        if stage[top] == 0:  # the first part
            stage[top] = 1
            if half > _PAIRWISE_BLOCK:
                top += 1
                starts[top], sizes[top], stage[top] = starts[top - 1], half, 0
                continue
            left[top] = _block_sum(values, starts[top], half)
        if stage[top] == 1:  # the second part
            stage[top] = 2
            rest = sizes[top] - half
            if rest > _PAIRWISE_BLOCK:
                top += 1
                starts[top], sizes[top], stage[top] = starts[top - 1] + half, rest, 0
                continue
            done = left[top] + _block_sum(values, starts[top] + half, rest)
        else:  # the second part's sum came back in `done`
            done = left[top] + done
        top -= 1  # (this run is summed: back to the run it is a part of)
        if top < 0:
            return done
        if stage[top] == 1:
            left[top] = done


@njit(nogil=True, cache=True)
def dot_rows(
    indptr: Index,
    indices: Index,
    data: F64,
    left: I64,
    right: I64,
    longest: int,
    cosine: F64,
    shared: I32,
) -> None:
    """For each pair p: cosine[p] = the dot product of rows left[p] and right[p] of a CSR
    matrix with sorted indices (of l2-normalised rows: their cosine), shared[p] = the columns
    both have. The products are summed in column order as numpy's `add.reduceat` sums a row of
    scipy's elementwise product (the first, then the pairwise sum of the rest), so each value is
    `verify.pair_cosines`' to the last bit. `longest`: the most entries of any row."""
    products = np.empty((2, max(longest, 1)), dtype=np.float64)
    last = len(left) - 1
    for p in range(0, len(left), 2):  # (two pairs at once, as in `shared_counts`)
        q = min(p + 1, last)
        a, a_end, b, b_end = _rows(indptr, left[p], right[p])
        c, c_end, d, d_end = _rows(indptr, left[q], right[q])
        found_p = found_q = 0
        while a < a_end and b < b_end and c < c_end and d < d_end:
            x, y, u, v = indices[a], indices[b], indices[c], indices[d]
            if x == y:
                products[0, found_p] = data[a] * data[b]
                found_p += 1
            a += x <= y
            b += y <= x
            if u == v:
                products[1, found_q] = data[c] * data[d]
                found_q += 1
            c += u <= v
            d += v <= u
        found_p = _products(indices, data, a, a_end, b, b_end, products[0], found_p)
        found_q = _products(indices, data, c, c_end, d, d_end, products[1], found_q)
        shared[p], cosine[p] = found_p, _reduceat_sum(products[0], found_p)
        shared[q], cosine[q] = found_q, _reduceat_sum(products[1], found_q)


@njit(nogil=True, cache=True)
def row_dot(indptr: Index, indices: Index, data: F64, i: int, j: int) -> float:
    """The dot product of rows i and j, as `dot_rows` computes it for one pair (one call: a
    story's complete linkage asks for pairs one at a time)."""
    a, a_end, b, b_end = _rows(indptr, i, j)
    products = np.empty(max(min(a_end - a, b_end - b), 1), dtype=np.float64)
    return _reduceat_sum(products, _products(indices, data, a, a_end, b, b_end, products, 0))


@njit(nogil=True, cache=True)
def _products(
    indices: Index, data: F64, a: int, a_end: int, b: int, b_end: int, out: F64, found: int
) -> int:
    """The products of the entries of columns both entries a:a_end and b:b_end of a CSR matrix
    have, into out[found:], in column order; how many are in `out` then."""
    while a < a_end and b < b_end:
        x, y = indices[a], indices[b]
        if x == y:
            out[found] = data[a] * data[b]
            found += 1
        a += x <= y
        b += y <= x
    return found


@njit(nogil=True, cache=True)
def _reduceat_sum(values: F64, n: int) -> float:
    """numpy's `add.reduceat` of values[:n] (0 when empty): the first, then the pairwise sum of
    the rest."""
    return values[0] + _pairwise_sum(values, 1, n - 1) if n else 0.0


#: Spreads 64-bit values over the slots of a hash table (Fibonacci hashing: `_slot`,
#: `first_use_ids`).
_SPREAD = np.uint64(0x9E3779B97F4A7C15)


@njit(nogil=True, cache=True)
def _longest_row(offsets: I64, rows: I64) -> int:
    """The most values any of `rows` holds (at least 1)."""
    longest = 1
    for r in rows:
        longest = max(longest, offsets[r + 1] - offsets[r])
    return longest


@njit(nogil=True, cache=True)
def _empty_table(longest: int) -> tuple[I64, I64]:
    """A table for `_positions_table` that holds rows of up to `longest` values (at most half
    full): the slots (a position + 1; 0: empty) and, by position in the row, the next position
    of the same value (or -1)."""
    size = 2
    while size < 2 * longest:
        size *= 2
    return np.zeros(size, dtype=np.int64), np.empty(size, dtype=np.int64)


@njit(nogil=True, cache=True)
def _positions_table(
    values: U64, lo: int, hi: int, table: I64, following: I64, mask: int
) -> tuple[int, np.uint64]:
    """Fill `table` (open addressing, at most half full; its slots 0..mask of the row before are
    emptied first) with values[lo:hi]: each value's first position + 1, and following[x - lo]
    the next position of the same value (or -1). Returns the new (mask, shift)."""
    table[: mask + 1] = 0
    bits = 1
    while (1 << bits) < 2 * (hi - lo):
        bits += 1
    mask, shift = (1 << bits) - 1, np.uint64(64 - bits)
    for x in range(hi - 1, lo - 1, -1):  # (last first: each chain ascends)
        slot = _slot(values, table, mask, shift, values[x])
        following[x - lo] = table[slot] - 1
        table[slot] = x + 1
    return mask, shift


@njit(nogil=True, cache=True)
def _slot(values: U64, table: I64, mask: int, shift: np.uint64, value: np.uint64) -> int:
    """The slot of `table` (`_positions_table`) that holds `value`, or the empty one it would go
    in."""
    slot = np.int64((value * _SPREAD) >> shift)
    while table[slot] != 0 and values[table[slot] - 1] != value:
        slot = (slot + 1) & mask
    return int(slot)


@njit(nogil=True, cache=True)
def equal_positions(values: U64, offsets: I64, left: I64, right: I64) -> tuple[I64, I64, I64]:
    """Every (p, x, y) such that values[x] == values[y], x a position of row left[p] and y one of
    row right[p] (row r: offsets[r]:offsets[r + 1], values in text order, repeats allowed): the
    positions two texts share a shingle at, as flat positions, by pair. Row left[p] goes into
    an open-addressing table (each value's first position, and from each position the next
    with the same value), kept while the next pairs have the same left row; each value of row
    right[p] is looked up in it."""
    table, following = _empty_table(_longest_row(offsets, left))
    capacity = 1024
    pairs = np.empty(capacity, dtype=np.int64)
    xs = np.empty(capacity, dtype=np.int64)
    ys = np.empty(capacity, dtype=np.int64)
    found = 0
    current, mask, shift = -1, 1, np.uint64(63)
    for p in range(len(left)):
        lo, hi = offsets[left[p]], offsets[left[p] + 1]
        if left[p] != current:
            mask, shift = _positions_table(values, lo, hi, table, following, mask)
            current = left[p]
        for y in range(offsets[right[p]], offsets[right[p] + 1]):
            x = table[_slot(values, table, mask, shift, values[y])] - 1
            while x >= 0:
                if found == capacity:
                    capacity *= 2
                    pairs, xs, ys = (
                        _grown(pairs, capacity),
                        _grown(xs, capacity),
                        _grown(ys, capacity),
                    )
                pairs[found], xs[found], ys[found] = p, x, y
                found += 1
                x = following[x - lo]
    return pairs[:found], xs[:found], ys[:found]


@njit(nogil=True, cache=True)
def shared_runs(
    values: U64, offsets: I64, content: npt.NDArray[np.bool_], left: I64, right: I64
) -> tuple[I64, I64, I64, I64, npt.NDArray[np.bool_]]:
    """The runs of equal values of each pair: every maximal (p, x, y, n) such that
    values[x + t] == values[y + t] for t < n, x + t in row left[p] and y + t in row right[p]
    (rows as `equal_positions`), as the pair, x and y from their rows' starts, n, and whether
    content[x + t] for some t: a diagonal of the positions `equal_positions` gives, found as
    they are met (a position at y extends the run at x - 1 of the position before) instead of
    sorted by diagonal. Runs come by pair, then by where they end in b."""
    longest = _longest_row(offsets, left)
    table, following = _empty_table(longest)
    # the position of row b each position of row a last matched at (a step number: steps of
    # two pairs are apart, so no run goes from one pair to the next), and that match's run;
    # by the step's parity, so that a step reads what the step before it wrote
    seen = np.full((2, longest + 1), -2, dtype=np.int64)
    run_of = np.zeros((2, longest + 1), dtype=np.int64)
    capacity = 1024
    pairs = np.empty(capacity, dtype=np.int64)
    xs = np.empty(capacity, dtype=np.int64)
    ys = np.empty(capacity, dtype=np.int64)
    lengths = np.empty(capacity, dtype=np.int64)
    has = np.empty(capacity, dtype=np.bool_)
    found = 0
    step = 0
    current, mask, shift = -1, 1, np.uint64(63)
    for p in range(len(left)):
        lo, hi = offsets[left[p]], offsets[left[p] + 1]
        if left[p] != current:
            mask, shift = _positions_table(values, lo, hi, table, following, mask)
            current = left[p]
        base = offsets[right[p]]
        step += 2
        for y in range(base, offsets[right[p] + 1]):
            step += 1
            now, before = step & 1, (step - 1) & 1
            x = table[_slot(values, table, mask, shift, values[y])] - 1
            while x >= 0:
                i = x - lo
                if i > 0 and seen[before, i - 1] == step - 1:  # (the run goes on)
                    r = run_of[before, i - 1]
                    lengths[r] += 1
                    has[r] |= content[x]
                else:
                    if found == capacity:
                        capacity *= 2
                        pairs, xs, ys, lengths, has = (
                            _grown(pairs, capacity),
                            _grown(xs, capacity),
                            _grown(ys, capacity),
                            _grown(lengths, capacity),
                            _grown(has, capacity),
                        )
                    r = found
                    pairs[r], xs[r], ys[r], lengths[r], has[r] = p, i, y - base, 1, content[x]
                    found += 1
                seen[now, i] = step
                run_of[now, i] = r
                x = following[x - lo]
    return pairs[:found], xs[:found], ys[:found], lengths[:found], has[:found]


@njit(nogil=True, cache=True)
def _grown(values: np.ndarray, capacity: int) -> np.ndarray:
    """`values` in a longer array of the same dtype (its tail not set)."""
    out = np.empty(capacity, dtype=values.dtype)
    out[: len(values)] = values
    return out


_LOW32 = np.uint64(0xFFFFFFFF)
_FMIX1 = np.uint64(0x85EBCA6B)
_FMIX2 = np.uint64(0xC2B2AE35)


@njit(nogil=True, cache=True)
def drop_in_rows(values: U64, offsets: I64, drop: U64, bits: int) -> I64:
    """Rows of values (row r: values[offsets[r]:offsets[r + 1]]) without the values in `drop`
    (sorted), moved down in `values` itself; the rows' new offsets. A bitmap of the low `bits`
    bits of `drop` (`arrays.bitmap_bits`, as `arrays.in_sorted`) clears most values at once;
    only the rest are looked up."""
    low = np.uint64((1 << bits) - 1)
    bitmap = np.zeros(1 << bits, dtype=np.bool_)
    for d in drop:
        bitmap[d & low] = True
    out = np.empty_like(offsets)
    out[0] = 0
    at = 0
    for r in range(len(offsets) - 1):
        for x in range(offsets[r], offsets[r + 1]):
            v = values[x]
            if bitmap[v & low]:
                k = np.searchsorted(drop, v)
                if k < len(drop) and drop[k] == v:
                    continue
            values[at] = v
            at += 1
        out[r + 1] = at
    return out


@njit(nogil=True, cache=True)
def anchors_by_part(values: U64, offsets: I64, every: int, bits: int) -> tuple[U64, I32, I64]:
    """The anchors of rows of values (row r: values[offsets[r]:offsets[r + 1]]), the values
    divisible by `every` (every >= 1; a mask of the low bits when it is a power of two, not a
    division), and the row of each, laid out by their top `bits` bits: part p is bounds[p] ..
    bounds[p + 1] - 1, in the order of the values. Two passes: the parts counted, then filled in
    place (no temporary of every value or every anchor)."""
    shift = np.uint64(64 - bits)
    mask = np.uint64(every - 1)
    divisor = np.uint64(every)
    masked = every & (every - 1) == 0
    sizes = np.zeros((1 << bits) + 1, dtype=np.int64)
    for x in range(len(values)):
        v = values[x]
        if (v & mask) == 0 if masked else v % divisor == 0:
            sizes[(v >> shift) + np.uint64(1)] += 1
    bounds = np.cumsum(sizes)
    hashes = np.empty(bounds[-1], dtype=np.uint64)
    owners = np.empty(bounds[-1], dtype=np.int32)
    filled = bounds[:-1].copy()
    for r in range(len(offsets) - 1):
        for x in range(offsets[r], offsets[r + 1]):
            v = values[x]
            if (v & mask) == 0 if masked else v % divisor == 0:
                part = v >> shift
                at = filled[part]
                hashes[at] = v
                owners[at] = r
                filled[part] = at + 1
    return hashes, owners, bounds


@njit(nogil=True, cache=True)
def min_hashes(values: U64, starts: I64, a: U32, b: U32, out: U32, rows: I64) -> None:
    """MinHash signatures of non-empty sets laid end to end in `values` (set r from starts[r]
    to the next start, the last to the end), as `fingerprint.sign_block` computes them, into
    out[rows[r]]: each value folded to 32 bits and mixed (`fingerprint.to_hash32`, `_fmix32`),
    then for each permutation p, (a[p] * h + b[p]) mod 2**32, the least over the set. One pass
    over the values, every permutation of a value at once (the inner loop is vector code of
    32-bit lanes: about 8 times as fast as numpy's pass per permutation)."""
    width = len(a)
    for r in range(len(starts)):
        lo = starts[r]
        hi = starts[r + 1] if r + 1 < len(starts) else len(values)
        row = out[rows[r]]
        row[:] = 0xFFFFFFFF
        for x in range(lo, hi):
            v = values[x]
            h = (v >> np.uint64(32)) ^ (v & _LOW32)
            h ^= h >> np.uint64(16)
            h = (h * _FMIX1) & _LOW32
            h ^= h >> np.uint64(13)
            h = (h * _FMIX2) & _LOW32
            h ^= h >> np.uint64(16)
            h32 = np.uint32(h)
            for p in range(width):
                row[p] = min(row[p], np.uint32(a[p] * h32 + b[p]))


#: _MASKS[b]: the low b bytes of a 64-bit number.
_MASKS = np.array([(1 << (8 * b)) - 1 for b in range(9)], dtype=np.uint64)


@njit(nogil=True, cache=True)
def ascii_words(raw: U8) -> tuple[npt.NDArray[np.bool_], I64, I64, U64]:
    """The words of lower-cased ASCII bytes: runs of [a-z0-9_], the bytes `\\w` matches there.
    Returns whether each byte is a word byte, where each word starts and ends (first, last:
    bytes first .. last - 1) and its key: the word's first 8 bytes and its next 8 as two
    little-endian numbers, a byte past the word's end 0 (`dedup.text` replaces the keys of
    words of more than 16 bytes). Passes without a branch on the bytes: the word bytes, the
    words counted, their bounds (each pass writes the next bound and moves on only at one), and
    each key as two unaligned 8-byte loads, masked to the word's length."""
    n = len(raw)
    is_word = np.empty(n, dtype=np.bool_)
    for i in range(n):
        c = raw[i]
        is_word[i] = (c >= 97 and c <= 122) or (c >= 48 and c <= 57) or c == 95
    words = 0
    before = False
    for i in range(n):
        words += is_word[i] > before
        before = is_word[i]
    first = np.empty(words + 1, dtype=np.int64)
    last = np.empty(words + 1, dtype=np.int64)
    starts = ends = 0
    before = False
    for i in range(n):
        here = is_word[i]
        first[starts] = i
        last[ends] = i
        starts += here > before
        ends += before > here
        before = here
    last[ends] = n
    padded = np.zeros((n + 31) // 8 * 8, dtype=np.uint8)  # (2 spare words: loads past the end)
    padded[:n] = raw
    eight = padded.view(np.uint64)  # (little-endian, as every platform numba supports)
    keys = np.empty((words, 2), dtype=np.uint64)
    for w in range(words):
        lo = first[w]
        size = last[w] - lo
        at = lo >> 3
        shift = np.uint64((lo & 7) * 8)
        rest = np.uint64(63) - shift  # (x << 1 << rest: x << (64 - shift), 0 when shift is 0)
        low = (eight[at] >> shift) | ((eight[at + 1] << np.uint64(1)) << rest)
        high = (eight[at + 1] >> shift) | ((eight[at + 2] << np.uint64(1)) << rest)
        keys[w, 0] = low & _MASKS[min(size, 8)]
        keys[w, 1] = high & _MASKS[min(max(size - 8, 0), 8)]
    return is_word, first[:words], last[:words], keys


@njit(nogil=True, cache=True)
def blank_lines(chars: U8, base: I64, offsets: I64, starts: I64, ends: I64) -> Bools:
    """Whether a blank line (`text.PARAGRAPH_BREAK`: a newline, then only spaces, tabs and
    carriage returns, form or line feeds, then a newline) lies between each token and the one
    before it in its text. Text t starts at chars[base[t]] (a byte a character) and has
    tokens offsets[t]..offsets[t + 1] - 1, token w its characters starts[w]..ends[w] - 1."""
    out = np.zeros(len(starts), dtype=np.bool_)
    for t in range(len(offsets) - 1):
        at = base[t]
        for w in range(offsets[t] + 1, offsets[t + 1]):
            newline = False  # (a newline, and only such spaces since)
            for x in range(at + ends[w - 1], at + starts[w]):
                c = chars[x]
                if c == 10:
                    if newline:
                        out[w] = True
                        break
                    newline = True
                elif not (c == 32 or c == 9 or c == 13 or c == 12 or c == 11):
                    newline = False
    return out


@njit(nogil=True, cache=True)
def first_use_ids(values: U64) -> tuple[I64, I64]:
    """Each value's number among the distinct values in order of first use, and where each
    distinct value first occurs: `np.unique(values, return_inverse=True)` renumbered by first
    use, from one pass over a hash table (open addressing, at most half full) instead of a
    sort."""
    n = len(values)
    ids = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    size = 1024
    slots = np.full(size, -1, dtype=np.int64)
    shift = np.uint64(64 - 10)
    distinct = 0
    for i in range(n):
        if 2 * (distinct + 1) > size:  # (grown: every distinct value placed again)
            size *= 2
            shift -= np.uint64(1)
            slots = np.full(size, -1, dtype=np.int64)
            for d in range(distinct):
                h = (values[first[d]] * _SPREAD) >> shift
                while slots[h] >= 0:
                    h = (h + np.uint64(1)) & np.uint64(size - 1)
                slots[h] = d
        v = values[i]
        h = (v * _SPREAD) >> shift
        while True:
            d = slots[h]
            if d < 0:
                slots[h] = distinct
                first[distinct] = i
                ids[i] = distinct
                distinct += 1
                break
            if values[first[d]] == v:
                ids[i] = d
                break
            h = (h + np.uint64(1)) & np.uint64(size - 1)
    return ids, first[:distinct].copy()


@njit(nogil=True, cache=True)
def _radix_layout(keys: U64 | I64) -> tuple[np.uint64, np.uint64, int, I64, I64]:
    """What the two counting passes of `sort_values` and `sort_pairs` sort `keys` (two or
    more) by: the smallest key (unsigned), the shift that leaves the top 22 or 24 bits of a key
    above it (a bucket of 2**11 or 2**12 for each half: its counters stay in the CPU's cache),
    the bits of a half, and where each bucket of the low half and of the high half starts."""
    n = len(keys)
    lo = hi = keys[0]
    for v in keys:
        lo = min(lo, v)
        hi = max(hi, v)
    base = np.uint64(lo)
    spread = np.uint64(hi) - base  # (exact for signed values too: v >= lo)
    width = 0
    while width < 64 and (spread >> np.uint64(width)) > np.uint64(0):
        width += 1
    bits = 12 if n > 1 << 21 else 11
    shift = np.uint64(max(width - 2 * bits, 0))
    size = 1 << bits
    low_at = np.zeros(size, dtype=np.int64)
    high_at = np.zeros(size, dtype=np.int64)
    mask, half = np.uint64(size - 1), np.uint64(bits)
    for v in keys:
        key = (np.uint64(v) - base) >> shift
        low_at[key & mask] += 1
        high_at[key >> half] += 1
    low_end = high_end = 0
    for d in range(size):  # (counts -> where each bucket starts)
        low_at[d], low_end = low_end, low_end + low_at[d]
        high_at[d], high_end = high_end, high_end + high_at[d]
    return base, shift, bits, low_at, high_at


#: Below this many values, `sort_values` leaves the sort to numpy.
_RADIX_LEAST = 4096


@njit(nogil=True, cache=True)
def sort_values(values: U64 | I64) -> None:
    """Sort 64-bit integers in place, as `values.sort()` does (the same values in the same
    order), about three times as fast for a million of them or more: two counting passes on
    the top 22 or 24 bits above the smallest value (a bucket of 2**11 or 2**12 for each half:
    its counters stay in the CPU's cache), then each run of values alike in those bits sorted
    on its own (a few values, for hashes or pair codes)."""
    n = len(values)
    if n < _RADIX_LEAST:
        values.sort()
        return
    base, shift, bits, low_at, high_at = _radix_layout(values)
    mask, half = np.uint64((1 << bits) - 1), np.uint64(bits)
    spare = np.empty_like(values)
    for v in values:  # (by the low half of the key, then stably by the high half)
        low = ((np.uint64(v) - base) >> shift) & mask
        spare[low_at[low]] = v
        low_at[low] += 1
    for v in spare:
        high = ((np.uint64(v) - base) >> shift) >> half
        values[high_at[high]] = v
        high_at[high] += 1
    if shift == 0:  # (the key was the whole value)
        return
    start = 0
    run_key = (np.uint64(values[0]) - base) >> shift
    for i in range(1, n + 1):
        key = run_key + np.uint64(1) if i == n else (np.uint64(values[i]) - base) >> shift
        if key == run_key:
            continue
        if i - start > 32:
            values[start:i].sort()
        else:  # (insertion: a handful of values)
            for a in range(start + 1, i):
                x = values[a]
                b = a - 1
                while b >= start and values[b] > x:
                    values[b + 1] = values[b]
                    b -= 1
                values[b + 1] = x
        start, run_key = i, key


@njit(nogil=True, cache=True)
def hashed_ids(slots: I64, bits: int, known: U64, hashes: U64) -> I64:
    """The id of each of `hashes` in a table of `known` (the word hashes of a vocabulary, by
    id): `slots`, 2**bits of them, each -1 or an id placed where its hash leads (open
    addressing, as in `first_use_ids`); -1 for a hash not in it."""
    ids = np.empty(len(hashes), dtype=np.int64)
    shift = np.uint64(64 - bits)
    last = np.uint64(len(slots) - 1)
    for i in range(len(hashes)):
        v = hashes[i]
        h = (v * _SPREAD) >> shift
        while True:
            d = slots[h]
            if d < 0 or known[d] == v:
                ids[i] = d
                break
            h = (h + np.uint64(1)) & last
    return ids


@njit(nogil=True, cache=True)
def place_ids(slots: I64, bits: int, known: U64, first: int) -> None:
    """Place the ids from `first` on of `known` (distinct hashes, none placed yet) in the table
    of `hashed_ids`, which has room for them."""
    shift = np.uint64(64 - bits)
    last = np.uint64(len(slots) - 1)
    for d in range(first, len(known)):
        h = (known[d] * _SPREAD) >> shift
        while slots[h] >= 0:
            h = (h + np.uint64(1)) & last
        slots[h] = d


@njit(nogil=True, cache=True)
def term_counts(flat: I64, lengths: I64, content: npt.NDArray[np.bool_]) -> tuple[I32, I32, I64]:
    """The content words of each document (document d is the next lengths[d] word ids of
    `flat`; a word w counts when content[w]): each distinct one in order of first use within
    its document, its count, and how many each document has, from one pass with a table by
    word id (where its entry of the current document is) instead of a sort. 32-bit ids and
    counts: a worker sends them back, a gigabyte and more at 1M articles."""
    total = len(flat)
    ids = np.empty(total, dtype=np.int32)
    counts = np.empty(total, dtype=np.int32)
    found = np.zeros(len(lengths), dtype=np.int64)
    at = np.full(len(content), -1, dtype=np.int64)  # (an entry before `start`: another's)
    out = 0
    t = 0
    for d in range(len(lengths)):
        start = out
        for _ in range(lengths[d]):
            w = flat[t]
            t += 1
            if content[w]:
                e = at[w]
                if e >= start:
                    counts[e] += 1
                else:
                    at[w] = out
                    ids[out] = w
                    counts[out] = 1
                    out += 1
        found[d] = out - start
    return ids[:out].copy(), counts[:out].copy(), found


@njit(nogil=True, cache=True)
def renumbered_in_rows(lengths: I64, ids: I32, counts: I32, renumber: I64) -> tuple[I32, I32]:
    """Entries (id, count) of a block, row r being the next lengths[r] (ids distinct within a
    row), with each id renumbered (renumber[id], distinct: a block's words in the corpus
    vocabulary) and the entries of each row ordered by their new ids: two counting passes, one
    by the rank of each new id among the block's, then one by row that keeps that order (a sort
    of every entry takes twice as long, and the main process does this for every block)."""
    words = len(renumber)
    rank = np.empty(words, dtype=np.int64)
    rank[np.argsort(renumber)] = np.arange(words)
    start = np.zeros(words + 1, dtype=np.int64)  # (where each rank's entries go)
    for x in range(len(ids)):
        start[rank[ids[x]] + 1] += 1
    for r in range(words):
        start[r + 1] += start[r]
    by_rank = np.empty(len(ids), dtype=np.int64)
    for x in range(len(ids)):
        r = rank[ids[x]]
        by_rank[start[r]] = x
        start[r] += 1
    row_of = np.empty(len(ids), dtype=np.int64)
    row_start = np.zeros(len(lengths), dtype=np.int64)  # (where each row's next entry goes)
    at = 0
    for r in range(len(lengths)):
        row_start[r] = at
        row_of[at : at + lengths[r]] = r
        at += lengths[r]
    new_ids = np.empty(len(ids), dtype=np.int32)
    new_counts = np.empty(len(ids), dtype=np.int32)
    for e in by_rank:
        slot = row_start[row_of[e]]
        row_start[row_of[e]] += 1
        new_ids[slot] = renumber[ids[e]]
        new_counts[slot] = counts[e]
    return new_ids, new_counts


@njit(nogil=True, cache=True)
def l2_normalize_rows(indptr: Index, data: F64) -> None:
    """Each row of a CSR matrix (`indptr`, `data`) divided by its l2 norm, in place; a row of
    zeros left as it is: scikit-learn's `normalize(norm="l2")`, the same operations in the same
    order (the sum of squares from the row's first value to its last), so the same bits."""
    for i in range(len(indptr) - 1):
        total = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            total += data[j] * data[j]
        if total == 0.0:
            continue
        norm = np.sqrt(total)
        for j in range(indptr[i], indptr[i + 1]):
            data[j] /= norm


@njit(nogil=True, cache=True)
def merge_counts(values: U64, counts: I64, more: U64, deltas: I64) -> tuple[U64, I64, I64]:
    """Counts of sorted distinct values with `deltas` added to those of `more` (sorted,
    distinct; values not there yet come in), those that fall to 0 or below left out, and the
    counts of `more` now (0: left out): one pass over both."""
    out_values = np.empty(len(values) + len(more), dtype=values.dtype)
    out_counts = np.empty(len(values) + len(more), dtype=np.int64)
    now = np.zeros(len(more), dtype=np.int64)
    i = j = n = 0
    while i < len(values) or j < len(more):
        if j == len(more) or (i < len(values) and values[i] < more[j]):
            v, c = values[i], counts[i]
            i += 1
        else:
            if i == len(values) or more[j] < values[i]:
                v, c = more[j], deltas[j]
            else:
                v, c = values[i], counts[i] + deltas[j]
                i += 1
            now[j] = max(c, 0)
            j += 1
        if c > 0:
            out_values[n] = v
            out_counts[n] = c
            n += 1
    return out_values[:n].copy(), out_counts[:n].copy(), now


@njit(nogil=True, cache=True)
def sort_pairs(pairs: I64) -> None:
    """Sort rows (key, article) in place by key, then article (the rows of
    `pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]`), as `sort_values` sorts: two counting
    passes moving whole rows by the top 22 or 24 bits of the key above the smallest, then each
    run of rows alike in those bits sorted on its own."""
    n = pairs.shape[0]
    if n < 2:
        return
    base, shift, bits, low_at, high_at = _radix_layout(pairs[:, 0])
    mask, half = np.uint64((1 << bits) - 1), np.uint64(bits)
    spare = np.empty_like(pairs)
    for i in range(n):
        low = ((np.uint64(pairs[i, 0]) - base) >> shift) & mask
        spare[low_at[low], 0] = pairs[i, 0]
        spare[low_at[low], 1] = pairs[i, 1]
        low_at[low] += 1
    for i in range(n):
        high = ((np.uint64(spare[i, 0]) - base) >> shift) >> half
        pairs[high_at[high], 0] = spare[i, 0]
        pairs[high_at[high], 1] = spare[i, 1]
        high_at[high] += 1
    start = 0
    run_key = (np.uint64(pairs[0, 0]) - base) >> shift
    for i in range(1, n + 1):
        key = run_key + np.uint64(1) if i == n else (np.uint64(pairs[i, 0]) - base) >> shift
        if key == run_key:
            continue
        if i - start > 32:  # (by article, then stably by key)
            run = pairs[start:i].copy()
            run = run[np.argsort(run[:, 1], kind="mergesort")]
            run = run[np.argsort(run[:, 0], kind="mergesort")]
            pairs[start:i] = run
        else:  # (insertion: a handful of rows)
            for a in range(start + 1, i):
                k, v = pairs[a, 0], pairs[a, 1]
                b = a - 1
                while b >= start and (pairs[b, 0] > k or (pairs[b, 0] == k and pairs[b, 1] > v)):
                    pairs[b + 1, 0] = pairs[b, 0]
                    pairs[b + 1, 1] = pairs[b, 1]
                    b -= 1
                pairs[b + 1, 0] = k
                pairs[b + 1, 1] = v
        start, run_key = i, key


@njit(nogil=True, cache=True)
def linked_groups(
    left: I64,
    right: I64,
    n: int,
    known: I64,
    indptr: Index,
    indices: Index,
    data: F64,
    least: float,
    most_pairs: int,
) -> tuple[I64, I64]:
    """`dedup.stories.group` of matches between rows, taken in order (left[k] < right[k]): each
    row's group (-1 for none) and each group's size, the groups numbered in order of making
    (a group merged into another is left empty). Two groups merge when every pair of their rows
    is a match (its code i * n + j, i < j, in the sorted `known`) or has a cosine of at least
    `least` (`row_dot` of the CSR rows, each computed once), unless they are more than
    `most_pairs` pairs. Each group's rows are a chain (`after`), in the order they joined."""
    group = np.full(n, -1, dtype=np.int64)
    after = np.full(n, -1, dtype=np.int64)
    cap = 2 * len(left) + 1
    first = np.empty(cap, dtype=np.int64)
    last = np.empty(cap, dtype=np.int64)
    size = np.zeros(cap, dtype=np.int64)
    related = dict()
    related[np.int64(-1)] = True  # (its key and value types)
    made = 0
    for k in range(len(left)):
        a, b = left[k], right[k]
        for x in (a, b):
            if group[x] < 0:
                group[x], first[made], last[made], size[made] = made, x, x, 1
                made += 1
        ga, gb = group[a], group[b]
        if ga == gb or size[ga] * size[gb] > most_pairs:
            continue
        close = True
        x = first[ga]
        while x >= 0 and close:
            y = first[gb]
            while y >= 0:
                i, j = min(x, y), max(x, y)
                code = i * n + j
                at = np.searchsorted(known, code)
                if at >= len(known) or known[at] != code:
                    if code not in related:
                        related[code] = row_dot(indptr, indices, data, i, j) >= least
                    if not related[code]:
                        close = False
                        break
                y = after[y]
            x = after[x]
        if close:
            after[last[ga]] = first[gb]
            last[ga] = last[gb]
            size[ga] += size[gb]
            size[gb] = 0
            y = first[gb]
            while y >= 0:
                group[y] = ga
                y = after[y]
    return group, size[:made]
