"""The detector on the seed articles, and properties that hold for any input."""

import importlib
import random
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from dedup import Article, Settings, analyse, detect, textstore
from dedup.errors import DedupError
from dedup.parallel import gc_paused
from dedup.readers import read_articles
from dedup.render import render_report
from dedup.verify import judge, pair_cosines
from tests.conftest import FIXTURES

detect_module = importlib.import_module("dedup.detect")  # the module, not `dedup.detect()`

KIM_EYES = "asianlite/kim-eyes-talks-with-putin-in-russia.txt"
GUARDIAN = "guardian/kim-jong-un-to-meet-putin-in-russia.txt"


def seed_articles(kind: str) -> list[Article]:
    path = FIXTURES / "seed" if kind == "txt" else FIXTURES / "seed.jsonl"
    result = read_articles([path])
    assert not result.skipped
    return list(result.articles)


@pytest.mark.parametrize("kind", ["txt", "jsonl"])
def test_seed_finds_exactly_the_kim_putin_story(kind):
    report = detect(seed_articles(kind))
    assert report.stats.articles == 8
    assert len(report.stories) == 1
    story = report.stories[0]
    assert {m.id for m in story.members} == {KIM_EYES, GUARDIAN}
    assert story.original == KIM_EYES
    titles = {m.title for m in story.members}
    assert "Kim Jong-un Eyes Talks with Putin in Russia" in titles
    assert "Kim Jong-un to meet Putin in Russia for talks on supplying weapons" in titles
    (match,) = story.matches
    assert match.kind in {"exact", "near_duplicate", "contained", "partial", "same_story"}
    shared = " ".join(" ".join(p.text.split()) for p in match.passages)
    assert "We have information that Kim Jong-un expects these discussions to continue" in shared
    assert "two space launch vehicles each carrying a military reconnaissance satellite" in shared
    assert "in late May and August" in shared


def test_a_passage_holds_article_a_and_cuts_its_text_when_asked() -> None:
    arts = {a.id: a for a in seed_articles("txt")}
    (story,) = detect(arts.values()).stories
    p = story.matches[0].passages[0]
    assert p.source is arts[story.matches[0].a].text  # (no copy per passage)
    assert p.text == p.source[p.a_start : p.a_end]
    assert p.source not in repr(p) and f"words={p.words}" in repr(p)


def test_seed_passages_point_into_both_texts():
    arts = {a.id: a for a in seed_articles("txt")}
    (story,) = detect(arts.values()).stories
    for m in story.matches:
        for p in m.passages:
            a_words = arts[m.a].text[p.a_start : p.a_end].lower().split()
            b_text = arts[m.b].text[p.b_start : p.b_end].lower()
            assert p.text == arts[m.a].text[p.a_start : p.a_end]
            # Same words on both sides (punctuation may differ).
            strip = str.maketrans("", "", ",.;:“”\"'’")
            assert " ".join(a_words).translate(strip) == " ".join(b_text.split()).translate(strip)


def test_shuffled_input_gives_byte_identical_json():
    arts = seed_articles("txt") + list(
        read_articles(sorted((FIXTURES / "scenarios").iterdir())[:3]).articles
    )
    expected = render_report(detect(arts, timing=False), "json")
    rng = random.Random(3)
    for _ in range(3):
        rng.shuffle(arts)
        assert render_report(detect(arts, timing=False), "json") == expected


def test_rethresholding_equals_a_fresh_run():
    arts = seed_articles("txt")
    analysis = analyse(arts)
    loose = Settings(same_story=0.1, partial_words=10)
    assert render_report(analysis.report(loose), "json") == render_report(
        detect(arts, loose, timing=False), "json"
    )


