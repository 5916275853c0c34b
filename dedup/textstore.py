"""Texts and arrays kept in a temporary file, not in memory: a report of a million articles
holds about a gigabyte of text that it needs only a few times (to fingerprint, to trace shared
passages, to cut them out), not all the time, and arrays of a gigabyte that some of its stages
do not use.

`TextStore` appends texts to an unnamed temporary file (in `tempfile`'s directory: TMPDIR) and
reads one back with a positioned read, so forked worker processes read from the same file at
once. `Texts` is a view of some of its texts in an order of their own (`take`). `Parked` holds
arrays in such a file until they are mapped back.
"""

from __future__ import annotations

import errno
import mmap
import os
import tempfile
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO, overload

import numpy as np
import numpy.typing as npt

from .errors import DedupError

#: Bytes of encoded texts gathered before they are written.
WRITE_BUFFER = 1 << 20

#: Texts that follow each other in the file are read at once when the bytes from the first to
#: the last are at most this many times theirs (between them: room set aside and not used).
SPAN_SLACK = 2


class TextStore:
    """Texts appended to an unnamed temporary file (deleted when the store is let go).
    `add(text)` returns the text's position; `view()` (or `take`) reads them back. Other
    processes may write texts into room set aside for them (`reserve`, then `put` each)."""

    def __init__(self) -> None:
        # (buffered: a text is a few kilobytes at most)
        try:
            self._file = tempfile.TemporaryFile(buffering=WRITE_BUFFER)  # noqa: SIM115
        except OSError as e:
            raise self._error(e) from e
        # (not lists: a million ints of their own are 40 MB)
        self._starts, self._ends = array("q"), array("q")
        self._size = 0

    def add(self, text: str) -> int:
        """Append `text`; its position. Raises DedupError when the file cannot take it."""
        start = self._size
        try:
            self._size += self._file.write(text.encode("utf-8", "surrogatepass"))
        except OSError as e:
            raise self._error(e) from e
        return self.put(start, self._size)

    def reserve(self, size: int) -> tuple[int, int]:
        """Set `size` bytes of the file aside, for texts written into it by `os.pwrite` on the
        file descriptor given (a forked process's too) and then `put`: (where the room starts,
        the file descriptor)."""
        self._flush()
        start = self._size
        self._size += size
        try:
            self._file.seek(self._size)  # (`add` writes after the room)
        except OSError as e:
            raise self._error(e) from e
        return start, self._file.fileno()

    def put(self, start: int, end: int) -> int:
        """The text written at bytes start to end (in room from `reserve`) is the next; its
        position."""
        self._starts.append(start)
        self._ends.append(end)
        return len(self._ends) - 1

    def put_many(self, starts: Iterable[int], ends: Iterable[int]) -> None:
        """`put` each text written at bytes starts[k] to ends[k], in order."""
        self._starts.extend(starts)
        self._ends.extend(ends)

    def __len__(self) -> int:
        return len(self._ends)

    def take(self, positions: Iterable[int]) -> Texts:
        """The texts at `positions`, in that order."""
        self._flush()
        # (copies: the arrays may grow again)
        starts, ends = np.array(self._starts, dtype=np.int64), np.array(self._ends, dtype=np.int64)
        at = np.fromiter(positions, dtype=np.int64)
        return Texts(self, starts[at], ends[at])

    def view(self) -> Texts:
        """Every text, in the order they were added."""
        return self.take(range(len(self)))

    def _flush(self) -> None:
        try:
            self._file.flush()
        except OSError as e:
            raise self._error(e) from e

    def _error(self, e: OSError) -> DedupError:
        return temporary_file_error("the texts", e)

    def _read_many(self, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> list[str]:
        """The texts between `starts` and `ends`: one read when they come in the file's order
        with little between them (texts read in order, as a block of rows is)."""
        if (
            len(starts) > 1
            and bool((starts[1:] >= ends[:-1]).all())
            and ends[-1] - starts[0] <= SPAN_SLACK * (ends - starts).sum()
        ):
            lo = int(starts[0])
            data = memoryview(self._read_bytes(lo, int(ends[-1])))
            return [
                str(data[s - lo : e - lo], "utf-8", "surrogatepass")
                for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
            ]
        return [self._read(s, e) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]

    def _read(self, start: int, end: int) -> str:
        return self._read_bytes(start, end).decode("utf-8", "surrogatepass")

    def _read_bytes(self, start: int, end: int) -> bytes:
        return read_at(self._file.fileno(), start, end, "the texts'")


class Texts(Sequence[str]):
    """Texts of a `TextStore`, each read from its file when asked for (a new string each time)."""

    def __init__(
        self, store: TextStore, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
    ):
        self.store, self.starts, self.ends = store, starts, ends

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return self.store._read_many(self.starts[i], self.ends[i])
        return self.store._read(int(self.starts[i]), int(self.ends[i]))

    def at(self, rows: Sequence[int] | npt.NDArray[np.integer]) -> list[str]:
        """The texts at `rows`."""
        return self.store._read_many(self.starts[rows], self.ends[rows])

    def __iter__(self) -> Iterator[str]:
        for lo in range(0, len(self), 4096):
            yield from self[lo : lo + 4096]

    def take(self, positions: Iterable[int]) -> Texts:
        """These texts at `positions`, in that order."""
        at = np.fromiter(positions, dtype=np.int64)
        return Texts(self.store, self.starts[at], self.ends[at])


def set_aside(arrays: Sequence[np.ndarray], least: int) -> Parked | Kept:
    """`arrays` kept until `load`: in a temporary file when they are `least` bytes or more,
    else in memory."""
    if sum(a.nbytes for a in arrays) >= least:
        return Parked(arrays)
    return Kept(arrays)


class Kept:
    """Arrays kept in memory (`set_aside`, for small ones)."""

    def __init__(self, arrays: Sequence[np.ndarray]) -> None:
        self._arrays = list(arrays)

    def load(self) -> list[np.ndarray]:
        """The arrays, handed over (not kept here too, so the caller may use them up)."""
        arrays, self._arrays = self._arrays, []
        return arrays


class Parked:
    """Arrays kept in an unnamed temporary file (in TMPDIR) until `load` maps them back: the
    arrays loaded are the file's pages (copy-on-write), read as they are used, not copied into
    new memory, and the file goes when they do. The file is written by a thread of its own
    while the caller goes on (each array let go once written); `load`, and any fork of this
    process (`os.fork`, as `dedup.parallel` forks), wait for the writing to end."""

    def __init__(self, arrays: Sequence[np.ndarray]) -> None:
        #: (where each array starts in the file, its dtype and shape)
        self._layout: list[tuple[int, np.dtype, tuple[int, ...]]] = []
        pieces: list[np.ndarray] = []
        at = 0
        for given in arrays:
            data = np.ascontiguousarray(given)
            self._layout.append((at, data.dtype, data.shape))
            pieces.append(data)
            at += data.nbytes + -data.nbytes % PARK_ALIGN  # (each array starts aligned)
        self._size = at
        try:
            # (unbuffered: the arrays' own memory is written, with no copy)
            self._file = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115
        except OSError as e:
            raise temporary_file_error("arrays", e) from e
        self._failed: Exception | None = None  # (raised by `load`)
        self._writer = threading.Thread(target=self._write, args=(pieces,), daemon=True)
        del pieces  # (the thread's now: each goes once written)
        _WRITERS.add(self._writer)
        self._writer.start()

    def _write(self, pieces: list[np.ndarray]) -> None:
        try:
            pieces.reverse()
            while pieces:
                data = pieces.pop()
                _write_all(self._file, data.reshape(-1).view(np.uint8).data)
                _write_all(self._file, memoryview(bytes(-data.nbytes % PARK_ALIGN)))
                del data
        except Exception as e:  # (not OSError alone: a file left short would be mapped)
            self._failed = e
        finally:
            pieces.clear()
            _WRITERS.discard(threading.current_thread())

    def wait(self) -> None:
        """Wait for the arrays to be written (and let go)."""
        self._writer.join()

    def load(self, keep: bool = False) -> list[np.ndarray]:
        """The arrays, mapped from the file (writable, as those given were; a write stays in
        this process). `keep`: the file stays, to be loaded again once these are let go, and
        the arrays are read-only (the file is what they are)."""
        self.wait()
        failed = self._failed
        if failed is not None:
            self._file.close()
            if isinstance(failed, OSError):
                raise temporary_file_error("arrays", failed) from failed
            raise failed
        try:
            access = mmap.ACCESS_READ if keep else mmap.ACCESS_COPY
            buffer = mmap.mmap(self._file.fileno(), self._size, access=access)
        except OSError as e:
            raise temporary_file_error("arrays", e) from e
        except ValueError:  # (an empty file cannot be mapped: empty arrays only)
            buffer = mmap.mmap(-1, 1)
        finally:
            if not keep:
                self._file.close()  # (the mapping keeps the file until the arrays go)
        return [
            np.frombuffer(buffer, dtype, int(np.prod(shape, dtype=np.int64)), at).reshape(shape)
            for at, dtype, shape in self._layout
        ]


#: The threads writing `Parked` arrays now.
_WRITERS: set[threading.Thread] = set()


def _finish_writing() -> None:
    """Wait for every `Parked` write: a forked child has none of this process's threads, and
    a fork while one runs may leave a lock it held taken in the child."""
    for writer in list(_WRITERS):
        writer.join()


if hasattr(os, "register_at_fork"):  # (not on Windows, which does not fork)
    os.register_at_fork(before=_finish_writing)


#: Arrays kept by `Parked` start at a multiple of this many bytes in its file.
PARK_ALIGN = 64


def read_at(fd: int, start: int, end: int, whose: str) -> bytes:
    """Bytes `start` to `end` of file `fd` (`whose` temporary file, for the error)."""
    data = b""
    while len(data) < end - start:  # (a read may return less than asked)
        at = start + len(data)
        if hasattr(os, "pread"):
            more = os.pread(fd, end - at, at)
        else:  # (no positioned read: one reader at a time)
            os.lseek(fd, at, os.SEEK_SET)
            more = os.read(fd, end - at)
        if not more:
            raise DedupError(f"{whose} temporary file ends early, at byte {at}")
        data += more
    return data


def write_at(fd: int, data: memoryview, at: int) -> None:
    """Write all of `data` at byte `at` of file `fd` (into room from `TextStore.reserve`; a
    write may take less than it is given). Only where the system has positioned writes
    (`os.pwrite`)."""
    while len(data):
        written = os.pwrite(fd, data, at)
        if not written:
            raise OSError(errno.EIO, "the temporary file took nothing")
        data, at = data[written:], at + written


def _write_all(file: BinaryIO, data: memoryview) -> None:
    """Write all of `data` (an unbuffered file may take less than it is given at a time)."""
    while len(data):
        written = file.write(data)
        if not written:
            raise OSError(errno.EIO, "the temporary file took nothing")
        data = data[written:]


def temporary_file_error(what: str, e: OSError) -> DedupError:
    where = tempfile.gettempdir()
    return DedupError(
        f"cannot keep {what} in a temporary file in {where}: {e.strerror or e} "
        "(set TMPDIR to a folder with room for them)"
    )
