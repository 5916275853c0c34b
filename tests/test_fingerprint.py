import numpy as np
from datasketch import MinHash

from dedup import Article, Settings
from dedup.fingerprint import Fingerprinter, shingle_hashes, signatures, to_hash32


def test_signatures_equal_datasketch_minhash():
    rng = np.random.default_rng(7)
    sets = [
        np.unique(rng.integers(0, 2**63, size=n, dtype=np.uint64)) for n in (1, 5, 300, 0, 42, 5000)
    ]
    expected = []
    for values in sets:
        m = MinHash(num_perm=128, seed=1, hashfunc=lambda x: x, scheme="affine32")
        m.update_batch(to_hash32(values).tolist())
        expected.append(m.hashvalues)
    # several sets a step (each permutation in turn), and one set a step (all at once when it
    # is small: the set of 5000 takes the permutations in turn)
    for batch in (200, 1 << 16, 1):
        assert np.array_equal(signatures(sets, num_perm=128, seed=1, batch=batch), expected)


def test_shingles_are_order_sensitive_and_short_texts_get_one_shingle():
    fp = Fingerprinter(Settings(shingle_size=3))
    h = fp.word_hashes(["a", "b", "c", "d"])
    forward = shingle_hashes(h, 3)
    assert len(forward) == 2
    assert len(set(forward.tolist())) == 2
    assert not np.array_equal(shingle_hashes(h[::-1], 3)[::-1], forward)
    assert len(shingle_hashes(h[:2], 3)) == 1
    assert len(shingle_hashes(h[:0], 3)) == 0


def test_fingerprint_ignores_case_punctuation_and_boilerplate_lines():
    fp = Fingerprinter(Settings())
    a = fp.fingerprint(
        Article(id="a", text="The Mayor said: “Bridges close today.”\nALSO READ: x y")
    )
    b = fp.fingerprint(Article(id="b", text="the mayor said bridges close today"))
    assert a.digest == b.digest
    assert np.array_equal(a.shingles, b.shingles)
    assert a.terms == {"mayor": 1, "said": 1, "bridges": 1, "close": 1, "today": 1}


def test_fingerprints_do_not_depend_on_history():
    text = "Ferry fares will stay frozen for another year, the council said on Tuesday."
    fresh = Fingerprinter(Settings()).fingerprint(Article(id="x", text=text))
    used = Fingerprinter(Settings())
    used.fingerprint(Article(id="y", text="Something else entirely about ferries and fares."))
    again = used.fingerprint(Article(id="x", text=text))
    assert np.array_equal(fresh.shingles, again.shingles) and fresh.digest == again.digest
