"""Posting lists as sorted runs (dedup.postings): whatever the history of adds, merges and
removes, lookups give what a plain dictionary of postings gives."""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict

import numpy as np
import pytest

from dedup import postings
from dedup.postings import ANCHORS, BANDS, SCHEMA, Postings, chunk_starts, tier

LOWEST, HIGHEST = -(1 << 63), (1 << 63) - 1


@pytest.fixture
def small(monkeypatch):
    """Runs small enough that a few adds make chunks, tiers, merges and merge slices."""
    monkeypatch.setattr(postings, "CHUNK", 4)
    monkeypatch.setattr(postings, "FANOUT", 3)
    monkeypatch.setattr(postings, "TIER_BASE", 16)
    monkeypatch.setattr(postings, "SLICE", 40)
    monkeypatch.setattr(postings, "MAX_RUNS", 4)


def open_postings() -> tuple[sqlite3.Connection, Postings]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    return conn, Postings(conn)


def test_chunks_never_split_a_key(small):
    keys = np.array([1, 1, 1, 1, 1, 1, 2, 3, 3, 4, 5, 6, 7, 7, 7], dtype=np.int64)
    starts = chunk_starts(keys).tolist()
    assert starts == [0, 6, 9, 12]  # cuts at 0, 4, 8, 12, each moved on to a new key
    assert chunk_starts(np.zeros(0, dtype=np.int64)).tolist() == []


def test_tiers_grow_by_the_fanout(small):
    assert [tier(n) for n in (1, 47, 48, 143, 144, 432)] == [0, 0, 1, 1, 2, 3]


@pytest.mark.parametrize("seed", range(6))
def test_lookups_follow_a_dictionary_through_adds_merges_and_removes(small, seed):
    """Random adds of postings (many to a key, keys at the ends of int64), removes and settles:
    every lookup and every stored posting is the dictionary's, and the structure audits
    clean."""
    rng = random.Random(seed)
    conn, lists = open_postings()
    # Few distinct keys (long posting lists, keys shared across runs) and the extremes of int64.
    pool = [LOWEST, HIGHEST, 0, -1, *(rng.randrange(LOWEST, HIGHEST) for _ in range(40))]
    model: dict[int, dict[int, set[int]]] = {BANDS: defaultdict(set), ANCHORS: defaultdict(set)}
    removed: set[int] = set()
    article = 0
    runs_written = 0
    for step in range(40):
        conn.execute("BEGIN")
        if step % 7 == 6 and article:
            gone = set(rng.sample(range(1, article + 1), k=min(article, 3)))
            lists.remove(sorted(gone))
            removed |= gone
        else:
            for kind in (BANDS, ANCHORS):
                keys, owners = [], []
                for a in range(article + 1, article + 1 + rng.randint(1, 6)):
                    for key in rng.sample(pool, k=rng.randint(0, 8)):
                        keys.append(key)
                        owners.append(a)
                        model[kind][key].add(a)
                lists.add(kind, np.array(keys, dtype=np.int64), np.array(owners, dtype=np.int64))
                runs_written += bool(keys)
            article += 6
        if step % 5 == 4:
            lists.settle()  # (as each add ends)
        conn.execute("COMMIT")
        assert lists.audit() == []
        for kind in (BANDS, ANCHORS):
            asked = [*rng.sample(pool, k=10), 12345, LOWEST + 1]
            found = lists.lookup(kind, asked)
            assert found == [sorted(model[kind].get(k, set()) - removed) for k in asked]
            keys, owners = lists.everything(kind)
            expected = sorted((k, a) for k, arts in model[kind].items() for a in arts - removed)
            assert list(zip(keys.tolist(), owners.tolist(), strict=True)) == expected
    runs_now = len(lists.runs(BANDS)) + len(lists.runs(ANCHORS))
    assert runs_now < runs_written / 2, "runs were never merged"
    # Merges dropped the postings of removed articles.
    stored = conn.execute("SELECT postings FROM chunks").fetchall()
    still = {int(a) for (blob,) in stored for a in np.frombuffer(blob, dtype="<i8")[1::2]}
    assert still & removed != removed


def test_a_lookup_sees_every_write_not_its_cache(small):
    """Lookups cache the runs by the version every write counts up, so that a reader whose
    snapshot is newer than its cache reads again."""
    conn, lists = open_postings()
    lists.add(BANDS, np.array([5, 6], dtype=np.int64), np.array([1, 1], dtype=np.int64))
    assert lists.lookup(BANDS, [5, 7]) == [[1], []]
    other = Postings(conn)  # (another reader's view of the same index)
    assert other.lookup(BANDS, [5, 7]) == [[1], []]
    lists.add(BANDS, np.array([5, 7], dtype=np.int64), np.array([2, 2], dtype=np.int64))
    assert other.lookup(BANDS, [5, 7]) == [[1, 2], [2]]
    lists.remove([1])
    assert other.lookup(BANDS, [5, 6, 7]) == [[2], [], [2]]
    later = list(range(3, 3 + 3 * postings.FANOUT))
    for a in later:  # (merges too)
        lists.add(BANDS, np.array([9], dtype=np.int64), np.array([a], dtype=np.int64))
    assert len(lists.runs(BANDS)) < len(later)
    assert other.lookup(BANDS, [5, 9]) == [[2], later]


def test_audit_finds_a_chunk_that_does_not_match_its_run(small):
    conn, lists = open_postings()
    keys = np.arange(20, dtype=np.int64)
    lists.add(ANCHORS, keys, keys + 100)
    assert lists.audit() == []
    wrong = np.arange(8, dtype="<i8").tobytes()  # keys 0, 2, 4, 6: not the run's fence
    conn.execute("UPDATE chunks SET postings = ? WHERE id = 2", (wrong,))
    assert lists.audit() and "does not match" in lists.audit()[0]
    conn.execute("INSERT INTO chunks (id, postings) VALUES (99, x'')")
    assert any("belong to no run" in p for p in lists.audit())


def test_a_settle_of_every_run_forgets_the_removed(small):
    conn, lists = open_postings()
    for a in (1, 2, 3):
        for kind in (BANDS, ANCHORS):
            lists.add(kind, np.array([10 * a, 7], dtype=np.int64), np.array([a, a]))
    lists.remove([2])
    lists.settle()  # both kinds had three runs: all are merged, without article 2
    assert [len(lists.runs(k)) for k in (BANDS, ANCHORS)] == [1, 1]
    assert conn.execute("SELECT COUNT(*) FROM removed").fetchone()[0] == 0
    assert lists.lookup(BANDS, [7, 20]) == [[1, 3], []]
    assert lists.audit() == []
    lists.add(BANDS, np.array([7], dtype=np.int64), np.array([4]))
    lists.remove([3])
    lists.settle()  # the anchors' one run is not merged: it still holds article 3
    assert conn.execute("SELECT article FROM removed").fetchall() == [(3,)]
    assert lists.lookup(ANCHORS, [7, 30]) == [[1], []]
