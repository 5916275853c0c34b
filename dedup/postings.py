"""Posting lists (64-bit key -> article row ids) in SQLite, as sorted runs that merge.

The archive index keeps two posting lists: the LSH band keys of every article's signatures and
its anchor shingles. Inserting them into one SQLite b-tree keyed by a random hash makes every
commit rewrite most of that b-tree's pages once the index is large (at 1M articles, about 94M
postings: most of an add's time went there). Here instead, a log-structured merge:

- each add writes its postings of one kind as a new *run*, sorted by (key, article) and cut into
  *chunks* of about `CHUNK` postings (a blob of int64 pairs a row); writing only appends pages;
- when `FANOUT` runs of one size tier are the newest of their kind, they are merged into one, by
  key range (at most `SLICE` postings in memory at once): a posting is rewritten about
  log_FANOUT(postings / TIER_BASE) times, and a lookup reads at most a few runs per tier;
- after an add, when the newer runs hold SETTLE_SHARE of the oldest one's postings, all are
  merged into one (`settle`): an add of many articles leaves one run, a few articles at a time
  leave small runs (each read costs a lookup a page) until they add up. Once an add is sure to
  end so, its runs are merged only when there are more than MAX_RUNS: each posting is then
  written about twice in all;
- a run's chunks have consecutive ids from `first_chunk`, and `lasts` (its fence) holds each
  chunk's last key: a lookup finds the one chunk of each run that can hold a key by a binary
  search, reads every chunk it needs in one statement and picks the postings of the keys asked
  from all of them at once. A key's postings are never split between two chunks;
- removing an article leaves the runs alone: its row id goes into `removed`, lookups skip it and
  merges drop its postings; a settle that merges every run empties `removed`. The caller never
  gives a new article the row id of one in `removed` (see `next_rowid`).

Runs are numbered in the order written; a merge takes neighbouring runs of a kind and its result
takes the number of the oldest of them, so the run order stays the age order (and within a key,
postings stay in article order: row ids grow with age).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .arrays import distinct

__all__ = ["ANCHORS", "BANDS", "CHUNK", "FANOUT", "SCHEMA", "TABLES", "Postings", "next_rowid"]

I64 = npt.NDArray[np.int64]

#: Kinds of posting list (`runs.kind`).
BANDS, ANCHORS = 1, 2
#: Postings a chunk holds (more when a key's postings would straddle the cut).
CHUNK = 128
#: Runs of one size tier that are merged into one.
FANOUT = 8
#: Size tiers of runs: tier t >= 1 holds runs of TIER_BASE * FANOUT**t postings up to FANOUT
#: times that; tier 0, the smaller ones.
TIER_BASE = 1 << 16
#: Share of the oldest run's postings that the newer runs reach before `settle` merges them all.
SETTLE_SHARE = 0.25
#: Runs of a kind an add leaves before its settle, at most (more cost a check a page each).
MAX_RUNS = 32
#: Postings a merge holds in memory at once (it merges the runs' key ranges one at a time).
SLICE = 1 << 20

SCHEMA = """
-- Posting lists (key -> article row ids) as sorted runs; see dedup.postings.
CREATE TABLE runs (run INTEGER PRIMARY KEY, kind INTEGER NOT NULL, postings INTEGER NOT NULL,
                   first_chunk INTEGER NOT NULL,  -- its chunks' ids: first_chunk, + 1, ...
                   lasts BLOB NOT NULL);          -- each chunk's last key, int64 little-endian
CREATE INDEX runs_kind ON runs (kind, run);
CREATE TABLE chunks (id INTEGER PRIMARY KEY,
                     postings BLOB NOT NULL);  -- (key, article row id) pairs, int64 little-endian
