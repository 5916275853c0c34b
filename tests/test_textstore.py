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