def test_matches_are_judged_strongest_first_as_stories_group_them():
    from dedup.stories import _strength

    read = read_articles([FIXTURES / "scenarios", FIXTURES / "bench"])
    analysis = analyse(read.articles)
    loose = Settings(same_story=0.1, partial_words=10)  # (more matches, of every kind)
    where, scores = analysis._candidate_scores(loose)
    matches = analysis.judge_pairs(loose, where, scores)
    assert len(matches) > 10 and len({m.kind for m in matches}) >= 4
    assert matches == sorted(matches, key=_strength)  # (so `group` need not sort them)


@pytest.mark.parametrize("link_cosine", [0.0, 0.2, 0.5])
def test_stories_are_grouped_as_stories_group_groups_the_matches(link_cosine: float):
    from dedup.stories import group

    read = read_articles([FIXTURES / "scenarios", FIXTURES / "bench"])
    analysis = analyse(read.articles)
    loose = Settings(same_story=0.1, partial_words=10, link_cosine=link_cosine)
    where, scores = analysis._candidate_scores(loose)
    matches, left, right = analysis._judge(loose, where, scores)
    assert [(m.a, m.b) for m in matches] == [
        (analysis.ordered[i].id, analysis.ordered[j].id)
        for i, j in zip(left.tolist(), right.tolist(), strict=True)
    ]
    known = {(m.a, m.b) for m in matches}
    cosine = analysis._row_cosine()
    row = analysis.row

    def linked(a: list[str], b: list[str]) -> bool:
        return all(
            (min(x, y), max(x, y)) in known or cosine(row[min(x, y)], row[max(x, y)]) >= link_cosine
            for x in a
            for y in b
        )

    expected = group(matches, linked, strongest_first=True)
    assert len(expected) > 3
    groups, inside = analysis._groups(left, right, link_cosine)
    assert groups == expected
    group_of = {x: g for g, ids in enumerate(groups) for x in ids}
    assert [[matches[k] for k in part.tolist()] for part in inside] == [
        sorted(
            (m for m in matches if group_of.get(m.a, -1) == group_of.get(m.b, -2) == g),
            key=lambda m: (m.a, m.b),
        )
        for g in range(len(groups))
    ]


def test_duplicate_ids_are_refused():
    with pytest.raises(Exception, match="duplicate article id"):
        detect([Article(id="x", text="a b c"), Article(id="x", text="d e f")])


# Property tests: small corpora built from a few base texts, copied and cut at random.
BASES = [
    "The harbour authority said ferries would resume on Monday after the storm damaged two piers "
    "and left the northern terminal without power for most of the weekend.",
    "Farmers in the valley expect a record apple harvest this autumn, the growers association "
    "reported, after a mild spring and steady rain through the summer months.",
    "The city council voted to extend the night bus pilot for another year, citing rising "
    "ridership among shift workers and students since the service began.",
    "A rare orchid thought extinct in the region has been found in a nature reserve by volunteers "
    "surveying wetland plants, the conservation trust announced on Thursday.",
]


