import errno
import os

import numpy as np
import pytest

from dedup import Settings
from dedup.batch import Vocabulary, fingerprint_corpus
from dedup.errors import DedupError
from dedup.passages import text_words
from dedup.readers import read_articles
from dedup.text import tokenize_block
from dedup.wordstore import WordStore
from tests.conftest import FIXTURES

EXTRA = ["", "one", "a\n\n \nsecond paragraph\n\nand a third", "Zürich — “quoted” ☃ naïve café"]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_words_kept_are_those_of_tokenising_the_texts_again(workers: int) -> None:
    """Blocks of three texts, put from one process or two, read back in any order."""
    texts = [a.text for a in read_articles([FIXTURES / "scenarios"]).articles] + EXTRA
    vocab, store = Vocabulary(), WordStore()
    fingerprint_corpus(texts, Settings(), vocab, batch=3, workers=workers, words=store)
    rng = np.random.default_rng(5)
    for rows in (np.arange(len(texts)), rng.permutation(len(texts))[:9], np.asarray([3, 3, 0])):
        got = store.words(rows)
        size = len(vocab)
        want = text_words([texts[r] for r in rows.tolist()], vocab)
        assert len(vocab) == size  # (every word was seen as the texts were fingerprinted)
        for name in ("offsets", "ids", "starts", "ends", "breaks"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
        assert got.breaks.any()
    assert len(store.words(np.zeros(0, dtype=np.int64)).offsets) == 1


def test_a_store_is_read_once_sealed_and_then_takes_no_more() -> None:
    store = WordStore()
    tokens = tokenize_block(["two words"])
    at = store.put(tokens, np.zeros(2, dtype=bool))
    with pytest.raises(ValueError, match="sealed"):
        store.words(np.zeros(1, dtype=np.int64))
    store.add(at, np.diff(tokens.offsets), np.asarray([7, 9]))
    store.seal()
    assert store.words(np.zeros(1, dtype=np.int64)).ids.tolist() == [7, 9]
    with pytest.raises(ValueError, match="sealed"):
        store.add(at, np.diff(tokens.offsets), np.asarray([7, 9]))


def test_a_full_disk_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: bytes, at: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(DedupError, match=r"No space left on device.*TMPDIR"):
        WordStore().put(tokenize_block(["a text"]), np.zeros(2, dtype=bool))
