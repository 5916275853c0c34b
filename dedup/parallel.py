"""Blocks of work on several cores, with the results of one core.

Where Python does much of a block's work (tokenising, tracing passages), the workers are forked
processes: they inherit the corpus as it is in memory (copy-on-write, and frozen from the garbage
collector, whose passes would write to every inherited object and so copy its page), so only
block numbers go out and only results come back (`run_blocks`). Items of a stream go out
pickled, a few ahead of the caller (`map_ahead`). Where compiled loops and numpy do all of it
(signatures, banding, counting, scoring), which release the GIL, the workers are threads
(`run_threads`): nothing is forked or pickled, and a large result is written in place. The
results come back in order, so nothing downstream can tell how many workers there were (tests
compare 1 and 2). Where `fork` does not exist (Windows, some macOS set-ups), the processes' work
runs in this process.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import AsyncResult
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: The task of the current `run_blocks` (workers find it here after the fork).
_TASK: Callable[[int], Any] | None = None


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: glibc's `mallopt` parameters (malloc.h) and what a worker sets them to (`_keep_heap`).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
WORKER_HEAP = {_M_MMAP_THRESHOLD: 256 << 20, _M_TRIM_THRESHOLD: 1 << 30, _M_TOP_PAD: 64 << 20}


def _keep_heap() -> None:
    """In a worker, as it starts: the C heap keeps the memory of the arrays a block frees for
    the next block, instead of handing it back to the system and taking it again page by page
    (a page fault each; glibc maps arrays of a few MB on their own and unmaps them when freed).
    A worker's heap then holds about one block's arrays, and is let go when the pool ends.
    (At 100k articles: 700k page faults -> 400k, and a quarter of a second.) Elsewhere than
    glibc, nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    for parameter, value in WORKER_HEAP.items():
        mallopt(parameter, value)


#: Bytes each pipe of a pool holds (Linux's `F_SETPIPE_SZ`; 1 MB is the most an unprivileged
#: process may ask for by default): a block's results of several MB then pass in a few writes,
#: instead of the reader waking for every 64 KB.
PIPE_BYTES = 1 << 20


def _wide_pipes(pool: Any) -> None:
    """Make the pipes a process pool sends tasks and results through hold PIPE_BYTES (where the
    system lets it; else they stay as they are). At 1M articles, fingerprinting sends 1.7 GB of
    results back."""
    try:
        import fcntl

        setsize = fcntl.F_SETPIPE_SZ  # (Linux only)
        for queue in (pool._inqueue, pool._outqueue):  # (the pool's own, unpublished)
            fcntl.fcntl(queue._reader.fileno(), setsize, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        return


def _call(block: int) -> Any:
    assert _TASK is not None
    return _TASK(block)


def run_blocks(
    task: Callable[[int], T],
    blocks: int,
    workers: int,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[T]:
    """task(0), task(1), ... task(blocks - 1), in that order, on up to `workers` processes.
    `meanwhile()` is called in this process once the workers are at work (before the first
    result), or after the last block when there are none."""
    global _TASK
    workers = min(workers, blocks)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for block in range(blocks):
            yield task(block)
        if meanwhile is not None:
            meanwhile()
        return
    _TASK = task
    gc.freeze()  # the workers' garbage collections then leave the inherited objects untouched
    try:
        with multiprocessing.get_context("fork").Pool(workers, _keep_heap) as pool:
            _wide_pipes(pool)
            results = pool.imap(_call, range(blocks))
            if meanwhile is not None:
                meanwhile()
            yield from results
    finally:
        _TASK = None
        gc.unfreeze()


def run_threads(task: Callable[[int], T], blocks: int, workers: int) -> Iterator[T]:
    """task(0), task(1), ... task(blocks - 1), in that order, on up to `workers` threads, at
    most `workers` blocks ahead of the caller (whose results wait: their memory is bounded).
    For tasks that spend their time in code that releases the GIL."""
    workers = min(workers, blocks)
    if workers <= 1:
        for block in range(blocks):
            yield task(block)
        return
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        pending: deque[concurrent.futures.Future[T]] = deque()
        for block in range(blocks):
            pending.append(pool.submit(task, block))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def map_ahead(
    fn: Callable[[Any], R],
    items: Iterable[T],
    workers: int,
    send: Callable[[T], Any] | None = None,
) -> Iterator[tuple[T, R]]:
    """(item, fn(send(item))) for each item, in order, with fn running on up to `workers`
    processes while the caller works on the results: at most `workers` items are read ahead of
    the one handed out, so a stream is never read whole. `fn` must be a module-level function
    (it is sent to the workers by name); send(item) (default: the item) and the results are
    pickled."""
    send = send or (lambda item: item)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for item in items:
            yield item, fn(send(item))
        return
    with multiprocessing.get_context("fork").Pool(workers, _keep_heap) as pool:
        _wide_pipes(pool)
        pending: deque[tuple[T, AsyncResult[R]]] = deque()
        for item in items:
            pending.append((item, pool.apply_async(fn, (send(item),))))
            if len(pending) > workers:
                first, result = pending.popleft()
                yield first, result.get()
        while pending:
            first, result = pending.popleft()
            yield first, result.get()


def release_memory() -> None:
    """Hand the C heap's free memory back to the system (glibc's `malloc_trim`; elsewhere,
    nothing). The blocks' results arrive as many arrays of a few MB, which glibc serves from its
    heap and keeps after they are joined into one array and freed."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return
    trim(0)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while bulk work runs (a context manager or decorator;
    on again after, if it was on). Reading and detecting make millions of objects that live on
    (articles, matches, passages) and form no reference cycles, yet every full pass of the
    collector walks all of them. Cycles made meanwhile are collected once it is on again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
