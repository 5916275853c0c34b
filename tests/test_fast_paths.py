"""Every fast path gives the bytes of the slower, plainer path it replaces, on every fixture."""

from __future__ import annotations

import gc
import importlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import Settings, analyse, detect
from dedup import batch as batch_module
from dedup.batch import Vocabulary
from dedup.fingerprint import Fingerprinter
from dedup.models import KINDS
from dedup.parallel import gc_paused, run_blocks, run_threads
from dedup.passages import text_words, to_passages, trace, views
from dedup.readers import read_articles
from dedup.render import dumps_json, json_chunks, render_json, report_to_dict
from dedup.text import words_of
from dedup.verify import Scores, Verifier, classify, classify_all, shared_passages
from tests.conftest import FIXTURES

detect_module = importlib.import_module("dedup.detect")  # the module, not `dedup.detect()`

FIXTURE_INPUTS = ["seed", "seed.jsonl", "scenarios", "bench/articles", "xss", "malformed"]


def fixture_report(name: str):  # type: ignore[no-untyped-def]
    read = read_articles([FIXTURES / name])
    return detect(read.articles, skipped=read.skipped, timing=False)


@pytest.mark.parametrize("name", FIXTURE_INPUTS)
def test_json_writer_gives_the_standard_library_s_bytes(name: str) -> None:
    data = report_to_dict(fixture_report(name))
    assert dumps_json(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON)