-- Row ids of removed (or replaced) articles whose postings may still be in runs.
CREATE TABLE removed (article INTEGER PRIMARY KEY);
-- Counted up by every write: what a reader caches the runs by.
CREATE TABLE postings_state (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL);
INSERT INTO postings_state (one, version) VALUES (1, 0);
"""
TABLES = ("runs", "chunks", "removed", "postings_state")

_EMPTY = np.zeros(0, dtype=np.int64)
_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)
_LE = np.dtype("<i8")


@dataclass(frozen=True)
class Run:
    """A run as the `runs` table holds it (`lasts`: its fence)."""

    run: int
    postings: int
    first_chunk: int
    lasts: I64


def next_rowid(conn: sqlite3.Connection) -> int:
    """The row id for the next article: past every article's and every removed one's, so that
    no posting left of a removed article names a new one."""
    row = conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(rowid) FROM articles), 0), "
        "COALESCE((SELECT MAX(article) FROM removed), 0))"
    ).fetchone()
    return int(row[0]) + 1


def tier(postings: int) -> int:
    """The size tier of a run of `postings` postings."""
    t, size = 0, TIER_BASE * FANOUT
    while postings >= size:
        t, size = t + 1, size * FANOUT
    return t


def chunk_starts(keys: I64) -> I64:
    """Where each chunk of sorted `keys` starts: about every CHUNK postings, moved on to the
    next new key so that no key's postings are split."""
    if not len(keys):
        return _EMPTY
    new = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    at = np.searchsorted(new, np.arange(0, len(keys), CHUNK))
    starts: I64 = distinct(new[at[at < len(new)]])
    return starts


