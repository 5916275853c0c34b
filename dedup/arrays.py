"""Sets and groups of numpy arrays by sorting values alone: faster than `np.argsort`, and than
numpy's own set routines where these hash (numpy 2.4's `np.unique` of plain int64 values hashes
them, several times slower than a sort)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

#: Distinct values are numbered through a table of 2**_SLOT_BITS slots (`numbered`).
_SLOT_BITS = 20
_SLOT_HASH = np.uint64(0xD6E8FEB86659FD93)


def distinct(values: np.ndarray, runs: bool = False) -> np.ndarray:
    """`np.unique(values)` of a 1-d array: its distinct values, ascending, from one sort.
    `runs`: the values are a few ascending runs (sorted arrays one after another), which a
    stable sort (timsort) merges in about one pass: ten times as fast as a quicksort."""
    if runs or values.dtype not in (np.uint64, np.int64):
        ordered = np.sort(values, kind="stable" if runs else None)
    else:
        ordered = values.copy()
        sort_ints(ordered)
    if len(ordered) < 2:
        return ordered
    new = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    return ordered[new]


def numbered(values: U64) -> tuple[U64, npt.NDArray[np.intp]]:
    """`np.unique(values, return_inverse=True)`, faster: the distinct values from a sort of the
    values alone (no argsort), each value's number from a table indexed by a hash of it; the
    few values whose slot another took are looked up by binary search."""
    uniq = distinct(values)
    shift = np.uint64(64 - _SLOT_BITS)
    with np.errstate(over="ignore"):
        table = np.zeros(1 << _SLOT_BITS, dtype=np.intp)
        table[(uniq * _SLOT_HASH) >> shift] = np.arange(len(uniq))
        inverse = table[(values * _SLOT_HASH) >> shift]
    wrong = np.flatnonzero(uniq[inverse] != values) if len(uniq) else inverse
    inverse[wrong] = np.searchsorted(uniq, values[wrong])
    return uniq, inverse


def grouped_order(keys: U64) -> I64:
    """An order of `keys` that puts equal keys together (as `np.argsort` does, but for the order
    within a group), several times faster: a sort of the values alone, each key's high bits
    with its position in the low bits. Different keys that share their high bits (for a million
    keys, 44 bits: about one call in forty has some; for twenty million, a few hundred) are
    put in order by their whole value, only those."""
    bits = max(1, (len(keys) - 1).bit_length())
    if bits > 32:
        return np.argsort(keys)
    position = np.uint64((1 << bits) - 1)
    packed = keys & ~position
    packed |= np.arange(len(keys), dtype=np.uint64)
    sort_ints(packed)
    order = (packed & position).astype(np.int64)
    high = packed >> np.uint64(bits)
    del packed
    ordered = keys[order]
    same_high = high[1:] == high[:-1]
    mixed = same_high & (ordered[1:] != ordered[:-1])
    if mixed.any():  # (the runs of one high part holding different keys, sorted whole)
        run = np.concatenate(([0], np.cumsum(~same_high)))
        bad = np.zeros(run[-1] + 1, dtype=bool)
        bad[run[1:][mixed]] = True
        at = np.flatnonzero(bad[run])
        order[at] = order[at[np.lexsort((ordered[at], run[at]))]]
    return order


def bitmap_bits(size: int) -> int:
    """The low bits a bitmap of a table of `size` values is indexed by (`in_sorted`,
    `kernels.drop_in_rows`): about 64 slots a value, between 4 KB and 4 MB."""
    return min(22, max(12, (64 * size).bit_length()))


#: Values `in_sorted` checks in one step.
IN_SORTED_STEP = 1 << 18


def in_sorted(values: U64, table: U64) -> npt.NDArray[np.bool_]:
    """Whether each of `values` is in `table` (sorted). A bitmap of the table's low bits
    clears most values at once; only the rest are looked up. The bitmap has about 64 slots a
    table value (about one value in 64 passes it), between 4 KB and 4 MB, and the values go
    through it IN_SORTED_STEP at a time: the bitmap and the step's temporaries stay in the CPU's
    caches, and no temporary is large enough to be fresh memory from the system each time. For
    tables of up to about a million values (boilerplate, stop words): a larger one fills the
    bitmap, and nearly every value is looked up by binary search."""
    found = np.zeros(len(values), dtype=bool)
    if not len(table) or not len(values):
        return found
    bits = bitmap_bits(len(table))
    low = np.uint64((1 << bits) - 1)
    bitmap = np.zeros(1 << bits, dtype=bool)
    bitmap[(table & low).astype(np.intp)] = True
    for lo in range(0, len(values), IN_SORTED_STEP):
        part = values[lo : lo + IN_SORTED_STEP]
        maybe = np.flatnonzero(bitmap[(part & low).view(np.int64)])  # (below 2**22: an index)
        if len(maybe):
            hits = part[maybe]
            pos = np.minimum(np.searchsorted(table, hits), len(table) - 1)
            found[lo + maybe] = table[pos] == hits
    return found


def sort_ints(values: npt.NDArray[np.uint64] | npt.NDArray[np.int64]) -> None:
    """Sort 64-bit integers in place: `values.sort()`, compiled (`kernels.sort_values`) when
    there are many."""
    if len(values) < 1 << 16:
        values.sort()
        return
    from .kernels import sort_values  # (numba: imported for large arrays only)

    sort_values(values)