def test_json_writer_matches_on_any_text_and_structure(data: object) -> None:
    assert dumps_json(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@given(st.floats(allow_nan=False, allow_infinity=False).map(lambda x: round(x, 4)))
def test_json_writer_matches_on_rounded_scores(score: float) -> None:
    if abs(score) >= 1e16:  # scores lie in [0, 1]; the writers differ on huge exponents only
        return
    assert dumps_json({"score": score}) == json.dumps({"score": score}, indent=2) + "\n"


def test_json_writer_falls_back_on_what_orjson_refuses() -> None:
    data = {"text": "caf\u00e9", "big": 2**70}
    assert dumps_json(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def test_json_writer_escapes_half_a_surrogate_pair() -> None:
    data = {"text": "half a pair \ud800 caf\u00e9"}
    written = dumps_json(data)
    assert "\\ud800" in written and "caf\u00e9" in written
    assert json.loads(written) == data


@pytest.mark.parametrize("piece", [1, 5, 1 << 20])  # (a story a piece, a few, all)
@pytest.mark.parametrize("name", FIXTURE_INPUTS)
def test_json_written_a_few_stories_at_a_time_gives_the_bytes_of_the_whole(
    name: str, piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup import render

    monkeypatch.setattr(render, "JSON_PIECE", piece)
    report = fixture_report(name)
    whole = json.dumps(report_to_dict(report), ensure_ascii=False, indent=2) + "\n"
    assert b"".join(json_chunks(report)).decode() == whole
    assert render_json(report) == whole


def test_json_of_a_report_without_stories_is_whole() -> None:
    report = detect([], timing=False)
    assert not report.stories
    whole = json.dumps(report_to_dict(report), ensure_ascii=False, indent=2) + "\n"
    assert render_json(report) == whole


# --- passages: traced a block of pairs at a time, or pair by pair -----------------------------


@pytest.mark.parametrize("name", [n for n in FIXTURE_INPUTS if n != "malformed"])
def test_block_tracing_finds_the_passages_of_pair_by_pair_tracing(name: str) -> None:
    analysis = analyse(read_articles([FIXTURES / name]).articles)
    pairs = analysis.candidates(analysis.settings)
    assert pairs
    for (i, j), evidence in zip(pairs, analysis.measure(pairs), strict=True):
        a, b = analysis.ordered[i].id, analysis.ordered[j].id
        assert evidence.runs == analysis.verifier.runs(a, b), (a, b)


def test_tracing_in_several_calls_keeps_the_runs_of_one_call() -> None:
    """The traced runs are stored as one table: pairs added later (a sweep, `measure`) go in
    their place without moving another pair's runs."""
    articles = read_articles([FIXTURES / "scenarios"]).articles
    whole, parts = analyse(articles), analyse(articles)
    pairs = whole.candidates(whole.settings)
    whole.trace(pairs)
    assert len(whole.traced.codes) == len(pairs) and len(whole.traced.table) > len(pairs)
    for first in (1, 0):  # every other pair, then the rest
        parts.trace(pairs[first::2])
    for field in ("codes", "offsets", "table"):
        assert np.array_equal(getattr(whole.traced, field), getattr(parts.traced, field))
    n = len(whole.ordered)
    at = whole.traced.find(np.asarray([i * n + j for i, j in pairs]))
    texts = [whole.ordered[i].text for i, _ in pairs]
    every = whole.traced.passages(at, texts, 8)
    words = whole.traced.words_at_least(at, 8)
    for k, passages in enumerate(every):  # (a pair at a time, every run, gives the same)
        assert words[k] == sum(p.words for p in passages)
        one = whole.traced.passages(at[k : k + 1], texts[k : k + 1])[0]
        assert passages == tuple(p for p in one if p.words >= 8)
        assert all(p.source is texts[k] for p in one)
    assert any(every) and whole.traced.passages(np.asarray([-1]), ["text"]) == [()]


_WORDS = st.sampled_from(["kim", "putin", "met", "in", "the", "port", "of", "vladivostok", "on"])
_PARAGRAPH = st.lists(_WORDS, min_size=0, max_size=30).map(" ".join)
_TEXT = st.lists(_PARAGRAPH, min_size=1, max_size=4).map("\n\n".join)


@given(
    texts=st.lists(_TEXT, min_size=2, max_size=5),
    k=st.integers(2, 5),
    min_words=st.integers(2, 9),
    boilerplate_share=st.sampled_from([0, 3, 7]),
    common=st.sets(st.sampled_from(["kim", "putin", "met", "port", "vladivostok"])),
)
def test_block_tracing_equals_pair_by_pair_on_repetitive_texts(
    texts: list[str], k: int, min_words: int, boilerplate_share: int, common: set[str]
) -> None:
    """Texts from nine words repeat shingles within and across texts: overlapping runs, runs on
    several diagonals, runs cut at paragraphs, boilerplate shingles, runs of stop words and
    corpus stop words (`common`) only."""
    settings = Settings(shingle_size=k)
    fingerprinter = Fingerprinter(settings)
    sequences = [fingerprinter.shingle_sequence(words_of(t)) for t in texts]
    pool = np.unique(np.concatenate(sequences))
    boilerplate = pool[::boilerplate_share] if boilerplate_share else pool[:0]
    long_enough = [t for t in texts if len(words_of(t)) >= k]
    texts_by_id = {str(n): t for n, t in enumerate(long_enough)}
    verifier = Verifier(fingerprinter, texts_by_id, boilerplate, frozenset(common))
    vocab = Vocabulary()
    vocab.ids([w for t in long_enough for w in words_of(t)])
    topic = vocab.content() & ~np.isin(vocab.words(), sorted(common))
    v = views(text_words(long_enough, vocab), vocab, boilerplate, topic, k)
    pairs = [(x, y) for x in range(len(long_enough)) for y in range(x + 1, len(long_enough))]
    left = np.asarray([x for x, _ in pairs], dtype=np.int64)
    right = np.asarray([y for _, y in pairs], dtype=np.int64)
    for (x, y), runs in zip(pairs, trace(v, left, right, k, min_words), strict=True):
        expected = shared_passages(
            verifier.tokens(str(x)), verifier.tokens(str(y)), long_enough[x], min_words, k
        )
        assert to_passages(v, x, y, runs, long_enough[x]) == expected


# --- workers: forked processes, or this one ---------------------------------------------------


@pytest.mark.parametrize("name", ["scenarios", "bench/articles", "seed"])
def test_two_workers_give_the_bytes_of_one(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of one text, a few pairs or a few values each, so that every stage has many."""
    monkeypatch.setattr(detect_module, "FINGERPRINT_BLOCK", 1)
    monkeypatch.setattr(batch_module, "SIGN_VALUES", 16)
    monkeypatch.setattr(batch_module, "BAND_COLUMNS", 1)
    monkeypatch.setattr(detect_module, "SCORE_BLOCK", 2)
    monkeypatch.setattr(detect_module, "TRACE_BLOCK", 2)
    read = read_articles([FIXTURES / name])
    one = detect(read.articles, skipped=read.skipped, timing=False, workers=1)
    two = detect(read.articles, skipped=read.skipped, timing=False, workers=2)
    assert render_json(two) == render_json(one)
    assert one.stories


def test_detection_pauses_the_garbage_collector_and_restores_it() -> None:
    seen: list[bool] = []
    read = read_articles([FIXTURES / "seed"])
    detect(read.articles, progress=lambda *_: seen.append(gc.isenabled()), timing=False)
    assert seen and not any(seen) and gc.isenabled()
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()  # an inner pause does not end an outer one
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()


def test_workers_run_blocks_in_order_and_raise_what_a_block_raises() -> None:
    assert list(run_blocks(lambda b: b * b, 7, 2)) == [b * b for b in range(7)]

    def fails(b: int) -> int:
        if b == 3:
            raise ValueError("block 3")
        return b

    with pytest.raises(ValueError, match="block 3"):
        list(run_blocks(fails, 5, 2))


def test_threads_give_results_in_order_a_few_blocks_ahead_and_raise_what_a_block_raises() -> None:
    started: list[int] = []

    def block(b: int) -> int:
        started.append(b)
        if b == 7:
            raise ValueError("block 7")
        return b * b

    blocks = run_threads(block, 6, 2)
    assert next(blocks) == 0
    assert len(started) <= 3  # (the caller's block and at most two more)
    assert list(blocks) == [b * b for b in range(1, 6)]
    assert list(run_threads(block, 3, 1)) == [0, 1, 4]
    with pytest.raises(ValueError, match="block 7"):
        list(run_threads(block, 9, 2))


# --- whole-corpus filters, done in chunks -----------------------------------------------------


@given(
    st.lists(st.lists(st.integers(0, 40), max_size=6), max_size=8),
    st.sets(st.integers(0, 40), max_size=10),
    st.integers(1, 5),
)
@settings(deadline=None)  # (the first example compiles the kernels)
def test_filtering_rows_in_chunks_drops_what_each_row_drops(
    rows: list[list[int]], drop: set[int], chunk: int
) -> None:
    def spread(x: np.ndarray) -> np.ndarray:  # (values that differ in their low bits and high)
        return (x << np.uint64(40)) | x

    values = [np.unique(spread(np.asarray(r, dtype=np.uint64))) for r in rows]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    ragged = batch_module.Ragged(batch_module.concat(values, np.uint64), offsets)
    dropped = spread(np.asarray(sorted(drop), dtype=np.uint64))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(detect_module, "CHUNK", chunk)
        anchors = detect_module.anchor_pairs(ragged, 3, 1)
        kept = detect_module._drop_values(ragged, dropped)  # (overwrites ragged)
    for i, v in enumerate(values):
        assert np.array_equal(kept.row(i), v[~np.isin(v, dropped)])
    every = {i: {int(x) for x in v if int(x) % 3 == 0} for i, v in enumerate(values)}
    n = len(values)
    expected = sorted(i * n + j for i in range(n) for j in range(i + 1, n) if every[i] & every[j])
    assert anchors.tolist() == expected


@given(
    st.lists(st.sets(st.integers(0, 2**64 - 1) | st.integers(0, 64), max_size=8), max_size=8),
    st.sampled_from([3, 4, 8]),
    st.integers(1, 2),
)
@settings(deadline=None)  # (the first example compiles the kernels)
def test_anchor_pairs_are_the_pairs_sharing_enough_divisible_hashes(
    rows: list[set[int]], every: int, least: int
) -> None:
    """By a mask of the low bits when `every` is a power of two, by division otherwise."""
    values = [np.asarray(sorted(r), dtype=np.uint64) for r in rows]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    ragged = batch_module.Ragged(batch_module.concat(values, np.uint64), offsets)
    found = detect_module.anchor_pairs(ragged, every, least).tolist()
    anchors = [{x for x in r if x % every == 0} for r in rows]
    n = len(rows)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    assert found == [i * n + j for i, j in pairs if len(anchors[i] & anchors[j]) >= least]


@given(
    st.lists(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 64), max_size=8), max_size=8),
    st.sampled_from([0, 1, 3, 4, 8]),
)
@settings(deadline=None)  # (the first example compiles the kernel)
def test_anchors_are_laid_out_by_part_in_the_order_of_the_values(
    rows: list[list[int]], every: int
) -> None:
    values = [np.asarray(r, dtype=np.uint64) for r in rows]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    ragged = batch_module.Ragged(batch_module.concat(values, np.uint64), offsets)
    anchors = detect_module.pick_anchors(ragged, every)
    bits = detect_module.ANCHOR_PART_BITS
    found = [
        (x >> (64 - bits), x, i) for i, r in enumerate(rows) for x in r if every and not x % every
    ]
    found.sort(key=lambda f: f[0])  # (stable: in the order of the values within a part)
    assert anchors.hashes.tolist() == [x for _, x, _ in found]
    assert anchors.owners.tolist() == [i for _, _, i in found]
    sizes = [sum(1 for p, _, _ in found if p == part) for part in range(1 << bits)]
    assert anchors.bounds.tolist() == np.cumsum([0, *sizes]).tolist()


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(1, 12)), max_size=40))
def test_overlapping_intervals_are_found_as_by_comparing_every_two(intervals):
    from dedup.passages import _overlapping

    pair = np.asarray([p for p, _, _ in intervals], dtype=np.int64)
    start = np.asarray([s for _, s, _ in intervals], dtype=np.int64)
    length = np.asarray([n for _, _, n in intervals], dtype=np.int64)
    expected = [
        any(q == p and s < t + m and t < s + n for j, (q, t, m) in enumerate(intervals) if j != i)
        for i, (p, s, n) in enumerate(intervals)
    ]
    assert _overlapping(pair, start, length).tolist() == expected


_RATIO = st.sampled_from([0.0, 0.2, 0.4, 0.5, 0.8, 0.9, 1.0]) | st.floats(0, 1)


@given(
    st.lists(
        st.tuples(
            st.booleans(), _RATIO, _RATIO, _RATIO, _RATIO, st.integers(0, 9), st.integers(0, 99)
        )
    )
)
def test_classify_all_is_classify_pair_by_pair(pairs: list[tuple]) -> None:
    settings = Settings()
    expected = [
        classify(Scores(j, ab, ba, c, e, t), w, settings) for e, j, ab, ba, c, t, w in pairs
    ]
    columns = list(zip(*pairs, strict=True)) or [()] * 7
    exact, jaccard, ab, ba, cosine, terms, words = (np.asarray(c) for c in columns)
    found = classify_all(
        exact.astype(bool),
        jaccard.astype(float),
        np.maximum(ab, ba).astype(float),
        cosine.astype(float),
        terms.astype(int),
        words.astype(int),
        settings,
    )
    assert [KINDS[k] if k >= 0 else None for k in found.tolist()] == expected


@given(st.integers(0, 2**40), st.text(max_size=5), st.floats(allow_nan=False))
def test_made_passages_matches_articles_and_members_are_the_constructed_ones(
    n: int, text: str, score: float
):
    from dataclasses import FrozenInstanceError

    from dedup.models import (
        Article,
        Match,
        Member,
        Passage,
        make_article,
        make_match,
        make_member,
        make_passage,
    )

    passage = make_passage(n, n + 1, 0, 1, 8, text)
    assert passage == Passage(n, n + 1, 0, 1, 8, text)
    assert repr(passage) == repr(Passage(n, n + 1, 0, 1, 8, text))
    match = make_match("a", text, "partial", score, 0.5, 0.25, 1.0, (passage,))
    assert match == Match("a", text, "partial", score, 0.5, 0.25, 1.0, (passage,))
    assert hash(match) == hash(Match("a", text, "partial", score, 0.5, 0.25, 1.0, (passage,)))
    with pytest.raises(FrozenInstanceError):
        match.kind = "exact"  # type: ignore[misc]
    fields = (str(n), text, "t", "o", None, "u", None, {"k": score})
    article = make_article(*fields)
    assert article == Article(*fields) and repr(article) == repr(Article(*fields))
    with pytest.raises(FrozenInstanceError):
        article.text = ""  # type: ignore[misc]
    member = make_member(str(n), text, "o", None, "copy")
    assert member == Member(str(n), text, "o", None, "copy")
    assert repr(member) == repr(Member(str(n), text, "o", None, "copy"))