class Postings:
    """The posting lists of one index connection. Writes happen inside the caller's write
    transaction; reads inside its read snapshot. A lookup caches the runs and removed row ids
    by the version the snapshot holds (`postings_state`, counted up by every write)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._cache: tuple[int, dict[int, list[Run]], frozenset[int]] | None = None
        # Runs merged by `settle` alone, not as they pile up: for a writer whose file no one
        # reads before its last settle (each posting is then written twice in all).
        self.settle_only = False

    # -- reading --------------------------------------------------------------------------------

    def runs(self, kind: int) -> list[Run]:
        """The runs of `kind`, oldest first."""
        return [
            Run(int(r), int(p), int(f), np.frombuffer(lasts, dtype=_LE).astype(np.int64))
            for r, p, f, lasts in self._conn.execute(
                "SELECT run, postings, first_chunk, lasts FROM runs WHERE kind = ? ORDER BY run",
                (kind,),
            )
        ]

    def removed(self) -> frozenset[int]:
        """Row ids of removed articles (whose postings lookups skip)."""
        return frozenset(r[0] for r in self._conn.execute("SELECT article FROM removed"))

    def _state(self) -> tuple[dict[int, list[Run]], frozenset[int]]:
        row = self._conn.execute("SELECT version FROM postings_state WHERE one = 1").fetchone()
        version = int(row[0])
        if self._cache is None or self._cache[0] != version:
            runs = {kind: self.runs(kind) for kind in (BANDS, ANCHORS)}
            self._cache = (version, runs, self.removed())
        return self._cache[1], self._cache[2]

    def lookup(self, kind: int, keys: Sequence[int]) -> list[list[int]]:
        """The live articles of each key (sorted row ids)."""
        runs, removed = self._state()
        query = np.asarray(keys, dtype=np.int64)
        ids = [
            run.first_chunk + at[at < len(run.lasts)]
            for run in runs[kind]
            for at in [np.searchsorted(run.lasts, query)]
        ]
        wanted = np.unique(np.concatenate([_EMPTY, *ids])).tolist()
        per = max(1, self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 8)
        pairs = _pairs(
            row[0]
            for start in range(0, len(wanted), per)
            for part in [wanted[start : start + per]]
            for row in self._conn.execute(
                f"SELECT postings FROM chunks WHERE id IN ({','.join('?' * len(part))})", part
            )
        )
        # A chunk read for one key holds every posting its run has of any key asked that falls
        # in its range; each chunk is read once, so each posting is counted once.
        hit = pairs[np.isin(pairs[:, 0], query)]
        hit = hit[np.lexsort((hit[:, 1], hit[:, 0]))]
        lo = np.searchsorted(hit[:, 0], query, "left").tolist()
        hi = np.searchsorted(hit[:, 0], query, "right").tolist()
        articles = hit[:, 1].tolist()
        found = [articles[a:b] for a, b in zip(lo, hi, strict=True)]
        if removed:
            found = [[a for a in arts if a not in removed] for arts in found]
        return found

    def _range(self, run: Run, lo: int, hi: int | None) -> I64:
        """The postings (key, article rows) of `run` with keys in [lo, hi) (hi None: no end)."""
        n = len(run.lasts)
        c0 = int(np.searchsorted(run.lasts, lo))
        c1 = n - 1 if hi is None else min(n - 1, int(np.searchsorted(run.lasts, hi)))
        if c0 >= n or c1 < c0:
            return _NO_PAIRS
        pairs = _pairs(
            r[0]
            for r in self._conn.execute(
                "SELECT postings FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id",
                (run.first_chunk + c0, run.first_chunk + c1),
            )
        )
        keys = pairs[:, 0]
        first = int(np.searchsorted(keys, lo))
        last = len(keys) if hi is None else int(np.searchsorted(keys, hi))
        return pairs[first:last]

    def everything(self, kind: int) -> tuple[I64, I64]:
        """Every live posting of `kind` as (keys, articles), sorted by key then article."""
        removed = np.array(sorted(self.removed()), dtype=np.int64)
        pairs = np.concatenate(
            [_NO_PAIRS, *[self._range(r, -(1 << 63), None) for r in self.runs(kind)]]
        )
        keys, arts = pairs[:, 0], pairs[:, 1]
        live = ~np.isin(arts, removed)
        keys, arts = keys[live], arts[live]
        order = np.lexsort((arts, keys))
        return keys[order], arts[order]

    def audit(self) -> list[str]:
        """Problems of the runs' structure (empty when sound): each run's chunks are there,
        sorted by key then article, end at its fence's keys and split no key; no chunk belongs
        to no run; the runs of a kind hold ever younger articles."""
        problems: list[str] = []
        owned = 0
        for kind in (BANDS, ANCHORS):
            youngest = -1
            for run in self.runs(kind):
                rows = self._conn.execute(
                    "SELECT postings FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id",
                    (run.first_chunk, run.first_chunk + len(run.lasts) - 1),
                ).fetchall()
                owned += len(rows)
                pairs = [_pairs([blob]) for (blob,) in rows]
                keys = [p[:, 0] for p in pairs]
                sizes = [len(k) for k in keys]
                every = np.concatenate([_NO_PAIRS, *pairs])
                same = every[1:, 0] == every[:-1, 0]
                articles = every[:, 1]
                if (
                    len(rows) != len(run.lasts)
                    or any(len(blob) % 16 for (blob,) in rows)
                    or sum(sizes) != run.postings
                    or not all(len(k) for k in keys)
                    or np.any(every[1:, 0] < every[:-1, 0])
                    or np.any(same & (every[1:, 1] <= every[:-1, 1]))
                    or (len(articles) and int(articles.min()) <= youngest)
                    or [int(k[-1]) for k in keys] != run.lasts.tolist()
                    or any(int(b[0]) == int(a[-1]) for a, b in itertools.pairwise(keys))
                ):
                    problems.append(f"postings: run {run.run} does not match its chunks")
                youngest = max(youngest, int(articles.max()) if len(articles) else -1)
        if owned != self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]:
            problems.append("postings: chunks that belong to no run")
        return problems

    # -- writing --------------------------------------------------------------------------------

    def add(self, kind: int, keys: I64, articles: I64) -> None:
        """Write postings as a new run of `kind`, then merge while a tier's newest runs fill."""
        if not len(keys):
            return
        from .kernels import sort_pairs  # (numba: imported by writers, not by every check)

        pairs = np.stack([keys, articles], axis=1).astype(np.int64, copy=False)
        sort_pairs(pairs)
        writer = _RunWriter(self._conn, kind)
        writer.write(pairs)
        writer.finish()
        self._merge(kind)
        self._changed()

    def remove(self, rowids: Iterable[int]) -> None:
        """Note articles as removed: lookups skip their postings, merges drop them."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO removed (article) VALUES (?)", [(int(r),) for r in rowids]
        )
        self._changed()

    def settle(self) -> None:
        """Merge every run of a kind into one when the runs after the oldest hold SETTLE_SHARE
        of its postings or more. The writer calls it at the end of each add: a lookup then reads
        about one chunk per key asked, as from a single b-tree, where each run it has to read
        costs a page. When every run of both kinds was merged (or there are none), no posting of
        a removed article is left: `removed` is emptied."""
        rewritten = 0
        for kind in (BANDS, ANCHORS):
            runs = self.runs(kind)
            if _unsettled(runs):
                self._merge_runs(kind, runs)
            rewritten += _unsettled(runs) or not runs
        if rewritten == 2 and self._conn.execute("SELECT 1 FROM removed LIMIT 1").fetchone():
            self._conn.execute("DELETE FROM removed")
            self._changed()

    def _merge(self, kind: int) -> None:
        while not self.settle_only:
            runs = self.runs(kind)
            # Once the settle ending this add will merge them all, only their number is kept
            # down (for checks meanwhile).
            lazy = _unsettled(runs)
            if len(runs) < FANOUT or (lazy and len(runs) <= MAX_RUNS):
                return
            tiers = [tier(r.postings) for r in runs]
            newest = len(runs)
            while newest > 0 and tiers[newest - 1] == tiers[-1]:
                newest -= 1
            if len(runs) - newest >= FANOUT:
                self._merge_runs(kind, runs[newest:])
            elif lazy:  # the FANOUT neighbours (after the oldest) that hold the fewest postings
                sizes = np.array([r.postings for r in runs[1:]])
                totals = np.convolve(sizes, np.ones(FANOUT, dtype=np.int64), "valid")
                first = 1 + int(np.argmin(totals))
                self._merge_runs(kind, runs[first : first + FANOUT])
            else:
                return

    def _merge_runs(self, kind: int, runs: Sequence[Run]) -> None:
        """Merge `runs` (neighbours of `kind`, oldest first) into one, key range by key range,
        without the postings of removed articles."""
        from .kernels import sort_pairs  # (numba: imported by writers, not by every check)

        removed = np.array(sorted(self.removed()), dtype=np.int64)
        total = sum(r.postings for r in runs)
        slices = max(1, -(-total // SLICE))
        edges: list[int | None] = [-(1 << 63) + (i << 64) // slices for i in range(slices)]
        edges.append(None)
        writer = _RunWriter(self._conn, kind)
        for lo, hi in itertools.pairwise(edges):
            assert lo is not None
            # Each run holds younger (larger) row ids than the one before: (key, article) order
            # is the merge's, which keeps the run order within a key.
            pairs = np.concatenate([_NO_PAIRS, *(self._range(run, lo, hi) for run in runs)])
            sort_pairs(pairs)
            if len(removed):
                pairs = pairs[~np.isin(pairs[:, 1], removed)]
            writer.write(pairs)
        for run in runs:
            self._conn.execute(
                "DELETE FROM chunks WHERE id BETWEEN ? AND ?",
                (run.first_chunk, run.first_chunk + len(run.lasts) - 1),
            )
        self._conn.execute(
            f"DELETE FROM runs WHERE run IN ({','.join('?' * len(runs))})", [r.run for r in runs]
        )
        writer.finish(runs[0].run)  # (in their place: the run order stays the age order)
        self._changed()

    def _changed(self) -> None:
        self._conn.execute("UPDATE postings_state SET version = version + 1 WHERE one = 1")


def _unsettled(runs: Sequence[Run]) -> bool:
    """Whether `settle` merges these runs."""
    return len(runs) > 1 and sum(r.postings for r in runs[1:]) >= SETTLE_SHARE * runs[0].postings


def _pairs(blobs: Iterable[bytes]) -> I64:
    """The (key, article) rows of chunks' blobs, in their order."""
    flat = np.frombuffer(b"".join(blobs), dtype=_LE).astype(np.int64)
    return flat.reshape(-1, 2)


