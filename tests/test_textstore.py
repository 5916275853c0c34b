import os

import pytest

from dedup.textstore import TextStore

TEXTS = ["plain words", "", "Zürich — “quoted” ☃", "a\nsecond\n\nparagraph", "x" * 100_000]


def test_texts_read_back_as_written_in_any_order():
    store = TextStore()
    assert [store.add(t) for t in TEXTS] == list(range(len(TEXTS)))
    assert list(store.view()) == TEXTS
    view = store.take([4, 0, 2, 2])
    assert len(view) == 4
    assert view[0] == TEXTS[4] and view[-1] == TEXTS[2]
    assert view[1:3] == [TEXTS[0], TEXTS[2]]
    assert list(view.take([3, 1])) == [TEXTS[2], TEXTS[0]]
    assert view.at([3, 0]) == [TEXTS[2], TEXTS[4]]
    assert store.view().at([1, 2, 3]) == TEXTS[1:4]  # (one read: they follow each other)


def test_texts_added_after_a_view_are_flushed_for_the_next():
    store = TextStore()
    store.add("first")
    assert list(store.view()) == ["first"]
    store.add("second")
    assert list(store.view()) == ["first", "second"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked readers need fork")
def test_a_forked_process_reads_the_same_texts():
    store = TextStore()
    for t in TEXTS:
        store.add(t)
    view = store.take([2, 3])
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # (the child: as a worker process reads its block's texts)
        os.close(read)
        os.write(write, "|".join(view).encode())
        os._exit(0)
    os.close(write)
    got = b""
    while chunk := os.read(read, 1 << 16):
        got += chunk
    os.close(read)
    os.waitpid(pid, 0)
    assert got.decode() == f"{TEXTS[2]}|{TEXTS[3]}"


def test_a_full_disk_is_a_clear_error(monkeypatch):
    import errno

    from dedup.errors import DedupError

    store = TextStore()

    def full(data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store._file, "write", full)
    with pytest.raises(DedupError, match=r"No space left on device.*TMPDIR"):
        store.add("a text")


def test_arrays_set_aside_come_back_as_they_were():
    import numpy as np

    from dedup.textstore import Kept, Parked, set_aside

    arrays = [np.arange(10, dtype=np.uint64) * 2**61, np.array([3, -1], dtype=np.int32)]
    small = set_aside(arrays, least=1 << 20)
    assert isinstance(small, Kept)  # (small arrays stay in memory)
    large = set_aside(arrays, least=1)
    assert isinstance(large, Parked)
    for kept in (small, large):
        back = kept.load()
        assert [a.dtype for a in back] == [a.dtype for a in arrays]
        assert all(np.array_equal(a, b) for a, b in zip(back, arrays, strict=True))
        assert all(a.flags.writeable for a in back)  # (as given: the kernels take them so)
    back = Parked([np.zeros(0), np.ones((2, 3))]).load()  # (an empty array, a shape)
    assert [a.tolist() for a in back] == [[], [[1.0] * 3] * 2]


def test_arrays_that_cannot_be_set_aside_are_a_clear_error(monkeypatch):
    import errno
    import tempfile

    import numpy as np

    from dedup.errors import DedupError
    from dedup.textstore import Parked

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    with pytest.raises(DedupError, match=r"No space left on device.*TMPDIR"):
        Parked([np.zeros(4)])


def test_arrays_whose_file_cannot_be_written_are_a_clear_error_when_loaded(monkeypatch):
    import errno

    import numpy as np

    from dedup import textstore
    from dedup.errors import DedupError

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(textstore, "_write_all", full)
    parked = textstore.Parked([np.zeros(4)])  # (written by a thread: the error comes later)
    with pytest.raises(DedupError, match=r"No space left on device.*TMPDIR"):
        parked.load()

    def broken(*args: object) -> None:
        raise ValueError("not a file error")

    monkeypatch.setattr(textstore, "_write_all", broken)
    with pytest.raises(ValueError, match="not a file error"):  # (never a short file mapped)
        textstore.Parked([np.zeros(4)]).load()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_fork_waits_for_arrays_being_written(monkeypatch):
    import threading
    import time

    import numpy as np

    from dedup import textstore

    started = threading.Event()
    write_all = textstore._write_all

    def slow(file: object, data: memoryview) -> None:
        started.set()
        time.sleep(0.2)
        write_all(file, data)  # type: ignore[arg-type]

    monkeypatch.setattr(textstore, "_write_all", slow)
    parked = textstore.Parked([np.arange(5)])
    started.wait()
    pid = os.fork()
    if pid == 0:  # the child: nothing of the test's to run
        os._exit(0)
    os.waitpid(pid, 0)
    assert not textstore._WRITERS  # (the write ended before the fork)
    monkeypatch.undo()
    assert parked.load()[0].tolist() == [0, 1, 2, 3, 4]


def test_texts_written_into_room_set_aside_read_back_in_order():
    store = TextStore()
    store.add("before")
    start, fd = store.reserve(100)
    store.add("after")  # (after the room, not in it)
    os.pwrite(fd, b"first second", start + 10)
    store.put(start + 10, start + 15)
    store.put_many([start + 16], [start + 22])
    assert list(store.view()) == ["before", "after", "first", "second"]
    assert store.view()[2:] == ["first", "second"]
    assert store.take([3, 0, 2]).at([0, 2]) == ["second", "first"]