@st.composite
def corpora(draw):
    n = draw(st.integers(min_value=2, max_value=9))
    arts = []
    for i in range(n):
        base = BASES[draw(st.integers(0, len(BASES) - 1))].split()
        lo = draw(st.integers(0, len(base) // 3))
        hi = draw(st.integers(2 * len(base) // 3, len(base)))
        outlet = draw(st.sampled_from(["a", "b", "c"]))
        arts.append(Article(id=f"{outlet}/{i:02d}.txt", text=" ".join(base[lo:hi]), outlet=outlet))
    return arts


@settings(max_examples=40, deadline=None)
@given(corpora(), st.randoms(use_true_random=False))
def test_stories_partition_the_ids_and_ignore_input_order(arts, rnd):
    report = detect(arts, timing=False)
    seen: set[str] = set()
    for story in report.stories:
        ids = [m.id for m in story.members]
        assert len(ids) >= 2 and len(set(ids)) == len(ids)
        assert not seen & set(ids), "an article in two stories"
        seen |= set(ids)
        assert story.original == ids[0]
        for m in story.matches:
            assert m.a < m.b and {m.a, m.b} <= set(ids)
    assert seen <= {a.id for a in arts}
    shuffled = list(arts)
    rnd.shuffle(shuffled)
    assert render_report(detect(shuffled, timing=False), "json") == render_report(report, "json")


@settings(max_examples=25, deadline=None)
@given(corpora())
def test_reporting_the_originals_again_finds_nothing_new(arts):
    """Re-running on one article per story plus the unmatched ones is a no-op: no stories."""
    report = detect(arts, timing=False)
    in_story = {m.id for s in report.stories for m in s.members}
    keep = [a for a in arts if a.id not in in_story or a.id in {s.original for s in report.stories}]
    again = detect(keep, timing=False)
    # Originals of different stories were not grouped the first time; with fewer articles
    # (and so different IDF and boilerplate statistics) they may only match if they matched
    # before, which complete linkage had refused.
    for story in again.stories:
        assert len(story.members) >= 2
    assert {m.id for s in again.stories for m in s.members} <= {a.id for a in keep}


def stock_sentence_corpus() -> list[Article]:
    """Forty short listing notices, each from its own outlet, all ending in the same stock
    sentence, and a feature that quotes a whole paragraph of one of them."""
    first = ["Ard", "Bel", "Cor", "Dun", "Elm", "Fair", "Glen", "Hol"]
    last = ["wick", "vale", "stan", "ford", "mere"]
    articles = []
    for i in range(40):
        name = f"{first[i % 8]}{last[i // 8]} Holdings"
        articles.append(
            Article(
                id=f"n{i:02d}",
                outlet=f"outlet{i}",
                text=f"{name} said its {2 + i % 7},{100 + 17 * i},000 "
                f"shares of common stock, priced at {5 + i} dlrs, began "
                "trading today on the American Stock Exchange, the exchange said.",
            )
        )
    quoted = (
        "Corvale Arden Holdings chairman Miriam Okonkwo told shareholders in Tulsa that the "
        "refinery at Bartlesville would double its throughput of sour crude by the autumn, "
        "and that the Osage pipeline contract signed with Hendry Midstream in January "
        "would carry the extra barrels south to the Gulf terminals at Freeport."
    )
    articles.append(Article(id="q1", outlet="wire", text=quoted))
    articles.append(
        Article(
            id="q2",
            outlet="feature",
            text="Refining in the Osage country is changing fast. " + quoted + " Analysts in "
            "Houston were unconvinced, pointing to the glut of sour crude in storage at "
            "Cushing and to falling margins across the Midcontinent all spring.",
        )
    )
    return articles


#: 53 words, each a stop word or one of the corpus stop words of `common_run_corpus`.
COMMON_RUN = (
    "it said that the company would not be able to do so in the year to the end of this year "
    "and that it had been in talks with them for some of the year before it said it would have "
    "to do what it could to make the year one of the"
)


def common_run_corpus(topic_word: str) -> list[Article]:
    """Two articles on different subjects sharing COMMON_RUN (with `topic_word` in its middle,
    if any), and six more that make its content words corpus stop words."""
    words = COMMON_RUN.split()
    run = " ".join([*words[:26], topic_word, *words[26:]]) if topic_word else COMMON_RUN
    own = [
        "Harvest yields in the Murray basin fell as irrigation quotas tightened.",
        "Ferry operators on the fjord route ordered two hydrogen vessels from Bergen yards.",
    ]
    filler = [
        f"Article {i} said the company was able to end talks and make a year of it, alone."
        for i in range(6)
    ]
    return [
        Article(id="a", outlet="one", text=f"{own[0]} {run} harvest."),
        Article(id="b", outlet="two", text=f"{own[1]} {run} ferries."),
        *(Article(id=f"f{i}", outlet=f"o{i}", text=t) for i, t in enumerate(filler)),
    ]


@pytest.mark.parametrize("topic_word", ["", "refinery"])
def test_a_shared_run_of_common_words_is_not_a_passage(topic_word: str) -> None:
    """Re-worded texts keep their stop words and most frequent words: a run made of those alone
    is not evidence of copying, however long; one topic word in it makes it a passage. (The
    texts are short: only passage words may make the pair a match here.)"""
    settings = Settings(common_docs=6, near_duplicate=1.0, contained=1.0, partial=1.0)
    articles = common_run_corpus(topic_word)
    analysis = analyse(articles, settings)
    (evidence,) = analysis.measure([(0, 1)])
    assert analysis.verifier.runs("a", "b") == evidence.runs  # the pair-by-pair path agrees
    match = judge(evidence, settings)
    if topic_word:
        assert sum(p.words for p in evidence.runs) >= 50
        assert match is not None and match.kind == "partial"
    else:
        assert evidence.runs == () and match is None
        assert not detect(articles, settings).stories


def test_a_shared_stock_sentence_is_not_a_partial_copy():
    articles = stock_sentence_corpus()
    analysis = analyse(articles)
    n = len(articles)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    evidence = {(e.a, e.b): e for e in analysis.measure(pairs)}
    notices = [e for (a, b), e in evidence.items() if a.startswith("n") and b.startswith("n")]
    # The stock sentence makes a fifth of each notice, but the notices share no word of their
    # own: containment alone would call every pair of them partial.
    assert all(max(e.scores.containment_ab, e.scores.containment_ba) >= 0.2 for e in notices)
    assert all(e.scores.cosine < 0.2 for e in notices)
    s = analysis.settings
    assert not [e for e in notices if judge(e, s) is not None]
    assert all(judge(e, s.replace(partial_cosine=0.0)).kind == "partial" for e in notices)
    # A quoted paragraph is a partial copy, by its words, whatever the cosine.
    quote = judge(evidence[("q1", "q2")], s.replace(partial_cosine=1.0))
    assert quote is not None and quote.kind in {"contained", "partial"}
    report = detect(articles)
    assert [sorted(m.id for m in story.members) for story in report.stories] == [["q1", "q2"]]


def test_pair_scores_are_those_of_sparse_products_on_one_worker_or_two() -> None:
    read = read_articles([FIXTURES / "scenarios"])
    analysis = analyse(read.articles)
    n = len(analysis.ordered)
    codes = analysis.candidate_codes(analysis.settings)
    assert len(codes) > 5
    left, right = codes // n, codes % n
    sets = analysis.copy_sets
    shingles = sparse.csr_matrix(
        (
            np.ones(len(sets.values)),
            (sets.values.astype(np.uint64) >> np.uint64(1)).view(np.int64),
            sets.offsets,
        ),
        shape=(n, 2**62),
    )
    shared = np.diff(shingles[left].multiply(shingles[right]).tocsr().indptr)
    cosine, shared_terms = pair_cosines(analysis.tfidf, left, right)
    for workers in (1, 2):
        analysis.workers = workers
        with pytest.MonkeyPatch.context() as patch:  # (blocks of 2 pairs: 2 workers fork)
            patch.setattr(detect_module, "SCORE_BLOCK", 2)
            scores = analysis.score_pairs(left, right)
        assert np.array_equal(scores.shared, shared)
        assert np.array_equal(scores.cosine, cosine)  # (to the last bit)
        assert np.array_equal(scores.shared_terms, shared_terms)
        assert len(analysis.copy_sets.values)  # (scoring leaves the sets as they were)


def test_a_last_report_lets_the_shingle_sets_go() -> None:
    read = read_articles([FIXTURES / "seed"])
    analysis = analyse(read.articles)
    kept = analysis.report()
    last = analysis.report(last=True)
    assert last == kept  # the same report, without the sets afterwards
    with pytest.raises(DedupError, match="analyse again"):
        analysis.candidate_codes(analysis.settings.replace(lsh_copy=0.5))


def test_a_first_and_last_report_is_the_same_and_frees_the_analysis() -> None:
    read = read_articles([FIXTURES / "seed", FIXTURES / "scenarios"])
    expected = analyse(read.articles).report()
    with gc_paused():  # (as `dedup report` runs)
        analysis = analyse(read.articles)
        last = analysis.report(last=True)  # (runs let go as they become passages)
        assert last == expected
        with pytest.raises(DedupError, match="analyse again"):
            analysis.set_sizes("story")  # (the TF-IDF rows)
        freed = weakref.ref(analysis)
        del analysis
        # no reference cycle: the analysis goes with its last reference, not at the next
        # collection (a gigabyte at 1M articles while the report is written)
        assert freed() is None


def test_arrays_set_aside_in_a_file_give_the_same_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = read_articles([FIXTURES / "seed", FIXTURES / "scenarios"])
    expected = detect(read.articles, timing=False)
    parked = []

    class Counted(detect_module.Parked):
        def __init__(self, arrays: list[np.ndarray]) -> None:
            parked.append(sum(a.nbytes for a in arrays))
            super().__init__(arrays)

    monkeypatch.setattr(detect_module, "PARK_BYTES", 0)  # (every array goes to the file)
    monkeypatch.setattr(detect_module, "Parked", Counted)
    monkeypatch.setattr(textstore, "Parked", Counted)  # (`set_aside`'s)
    with gc_paused():  # (as `dedup report` runs)
        analysis = analyse(read.articles)
        assert analysis.report(last=True) == expected
        freed = weakref.ref(analysis)
        del analysis
        assert freed() is None  # (what reads the arrays back holds no reference to it)
    # the terms while the shingles are made sets, the anchors and the shingle sets until the
    # story candidates are found, then the TF-IDF rows until the pairs are scored; the anchors
    # once shared and the TF-IDF rows until the stories are grouped go back to their files,
    # not written again
    assert len(parked) == 4 and all(parked)


def test_texts_kept_in_a_file_give_the_same_report():
    paths = [FIXTURES / "seed", FIXTURES / "scenarios"]
    spilled = read_articles(paths, spill=0)
    assert spilled.texts is not None
    assert all(a.text == "" for a in spilled.articles)
    kept = read_articles(paths)
    assert list(spilled.texts) == [a.text for a in kept.articles]
    expected = detect(kept.articles, timing=False)
    got = detect(spilled.articles, timing=False, texts=spilled.texts)
    assert got == expected  # (the report's articles have their texts back)
    assert render_report(got, "html") == render_report(expected, "html")


def test_texts_go_to_a_file_once_they_pass_the_limit():
    paths = [FIXTURES / "seed", FIXTURES / "scenarios"]
    kept = read_articles(paths)
    total = sum(len(a.text) for a in kept.articles)
    assert read_articles(paths, spill=total).texts is None  # (not more than the limit)
    late = read_articles(paths, spill=total // 2)  # (the texts read before move to the file)
    assert late.texts is not None and all(a.text == "" for a in late.articles)
    assert list(late.texts) == [a.text for a in kept.articles]


def test_texts_must_match_the_articles():
    read = read_articles([FIXTURES / "seed"], spill=0)
    assert read.texts is not None
    with pytest.raises(DedupError, match="texts for"):
        analyse(read.articles, texts=read.texts.take([0]))


def test_tfidf_in_place_is_scikit_learn_s_to_the_last_bit(monkeypatch):
    from sklearn.feature_extraction.text import TfidfTransformer

    from dedup import verify

    rng = np.random.default_rng(5)
    counts = sparse.random(300, 50, density=0.2, format="csr", random_state=rng, dtype=np.float64)
    counts.data = np.ceil(counts.data * 9)
    df = np.bincount(counts.indices, minlength=50)
    expected = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2")
    expected.idf_ = verify.idf(df, 300)
    want = expected.transform(counts, copy=True)
    monkeypatch.setattr(verify, "TFIDF_STEP", 7)  # (many steps, one cut inside a row)
    got = verify.tfidf(counts, df, 300, copy=False)
    assert np.array_equal(got.data, want.data) and np.array_equal(got.indices, want.indices)