class _RunWriter:
    """Writes one run's chunks as its sorted postings come, then the run."""

    def __init__(self, conn: sqlite3.Connection, kind: int) -> None:
        self._conn = conn
        self._kind = kind
        row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM chunks").fetchone()
        self._first = self._next = int(row[0]) + 1
        self._lasts: list[I64] = []
        self._postings = 0

    def write(self, pairs: I64) -> None:
        """Append postings (key, article rows) sorted by key then article, all after those
        written before."""
        if not len(pairs):
            return
        keys = pairs[:, 0]
        starts = chunk_starts(keys)
        ends = np.append(starts[1:], len(keys))
        raw = pairs.astype(_LE, copy=False).tobytes()
        cuts = zip(starts.tolist(), ends.tolist(), strict=True)
        self._conn.executemany(
            "INSERT INTO chunks (id, postings) VALUES (?, ?)",
            ((self._next + i, raw[16 * s : 16 * e]) for i, (s, e) in enumerate(cuts)),
        )
        self._next += len(starts)
        self._lasts.append(keys[ends - 1])
        self._postings += len(keys)

    def finish(self, run: int | None = None) -> None:
        """Record the run, numbered `run` (default: after every run); nothing when it has no
        postings."""
        if not self._postings:
            return
        lasts = np.concatenate(self._lasts).astype(_LE, copy=False).tobytes()
        self._conn.execute(
            "INSERT INTO runs (run, kind, postings, first_chunk, lasts) VALUES (?, ?, ?, ?, ?)",
            (run, self._kind, self._postings, self._first, lasts),
        )
