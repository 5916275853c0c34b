"""The archive index: one detector with `report`, consistency after every change, files that are
not usable indexes, and the reliability promises (SIGKILL mid-add, readers during an add)."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import (
    KINDS,
    ArchiveIndex,
    Article,
    CheckResult,
    IndexFileError,
    Settings,
    analyse,
    check_against,
    detect,
)
from dedup.fingerprint import Fingerprinter
from dedup.index import BATCH, FORMAT_VERSION, band_keys, tfidf_cosine, tfidf_weights
from dedup.postings import ANCHORS, BANDS, Postings
from dedup.readers import read_articles
from dedup.verify import TermWeights, document_frequencies, judge, pair_cosines
from tests.conftest import FIXTURES

index_module = importlib.import_module("dedup.index")  # the module, not `dedup.index`

GUARDIAN = "guardian/kim-jong-un-to-meet-putin-in-russia.txt"
KIM_EYES_TITLE = "Kim Jong-un Eyes Talks with Putin in Russia"
SCENARIOS = sorted(p for p in (FIXTURES / "scenarios").iterdir() if p.is_dir())
FOLDERS = [*SCENARIOS, FIXTURES / "seed"]


# -- a deterministic synthetic archive --------------------------------------------------------


def synthetic_records(n: int, seed: int = 7) -> list[dict[str, str]]:
    """`n` articles from a Zipf vocabulary of invented words: five outlets (three with a footer
    on every article), one date per 20 articles, and every seventh article a lightly edited copy
    of an earlier one, so checks have copies to find. Ids sort in the order written."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "va", "ze", "dor", "mel"]
    vocab = sorted(
        {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(4000)}
    )
    weights = [1.0 / (k + 1) for k in range(len(vocab))]
    outlets = ["north", "south", "east", "west", "wire"]
    footers = {
        o: f"Read more from the {o} desk at {o} dot example every single morning and evening."
        for o in outlets[:3]
    }
    records: list[dict[str, str]] = []
    bodies: list[list[str]] = []
    for i in range(n):
        outlet = outlets[i % len(outlets)]
        if i >= 10 and i % 7 == 0:
            words = list(bodies[rng.randrange(i)])
            words = words[rng.randint(0, 12) :]  # trimmed intro
            for _ in range(3):
                words[rng.randrange(len(words))] = rng.choice(vocab)
        else:
            words = rng.choices(vocab, weights, k=rng.randint(60, 160))
        bodies.append(words)
        sentences = [
            " ".join(words[j : j + 12]).capitalize() + "." for j in range(0, len(words), 12)
        ]
        text = "\n\n".join(" ".join(sentences[j : j + 3]) for j in range(0, len(sentences), 3))
        if outlet in footers:
            text += "\n\n" + footers[outlet]
        records.append(
            {
                "id": f"a{i:05d}",
                "title": " ".join(words[:6]).title(),
                "text": text,
                "outlet": outlet,
                "published": (date(2024, 1, 1) + timedelta(days=i // 20)).isoformat(),
            }
        )
    return records


def as_articles(records: list[dict[str, str]]) -> list[Article]:
    return [Article(**r) for r in records]  # type: ignore[arg-type]


def write_jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def summary(result: CheckResult) -> tuple[object, ...]:
    """What a check found, comparable across runs."""
    return (
        result.query.id,
        result.flagged,
        tuple(
            (m.id, m.kind, round(m.jaccard, 9), round(m.containment_query, 9), round(m.cosine, 9))
            for m in result.matches
        ),
    )


def dump(path: Path) -> dict[str, object]:
    """Every table of an index with row ids replaced by article ids and outlet ids by names, to
    compare two indexes built by different histories."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ids = dict(conn.execute("SELECT rowid, id FROM articles"))
        outlets = dict(conn.execute("SELECT oid, outlet FROM outlets"))
        return {
            "articles": sorted(
                (r[0], outlets[r[1]], *r[2:])
                for r in conn.execute(
                    "SELECT id, oid, published, digest, words, sampled, shingles, topics "
                    "FROM articles"
                )
            ),
            "article_data": sorted(
                (ids[r[0]], *r[1:]) for r in conn.execute("SELECT * FROM article_data")
            ),
            "bands": postings_of(conn, BANDS, ids),
            "anchors": postings_of(conn, ANCHORS, ids),
            "terms": sorted(conn.execute("SELECT term, df FROM terms")),
            "outlets": sorted(conn.execute("SELECT outlet, articles, sampled, need FROM outlets")),
            "outlet_shingles": sorted(
                (s, outlets[o], d) for s, o, d in conn.execute("SELECT * FROM outlet_shingles")
            ),
        }
    finally:
        conn.close()


def postings_of(conn: sqlite3.Connection, kind: int, ids: dict[int, str]) -> list[object]:
    """The live postings of `kind`, whatever runs hold them, by article id."""
    keys, articles = Postings(conn).everything(kind)
    return sorted(zip(keys.tolist(), [ids[a] for a in articles.tolist()], strict=True))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- one detector -----------------------------------------------------------------------------


def report_matches(
    articles: list[Article], settings: Settings | None = None
) -> dict[tuple[str, str], object]:
    """Every verified match of the report over `articles` (before stories are formed)."""
    analysis = analyse(articles, settings)
    s = analysis.settings
    pairs = analysis.candidates(s)
    return {(m.a, m.b): m for e in analysis.measure(pairs) if (m := judge(e, s)) is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {"partial": 0.0},
        {"partial": 0.05, "partial_cosine": 0.5},
        {"same_story": 0.0, "story_terms": 0},
        {"partial_words": 12},
    ],
)
def test_check_follows_report_at_other_thresholds(changes):
    settings = Settings().replace(**changes)
    for folder in (FIXTURES / "seed", FIXTURES / "scenarios" / "chain_trap"):
        articles = list(read_articles([folder]).articles)
        expected = {pair: m.kind for pair, m in report_matches(articles, settings).items()}
        found = {}
        for query in articles:
            others = [a for a in articles if a.id != query.id]
            with ArchiveIndex.in_memory(others, settings) as index:
                for m in index.check(query).matches:
                    found[tuple(sorted((query.id, m.id)))] = m.kind
        assert found == expected, folder.name


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_check_against_the_others_finds_what_report_finds(folder):
    articles = list(read_articles([folder]).articles)
    expected = report_matches(articles)
    story_pairs = {(m.a, m.b) for s in detect(articles).stories for m in s.matches}
    assert story_pairs <= set(expected)
    found: dict[tuple[str, str], list[tuple[object, ...]]] = {}
    for query in articles:
        with ArchiveIndex.in_memory([a for a in articles if a.id != query.id]) as index:
            result = index.check(query)
        for m in result.matches:
            a, b = sorted((query.id, m.id))
            ab, ba = (
                (m.containment_query, m.containment_match)
                if query.id == a
                else (m.containment_match, m.containment_query)
            )
            # Passages as the report shows them: offsets into a (the smaller id), then b.
            passages = sorted(
                (p.a_start, p.a_end, p.b_start, p.b_end, p.words)
                if query.id == a
                else (p.b_start, p.b_end, p.a_start, p.a_end, p.words)
                for p in m.passages
            )
            found.setdefault((a, b), []).append(
                (
                    m.kind,
                    round(m.jaccard, 6),
                    round(ab, 6),
                    round(ba, 6),
                    round(m.cosine, 6),
                    passages,
                )
            )
            text = query.text[m.passages[0].a_start : m.passages[0].a_end] if m.passages else ""
            assert not m.passages or text == m.passages[0].text
    assert set(found) == set(expected)
    for pair, seen in found.items():
        m = expected[pair]
        want = (
            m.kind,
            round(m.jaccard, 6),
            round(m.containment_ab, 6),
            round(m.containment_ba, 6),
            round(m.cosine, 6),
            sorted((p.a_start, p.a_end, p.b_start, p.b_end, p.words) for p in m.passages),
        )
        assert seen == [want, want], pair  # found from both sides, as the report found it


def test_guardian_copy_is_flagged_with_the_asian_lite_original_and_its_passages():
    seed = read_articles([FIXTURES / "seed"]).articles
    guardian = next(a for a in seed if a.id == GUARDIAN)
    with ArchiveIndex.in_memory([a for a in seed if a.outlet == "asianlite"]) as index:
        result = index.check(guardian)
    assert result.flagged
    (match,) = result.matches
    assert match.title == KIM_EYES_TITLE
    assert match.kind == "partial"
    archive_text = next(a for a in seed if a.id == match.id).text
    for p in match.passages:
        assert guardian.text[p.a_start : p.a_end] == p.text
        assert archive_text[p.b_start : p.b_end].split()[0] == p.text.split()[0]
    shared = " ".join(" ".join(p.text.split()) for p in match.passages)
    assert "We have information that Kim Jong-un expects these discussions to continue" in shared
    assert [p.a_start for p in match.passages] == sorted(p.a_start for p in match.passages)


def test_an_unrelated_article_is_not_flagged():
    seed = read_articles([FIXTURES / "seed"]).articles
    other = read_articles([FIXTURES / "scenarios" / "same_event"]).articles[0]
    result = check_against([other], [FIXTURES / "seed"])[0]
    assert not result.flagged and result.matches == ()
    assert len(seed) == 8


def test_fail_on_sets_the_weakest_kind_that_flags():
    articles = read_articles([FIXTURES / "scenarios" / "same_event"]).articles
    query, other = articles
    with ArchiveIndex.in_memory([other]) as index:
        (match,) = index.check(query).matches
        assert match.kind == "same_story"
        assert not index.check(query).flagged  # default: partial or stronger
        assert index.check(query, fail_on="same_story").flagged
    with pytest.raises(ValueError, match="fail_on must be one of"):
        check_against([query], [other], fail_on="similar")


def test_matches_come_strongest_first():
    records = synthetic_records(60)
    articles = as_articles(records)
    query = Article(id="zz-query", text=articles[3].text + "\n\n" + articles[9].text[:300])
    with ArchiveIndex.in_memory(articles) as index:
        result = index.check(query)
    ranks = [KINDS.index(m.kind) for m in result.matches]
    assert result.matches and ranks == sorted(ranks)
    assert result.matches[0].id == articles[3].id


# -- exact reuse of the report's arithmetic ---------------------------------------------------


def all_fixture_articles() -> list[Article]:
    read = read_articles([*FOLDERS, FIXTURES / "bench"])
    return list(read.articles)


def test_tfidf_cosine_is_the_report_s_to_the_last_bit():
    articles = all_fixture_articles() + as_articles(synthetic_records(150))
    fingerprinter = Fingerprinter(Settings())
    fps = [fingerprinter.fingerprint(a) for a in articles]
    df = document_frequencies(fps)
    df = {t: d for t, d in df.items() if d < 20}  # some corpus stop words left out, as report does
    matrix = TermWeights(df, len(fps)).matrix([fp.terms for fp in fps])
    rng = random.Random(3)
    pairs = [(rng.randrange(len(fps)), rng.randrange(len(fps))) for _ in range(3000)]
    cosines, shared = pair_cosines(matrix, [i for i, _ in pairs], [j for _, j in pairs])
    weights = [tfidf_weights(fp.terms, df, len(fps)) for fp in fps]
    for (i, j), cosine, terms in zip(pairs, cosines.tolist(), shared.tolist(), strict=True):
        assert tfidf_cosine(weights[i], weights[j]) == cosine
        assert len(weights[i].keys() & weights[j].keys()) == terms
    assert (cosines > 0).sum() > 100


def test_add_fingerprints_in_bulk_what_check_fingerprints_one_at_a_time():
    odd = [
        Article(id="short", text="one two"),
        Article(id="no-words", text="!!! ..."),
        Article(id="unicode", text="Ünïcödé WÖRDS, ﬁve six seven eight nine ten eleven"),
    ]
    articles = all_fixture_articles() + as_articles(synthetic_records(100)) + odd
    with ArchiveIndex.in_memory() as index:
        single = Fingerprinter(index.settings, stop_words=index._stop_words)
        prepared = index_module._prepare(
            [a.text for a in articles],
            [a.meta for a in articles],
            index.settings,
            index._stop_words,
        )
        bulk = index_module._New.batch(articles, prepared)
        for article, new in zip(articles, bulk, strict=True):
            one = single.fingerprint(article)
            terms = {prepared.vocab[t] for t in new.terms.tolist()}
            assert (new.words, new.digest, terms) == (one.words, one.digest, set(one.terms))
            assert json.loads(new.terms_json) == one.terms
            assert list(json.loads(new.terms_json)) == sorted(one.terms)
            assert np.array_equal(new.shingles, one.shingles)
            assert np.array_equal(new.topics, one.topics)


def test_passages_never_hold_more_words_than_check_s_bound():
    """`check` traces passages only when they could reach `partial_words`: its bound must
    hold for every pair."""
    from dedup.index import _passage_words_bound
    from dedup.verify import Verifier

    records = synthetic_records(120)
    articles = all_fixture_articles() + as_articles(records)
    settings = Settings()
    fingerprinter = Fingerprinter(settings)
    fps = {a.id: fingerprinter.fingerprint(a) for a in articles}
    verifier = Verifier(fingerprinter, {a.id: a.text for a in articles}, np.zeros(0, np.uint64))
    rng = random.Random(9)
    ids = sorted(fps)
    pairs = [tuple(sorted(rng.sample(ids, 2))) for _ in range(400)]
    pairs += [(r["id"], o["id"]) for r in records for o in records if r["text"][40:90] in o["text"]]
    tested = 0
    for a, b in pairs:
        if a == b:
            continue
        words = sum(p.words for p in verifier.runs(a, b) if p.words >= settings.min_passage_words)
        for one, other in ((a, b), (b, a)):
            bound = _passage_words_bound(
                verifier.tokens(one).shingles, fps[other].shingles, settings
            )
            assert words <= bound, (a, b)
        tested += words > 0
    assert tested > 10


def test_band_keys_share_exactly_the_buckets_of_datasketch():
    from datasketch import LeanMinHash, MinHashLSH

    rng = np.random.default_rng(5)
    sigs = rng.integers(0, 6, size=(300, 128), dtype=np.uint32)  # small values: many collisions
    lsh = MinHashLSH(threshold=0.3, num_perm=128)
    for i, row in enumerate(sigs):
        lsh.insert(
            i, LeanMinHash(seed=1, hashvalues=row, scheme="affine32"), check_duplication=False
        )
    keys = band_keys(sigs, lsh.b, lsh.r, 1)
    for i in range(0, 300, 7):
        expected = set(lsh.query(LeanMinHash(seed=1, hashvalues=sigs[i], scheme="affine32")))
        mine = {j for j in range(300) if (keys[j] == keys[i]).any()}
        assert mine == expected


# -- adding, replacing, removing --------------------------------------------------------------


def test_add_replace_and_remove_keep_every_derived_table_exact(tmp_path):
    records = synthetic_records(260)
    articles = as_articles(records)
    path = tmp_path / "archive.sqlite"
    with ArchiveIndex.open(path) as index:
        first = index.add(articles[:200])
        assert (first.added, first.replaced, first.unchanged, first.total) == (200, 0, 0, 200)
        again = index.add(articles[:120] + articles[200:])
        assert (again.added, again.replaced, again.unchanged) == (60, 0, 120)
        edited = [
            Article(id=a.id, text=a.text + " Updated.", outlet=a.outlet) for a in articles[:5]
        ]
        moved = Article(id=articles[6].id, text=articles[6].text, outlet="elsewhere")
        replaced = index.add([*edited, moved])
        assert (replaced.added, replaced.replaced) == (0, 6)
        assert index.get(articles[0].id) == edited[0]
        removed = index.remove([articles[10].id, "no-such-id", articles[11].id])
        assert removed.removed == (articles[10].id, articles[11].id)
        assert removed.missing == ("no-such-id",)
        assert index.audit() == []
        assert len(index) == 258
        final_ids = index.ids()
    clean = tmp_path / "clean.sqlite"
    survivors = {a.id: a for a in articles if a.id not in {articles[10].id, articles[11].id}}
    survivors.update({a.id: a for a in [*edited, moved]})
    with ArchiveIndex.open(clean) as index:
        index.add(sorted(survivors.values(), key=lambda a: a.id))
        assert index.ids() == final_ids
    # Counts (document frequencies, outlets, boilerplate samples) are exactly a clean build's.
    got, want = dump(path), dump(clean)
    for table in ("terms", "outlets", "outlet_shingles"):
        assert got[table] == want[table], table


def test_an_add_of_many_articles_leaves_one_run_of_postings_a_kind(monkeypatch):
    """Batches of 40 write a run each; the add ends by merging them (a check then reads about
    one chunk a key). A small add after it leaves its own run, until such runs add up."""
    monkeypatch.setattr(index_module, "BATCH", 40)
    articles = as_articles(synthetic_records(300, seed=9))
    with ArchiveIndex.in_memory() as index:
        index.add(articles[:280])
        assert [len(index._postings.runs(k)) for k in (BANDS, ANCHORS)] == [1, 1]
        index.add(articles[280:])
        assert [len(index._postings.runs(k)) for k in (BANDS, ANCHORS)] == [2, 2]
        assert index.audit() == []
        with ArchiveIndex.in_memory(articles) as plain:
            for query in articles[::50]:
                assert summary(index.check(query)) == summary(plain.check(query))


def test_metadata_of_any_mapping_reaches_the_workers():
    from types import MappingProxyType

    meta = MappingProxyType({"desk": "world", "words": 12})
    articles = [
        Article(id=f"m{i}", text=f"story number {i} about the harbour and the port", meta=meta)
        for i in range(3)
    ]
    with ArchiveIndex.in_memory() as index:
        assert index.add(articles, workers=2).added == 3
        assert index.get("m1") == articles[1]


def test_workers_build_the_index_of_one_process(tmp_path, monkeypatch):
    """Batches fingerprinted on two workers, ahead of the one being stored, give the bytes of
    one process; small batches make every add run many of them through the workers."""
    monkeypatch.setattr(index_module, "BATCH", 70)
    records = synthetic_records(400, seed=5)
    records += [{**r, "id": r["id"] + "-again"} for r in records[::9]]
    paths = {}
    for workers in (1, 2):
        path = paths[workers] = tmp_path / f"w{workers}.sqlite"
        with ArchiveIndex.open(path) as index:
            first = index.add(as_articles(records[:150]), workers=workers)
            rest = index.add(as_articles(records[100:]), workers=workers)
            assert (first.added, rest.added, rest.unchanged) == (150, len(records) - 150, 50)
    assert dump(paths[1]) == dump(paths[2])


def test_duplicate_ids_in_one_add_keep_the_first():
    a = Article(id="x", text="one two three four five six seven eight nine ten")
    b = Article(id="x", text="something else entirely, eleven twelve thirteen fourteen")
    with ArchiveIndex.in_memory() as index:
        result = index.add([a, b])
        assert result.added == 1 and [s.path for s in result.skipped] == ["x"]
        assert index.get("x") == a


def test_checking_an_indexed_article_treats_it_as_replaced():
    articles = as_articles(synthetic_records(120))
    query = articles[70]  # a copy of an earlier article
    with ArchiveIndex.in_memory(articles) as full:
        with_itself = full.check(query)
    with ArchiveIndex.in_memory([a for a in articles if a.id != query.id]) as others:
        without = others.check(query)
    assert summary(with_itself) == summary(without)
    assert query.id not in {m.id for m in with_itself.matches}
    assert with_itself.flagged


def test_window_keeps_recent_archive_articles_and_undated_ones():
    base = "the harbour board approved the new ferry timetable after a long public meeting " * 6
    archive = [
        Article(id="old", text=base, outlet="a", published="2024-01-01"),
        Article(id="recent", text=base, outlet="b", published="2024-03-08T09:00:00+01:00"),
        Article(id="later", text=base, outlet="c", published="2024-03-20"),
        Article(id="undated", text=base, outlet="d"),
    ]
    query = Article(id="q", text=base, outlet="e", published="2024-03-10")
    with ArchiveIndex.in_memory(archive) as index:
        everything = {m.id for m in index.check(query).matches}
        windowed = {m.id for m in index.check(query, window_days=7).matches}
        undated_query = Article(id="q", text=base, outlet="e")
        all_for_undated = {m.id for m in index.check(undated_query, window_days=7).matches}
    assert everything == {"old", "recent", "later", "undated"}
    assert windowed == {"recent", "undated"}
    assert all_for_undated == everything


def sentence_pool(n: int, seed: int = 11) -> list[Article]:
    """Short articles made of a few of eight shared sentences, in two outlets: their shingles
    are shared by every number of articles, so boilerplate counts go up and down."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(60)]
    sentences = [" ".join(rng.choices(words, k=7)) + "." for _ in range(8)]
    return [
        Article(
            id=f"p{i:02d}",
            text=" ".join(rng.sample(sentences, rng.randint(2, 5))),
            outlet="north" if i % 3 else "south",
        )
        for i in range(n)
    ]


POOL = sentence_pool(12)
EDITED = [Article(id=a.id, text=a.text + " And more.", outlet="north") for a in POOL]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "edit", "remove"]), st.integers(0, 11), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
def test_any_history_of_adds_and_removes_leaves_a_consistent_index(monkeypatch_sample, steps):
    """With boilerplate samples of 4 articles an outlet, adds, replacements and removes move
    articles in and out of the samples, by two writers taking turns (each with counts in
    memory); every derived table stays what the stored articles give, and checks answer."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "archive.sqlite"
        # Boilerplate from 2 articles up to all of a sample: the limit moves with each article.
        settings = {"boilerplate_docs": 2, "boilerplate_share": 1.0}
        with ArchiveIndex.open(path, settings) as one, ArchiveIndex.open(path) as two:
            for op, k, first in steps:
                writer = one if first else two
                if op == "add":
                    writer.add([POOL[k]])
                elif op == "edit":
                    writer.add([EDITED[k]])
                else:
                    writer.remove([POOL[k].id])
                assert one.audit() == [], (op, k)
            query = POOL[(steps[-1][1] + 1) % len(POOL)]
            result = two.check(query)
            assert all(m.id != query.id for m in result.matches)


@pytest.fixture
def monkeypatch_sample(monkeypatch):
    monkeypatch.setattr("dedup.index.BOILERPLATE_SAMPLE", 4)


# -- files that are not usable indexes --------------------------------------------------------


def make_index(path: Path) -> Path:
    with ArchiveIndex.open(path) as index:
        index.add(read_articles([FIXTURES / "seed"]).articles)
    return path


def corrupt(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "archive.sqlite"
    if kind == "text":
        path.write_text("id,title\n1,not an index\n", encoding="utf-8")
    elif kind == "garbage":
        path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    elif kind == "truncated":
        make_index(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "other-sqlite":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
        conn.commit()
        conn.close()
    elif kind in EDITS:
        make_index(path)
        conn = sqlite3.connect(path)
        conn.execute(EDITS[kind])
        conn.commit()
        conn.close()
    return path


# Indexes made unusable by one statement.
EDITS = {
    "older": "UPDATE meta SET value = '1' WHERE key = 'format_version'",
    "newer": "UPDATE meta SET value = '99' WHERE key = 'format_version'",
    "missing-table": "DROP TABLE runs",
}


UNUSABLE = {
    "text": "is not a dedup index (file is not a database)",
    "garbage": "is not a dedup index (file is not a database)",
    "truncated": "truncated",
    "other-sqlite": "is not a dedup index (an SQLite database of another kind)",
    "newer": "was written by a newer dedup (index format 99",
    "older": "was written by an older dedup (index format 1;",
    "missing-table": "missing table(s) runs",
}


@pytest.mark.parametrize("kind", sorted(UNUSABLE))
def test_an_unusable_file_is_refused_by_name_and_left_as_it_was(tmp_path, kind):
    path = corrupt(tmp_path, kind)
    before = digest(path)
    for readonly in (True, False):
        with pytest.raises(IndexFileError) as err:
            ArchiveIndex.open(path, readonly=readonly)
        message = str(err.value)
        assert str(path) in message and UNUSABLE[kind] in message
        assert "new" in message  # says what to do: a new path / a new index / upgrade
    assert digest(path) == before


def test_a_missing_index_is_not_created_for_reading(tmp_path):
    path = tmp_path / "nope.sqlite"
    with pytest.raises(IndexFileError, match="no index there"):
        ArchiveIndex.open(path, readonly=True)
    assert not path.exists()


def test_an_index_refuses_other_fingerprint_settings(tmp_path):
    path = tmp_path / "archive.sqlite"
    with ArchiveIndex.open(path, {"shingle_size": 4}) as index:
        index.add(read_articles([FIXTURES / "seed"]).articles)
    before = digest(path)
    with pytest.raises(IndexFileError, match=r"was built with shingle_size=4.*got shingle_size=5"):
        ArchiveIndex.open(path, Settings())
    with pytest.raises(IndexFileError, match="num_perm=128"):
        ArchiveIndex.open(path, {"num_perm": 64})
    assert digest(path) == before
    # Thresholds that do not shape what is stored may differ; the rest comes from the index.
    with ArchiveIndex.open(path, {"near_duplicate": 0.9}) as index:
        assert index.settings.shingle_size == 4 and index.settings.near_duplicate == 0.9
        with pytest.raises(IndexFileError, match="shingle_size"):
            index.check(Article(id="q", text="some text"), settings=Settings())


def test_a_read_only_index_refuses_to_change(tmp_path):
    path = make_index(tmp_path / "archive.sqlite")
    with ArchiveIndex.open(path, readonly=True) as index:
        with pytest.raises(IndexFileError, match="read-only"):
            index.add([Article(id="x", text="text")])
        with pytest.raises(IndexFileError, match="read-only"):
            index.remove(["x"])
        assert index.stats().articles == 8


def test_stats_name_what_the_index_was_built_with(tmp_path):
    path = tmp_path / "archive.sqlite"
    with ArchiveIndex.open(path) as index:
        index.add(as_articles(synthetic_records(30)))
        stats = index.stats()
    assert (stats.articles, stats.outlets, stats.undated) == (30, 5, 0)
    assert (stats.first_published, stats.last_published) == ("2024-01-01", "2024-01-02")
    assert stats.format_version == FORMAT_VERSION and stats.size_bytes > 0
    assert stats.settings["shingle_size"] == 5 and stats.lsh["copy"][0] > 0


# -- reliability ------------------------------------------------------------------------------


def count_articles(path: Path) -> int:
    """Articles committed so far, read as another process would (0 while there is no index)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT COALESCE(SUM(articles), 0) FROM outlets").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
    return int(row[0])


