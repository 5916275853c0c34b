"""The words of a corpus's texts, kept from fingerprinting for the passage trace.

Fingerprinting tokenises every text. Tracing the shared passages of pairs needs the same words
(their ids, their spans, the paragraph breaks) for the texts of every pair it traces, and
tokenising them again took two fifths of its time. So each fingerprint block writes its words to
an unnamed temporary file (in TMPDIR), three 32-bit numbers a word: its id in the block's own
vocabulary (the top bit set when a blank line comes before the word), its first character and
the character after its last. At a million news articles the file holds about 1.9 GB.

Blocks are written from any worker process (`put`), each into room taken from a counter in
shared memory; this process is told, in block order, where each block went and the corpus
vocabulary's id of each of the block's words (`add`, then `seal`). The trace then reads any
texts' words back with positioned reads (`words`), in this process or in one forked from it.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import tempfile

import numpy as np
import numpy.typing as npt

from .text import BlockTokens, TextWords
from .textstore import temporary_file_error, write_at

I64 = npt.NDArray[np.int64]

#: 32-bit numbers kept a word, and their bytes.
_RECORD = 3
_BYTES = 4 * _RECORD
#: The bit of a word's first number that says a blank line comes before it.
_BREAK = np.uint32(1 << 31)


class WordStore:
    """The words of texts 0..n-1, put a block of texts at a time (see the module)."""

    def __init__(self) -> None:
        try:
            self._file = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115
        except OSError as e:
            raise temporary_file_error("the words", e) from e
        self._taken = multiprocessing.Value("q", 0)  # (bytes of the file given out)
        self._blocks: list[tuple[int, I64, npt.NDArray[np.int32]]] = []
        #: (byte where each text's words start, its number of words, where its block's ids
        #: start in `_ids`), once sealed
        self._texts: tuple[I64, I64, I64] | None = None
        self._ids = np.zeros(0, dtype=np.int32)

    def put(self, tokens: BlockTokens, breaks: npt.NDArray[np.bool_]) -> int:
        """Write the words of a block of texts (`tokens`, with the block's own ids, and their
        `breaks`: see `text.paragraph_breaks`); returns where they went, for `add`. Texts are
        shorter than 2**32 characters, and a block has fewer than 2**31 distinct words."""
        rows = np.empty((len(tokens.ids), _RECORD), dtype=np.uint32)
        rows[:, 0] = tokens.ids
        rows[breaks, 0] |= _BREAK
        rows[:, 1] = tokens.starts
        rows[:, 2] = tokens.ends
        data = rows.reshape(-1).view(np.uint8).data
        fd = self._file.fileno()
        try:
            with self._taken.get_lock():
                at: int = self._taken.value
                self._taken.value = at + len(data)
                if not hasattr(os, "pwrite"):  # (no positioned write: one writer at a time)
                    os.lseek(fd, at, os.SEEK_SET)
                    os.write(fd, data)
            if hasattr(os, "pwrite"):
                write_at(fd, data, at)
        except OSError as e:
            raise temporary_file_error("the words", e) from e
        return at

    def add(self, at: int, counts: I64, ids: npt.NDArray[np.integer]) -> None:
        """The next block, `put` at `at`: the number of words of each of its texts, and the
        corpus id of each of its own word ids."""
        if self._texts is not None:
            raise ValueError("a sealed WordStore takes no more blocks")
        self._blocks.append((at, counts, ids.astype(np.int32)))

    def seal(self) -> None:
        """Every block is added: their texts are numbered 0..n-1 in the order added."""
        if self._texts is not None:
            return
        starts = np.asarray([at for at, _, _ in self._blocks], dtype=np.int64)
        sizes = np.asarray([len(c) for _, c, _ in self._blocks], dtype=np.int64)
        counts = np.concatenate([c for _, c, _ in self._blocks] or [np.zeros(0, np.int64)])
        self._ids = np.concatenate([i for _, _, i in self._blocks] or [self._ids])
        bases = np.zeros(len(self._blocks), dtype=np.int64)
        np.cumsum([len(i) for _, _, i in self._blocks][:-1], out=bases[1:])
        self._blocks = []
        block = np.repeat(np.arange(len(sizes)), sizes)
        before = np.zeros(len(counts) + 1, dtype=np.int64)  # (words of the texts before each)
        np.cumsum(counts, out=before[1:])
        first_text = np.zeros(len(sizes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=first_text[1:])
        within = before[:-1] - before[first_text][block]
        self._texts = (starts[block] + within * _BYTES, counts.astype(np.int64), bases[block])

    def words(self, rows: npt.NDArray[np.integer]) -> TextWords:
        """The words of texts `rows` (by corpus id), flat, in the order of `rows`."""
        if self._texts is None:
            raise ValueError("a WordStore is read once sealed")
        at, counts, bases = self._texts
        count = counts[rows]
        offsets = np.zeros(len(count) + 1, dtype=np.int64)
        np.cumsum(count, out=offsets[1:])
        records = self._gather(at[rows] // _BYTES, count)
        local = records[:, 0] & ~_BREAK
        ids = self._ids[np.repeat(bases[rows], count) + local].astype(np.int64)
        starts, ends = (records[:, c].astype(np.int64) for c in (1, 2))
        return TextWords(offsets, ids, starts, ends, records[:, 0] >= _BREAK)

    def _gather(self, at: I64, count: I64) -> npt.NDArray[np.uint32]:
        """The records of texts whose words start at record at[t] and number count[t], one
        positioned read a run of texts that follow each other in the file, into one array. (Not
        a mapping of the file: a fault maps a whole folio of its page cache, megabytes, and a
        block's few thousand texts would map most of a file of gigabytes into the process.)"""
        records = np.empty((int(count.sum()), _RECORD), dtype=np.uint32)
        into = records.reshape(-1).view(np.uint8).data
        start, end = at * _BYTES, (at + count) * _BYTES
        head = np.ones(len(start), dtype=bool)
        head[1:] = start[1:] != end[:-1]
        first = np.flatnonzero(head)
        last = np.append(first[1:], len(start))[: len(first)] - 1
        fd = self._file.fileno()
        done = 0
        try:
            for lo, hi in zip(start[first].tolist(), end[last].tolist(), strict=True):
                while lo < hi:  # (a read may return less than asked)
                    got = _read_into(fd, into[done : done + hi - lo], lo)
                    if not got:
                        raise OSError(errno.EIO, f"the words' file ends early, at byte {lo}")
                    lo, done = lo + got, done + got
        except OSError as e:
            raise temporary_file_error("the words", e) from e
        return records


def _read_into(fd: int, buffer: memoryview, at: int) -> int:
    """Read into `buffer` from byte `at` of `fd`: the bytes read."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [buffer], at)
    os.lseek(fd, at, os.SEEK_SET)  # (no positioned read: one reader at a time)
    return os.readv(fd, [buffer])
