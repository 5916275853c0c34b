"""The array helpers equal the numpy routines they stand in for."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup import arrays
from dedup.arrays import distinct, grouped_order, in_sorted


@given(
    st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 9), max_size=100),
    st.sampled_from([np.uint64, np.int64]),
)
def test_distinct_equals_numpy_unique(values, dtype):
    array = np.asarray(values, dtype=np.uint64).astype(dtype)
    found = distinct(array)
    assert found.dtype == array.dtype
    assert found.tolist() == np.unique(array).tolist()


@pytest.mark.parametrize("slot_bits", [2, 20])
@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 50), max_size=300))
def test_numbered_values_equal_numpy_unique(slot_bits, values):
    # Values are numbered through a hash table; with 4 slots most of them collide and are
    # found by binary search instead.
    array = np.asarray(values, dtype=np.uint64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arrays, "_SLOT_BITS", slot_bits)
        found, inverse = arrays.numbered(array)
    expected, expected_inverse = np.unique(array, return_inverse=True)
    assert found.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.ravel().tolist()


@given(
    st.lists(
        st.sampled_from([0, 1, 2, 5, 2**40, 2**40 + 1, 2**63 + 7, 2**64 - 1])
        | st.integers(0, 2**64 - 1),
        max_size=200,
    )
)
def test_grouped_order_puts_equal_keys_together(values):
    # Keys that differ only in the bits that hold positions (small numbers here) share their
    # high bits, and those runs are put in order by the whole key; the others come from the
    # sort of packed values. Either way each key's positions are all in one run, and the
    # order is a permutation.
    keys = np.asarray(values, dtype=np.uint64)
    order = grouped_order(keys)
    assert sorted(order.tolist()) == list(range(len(keys)))
    ordered = keys[order].tolist()
    runs = [k for i, k in enumerate(ordered) if i == 0 or ordered[i - 1] != k]
    assert len(runs) == len(set(ordered))


@given(
    st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 9), max_size=100),
    st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 9), max_size=30),
)
def test_in_sorted_is_membership(values, table):
    # A bitmap of the table's low bits decides most values; equal low bits are looked up
    # (values with a table value's low bits but another high bit are not members).
    values = values + [t ^ (1 << 40) for t in table]
    table_array = np.unique(np.asarray(table, dtype=np.uint64))
    found = in_sorted(np.asarray(values, dtype=np.uint64), table_array)
    assert found.tolist() == [v in set(table) for v in values]
    # a sorted table may repeat values
    repeated = np.sort(np.asarray(table + table, dtype=np.uint64))
    assert in_sorted(np.asarray(values, dtype=np.uint64), repeated).tolist() == found.tolist()
    # a few values at a time, as a corpus's shingles go through it
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "IN_SORTED_STEP", 3)
        stepped = in_sorted(np.asarray(values, dtype=np.uint64), table_array)
    assert stepped.tolist() == found.tolist()