def dedup_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dedup", *args], capture_output=True, text=True, check=False
    )


def add_in_a_process(source: Path, path: Path) -> subprocess.Popen[bytes]:
    """`dedup index add SOURCE --index PATH`, running in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "dedup", "index", "add", str(source), "--index", str(path), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_once_held(proc: subprocess.Popen[bytes], path: Path, least: int) -> None:
    """SIGKILL `proc` once the index file at `path` holds `least` articles committed (the add
    must not end, nor stall, before)."""
    deadline = time.monotonic() + 300
    while count_articles(path) < least:
        assert proc.poll() is None, "the add ended before it could be killed"
        assert time.monotonic() < deadline, "the add made no progress"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_during_add_leaves_whole_articles_and_the_add_can_finish(tmp_path):
    records = synthetic_records(4000)
    source = write_jsonl(tmp_path / "big.jsonl", records)
    path = tmp_path / "x.sqlite"
    with ArchiveIndex.open(path) as index:  # (an add to an index there, not a build)
        index.add(as_articles(records[:BATCH]))
    proc = add_in_a_process(source, path)
    kill_once_held(proc, path, 2 * BATCH)

    # The index opens, passes stats, and holds only whole articles, exactly as given.
    with ArchiveIndex.open(path) as index:
        held = len(index)
        assert BATCH < held < len(records) and held % BATCH == 0
        assert index.audit() == []
        by_id = {r["id"]: r for r in records}
        for article_id in index.ids()[:: max(1, held // 50)]:
            assert index.get(article_id) == Article(**by_id[article_id])  # type: ignore[arg-type]
        assert index.check(Article(**records[-1])).query.id == records[-1]["id"]  # type: ignore[arg-type]
    stats = dedup_cli("index", "stats", "--index", str(path), "--format", "json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["articles"] == held

    # Running the add again completes it; the result is a clean build's.
    again = dedup_cli("index", "add", str(source), "--index", str(path), "-q")
    assert again.returncode == 0, again.stderr
    assert f"{len(records) - held} added, 0 replaced, {held} unchanged" in again.stderr
    clean = tmp_path / "clean.sqlite"
    with ArchiveIndex.open(clean) as index:
        index.add(as_articles(records))
    with ArchiveIndex.open(path, readonly=True) as index:
        assert index.audit() == []
    assert dump(path) == dump(clean)


def test_a_build_makes_the_index_an_add_makes_and_shows_none_until_done(tmp_path, monkeypatch):
    """`build` (what `dedup index add` runs for a new file) writes aside, without a journal and
    with two indexes made at the end: the file it moves into place holds what an add to a new
    index holds, in the same WAL mode, with the same schema."""
    monkeypatch.setattr(index_module, "BATCH", 70)
    records = synthetic_records(400, seed=4)
    records += [{**r, "id": r["id"] + "-again"} for r in records[::9]]
    built, added = tmp_path / "built.sqlite", tmp_path / "added.sqlite"
    result = ArchiveIndex.build(built, as_articles(records), workers=2)
    assert (result.added, result.total, result.skipped) == (len(records), len(records), ())
    assert os.listdir(tmp_path) == ["built.sqlite"]
    with ArchiveIndex.open(added) as index:
        index.add(as_articles(records), workers=2)
    assert dump(built) == dump(added)

    def schema(path: Path) -> tuple[object, ...]:
        conn = sqlite3.connect(path)
        try:
            return (
                conn.execute("PRAGMA journal_mode").fetchone(),
                conn.execute("PRAGMA page_size").fetchone(),
                sorted(conn.execute("SELECT type, name, sql FROM sqlite_master")),
            )
        finally:
            conn.close()

    assert schema(built) == schema(added)
    with ArchiveIndex.open(built) as index:
        assert index.audit() == []
        extra = [{**r, "id": "more-" + r["id"]} for r in synthetic_records(30, seed=8)]
        more = index.add(as_articles(extra))
        assert more.total == len(records) + 30
        assert index.audit() == []
    with pytest.raises(IndexFileError, match="exists"):
        ArchiveIndex.build(built, [])


def test_a_failed_build_leaves_no_index(tmp_path):
    articles = as_articles(synthetic_records(300, seed=2))

    def failing() -> Iterator[Article]:
        yield from articles
        raise OSError("the feed broke")

    path = tmp_path / "x.sqlite"
    with pytest.raises(OSError, match="the feed broke"):
        ArchiveIndex.build(path, failing())
    assert os.listdir(tmp_path) == []
    with pytest.raises(IndexFileError, match="no folder"):
        ArchiveIndex.build(tmp_path / "missing" / "x.sqlite", articles)


def test_sigkill_during_a_build_leaves_no_index_and_the_next_build_clears_its_file(tmp_path):
    records = synthetic_records(3000)
    source = write_jsonl(tmp_path / "big.jsonl", records)
    path = tmp_path / "x.sqlite"
    proc = add_in_a_process(source, path)
    kill_once_held(proc, tmp_path / f"x.sqlite.{proc.pid}.building", BATCH)
    assert not path.exists()
    again = dedup_cli("index", "add", str(source), "--index", str(path), "-q")
    assert again.returncode == 0, again.stderr
    assert f"{len(records)} added" in again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl", "x.sqlite"]


def test_checks_keep_answering_while_another_process_adds(tmp_path):
    records = synthetic_records(2100, seed=3)
    first, rest = records[:600], records[600:]
    source = write_jsonl(tmp_path / "rest.jsonl", rest)
    path = tmp_path / "x.sqlite"
    with ArchiveIndex.open(path) as index:
        index.add(as_articles(first))
    # Copies of archive articles and a few new ones, checked over and over.
    queries = [
        Article(id=f"q{i}", text=records[i]["text"], outlet="desk", published="2024-02-01")
        for i in (3, 40, 333, 700, 1500, 2050)
    ]
    # The states a reader may see: the first articles, then each committed batch of the rest.
    expected: list[list[tuple[object, ...]]] = []
    with ArchiveIndex.in_memory(as_articles(first)) as mirror:
        expected.append([summary(mirror.check(q)) for q in queries])
        for start in range(0, len(rest), BATCH):
            mirror.add(as_articles(rest[start : start + BATCH]))
            expected.append([summary(mirror.check(q)) for q in queries])
    assert len({tuple(e) for e in expected}) == len(expected)  # each state is recognisable

    writer = subprocess.Popen(
        [sys.executable, "-m", "dedup", "index", "add", str(source), "--index", str(path), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Each check (its own snapshot) must give the answer of one committed state, never earlier
    # than a state seen before.
    earliest = 0
    states_seen: set[int] = set()
    checks = 0
    with ArchiveIndex.open(path, readonly=True) as reader:
        while True:
            done = writer.poll() is not None
            for i, q in enumerate(queries):
                got = summary(reader.check(q))
                checks += 1
                fits = [k for k in range(earliest, len(expected)) if expected[k][i] == got]
                assert fits, f"check {checks} of {q.id} saw an index that no commit left"
                earliest = fits[0]
                if len(fits) == 1:
                    states_seen.add(fits[0])
            if done:
                break
    assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
    assert earliest == len(expected) - 1
    assert len(states_seen) >= 2, "the reader never ran while the writer added"


def test_a_check_reads_through_indexes_only(tmp_path):
    """Every statement a check runs is a lookup by key, no table scan, whatever the size (the
    small table of boilerplate counts is read once per version of the index, not per check)."""
    path = tmp_path / "archive.sqlite"
    articles = as_articles(synthetic_records(200))
    with ArchiveIndex.open(path) as index:
        index.add(articles[:150])
    statements: list[str] = []
    with ArchiveIndex.open(path, readonly=True) as index:
        index.check(articles[199])  # reads the boilerplate counts of this version
        index._conn.set_trace_callback(statements.append)
        for query in articles[150:160]:
            index.check(query)
        index._conn.set_trace_callback(None)
        selects = {s for s in statements if s.lstrip().upper().startswith("SELECT")}
        assert selects
        for sql in selects:
            params = [0] * sql.count("?")
            plan = index._conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            scans = [row[3] for row in plan if str(row[3]).startswith("SCAN")]
            assert not scans, (sql, scans)


def test_an_old_sqlite_with_999_parameters_a_statement_works_in_chunks():
    articles = as_articles(synthetic_records(80))
    with ArchiveIndex.open(":memory:") as index:
        index._conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 24)
        index._max_variables = 16
        index.add(articles[:70])
        index.remove([a.id for a in articles[:30]])
        assert index.audit() == []
        with ArchiveIndex.in_memory(articles[30:70]) as plain:
            for query in articles[70:]:
                assert summary(index.check(query)) == summary(plain.check(query))
