"""The detector: articles -> fingerprints -> LSH candidates -> verified matches -> stories.

MinHash-LSH (datasketch) proposes candidate pairs at two resolutions: word shingles (copies) and
content words (same-story coverage in other words). LSH is approximate; every reported match is
verified on exact scores (see `dedup.verify`).

`analyse` does the work that does not depend on the verification thresholds (fingerprints,
signatures, candidates, measurements of each pair, all cached); `Analysis.report(settings)` then
applies thresholds, so a sweep over thresholds costs little more than one run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .errors import DedupError
from .fingerprint import U32, U64, Fingerprint, Fingerprinter, signatures
from .models import Article, Match, Report, Settings, Skipped, Stats
from .stories import build_stories, group
from .verify import (
    Evidence,
    TermWeights,
    Verifier,
    boilerplate_shingles,
    document_frequencies,
    judge,
    pair_cosines,
    without_common_terms,
)

#: progress(stage, done, total): called as long work advances.
Progress = Callable[[str, int, int], None]

#: Settings that change fingerprints or boilerplate: changing them needs a new `analyse`.
ANALYSIS_SETTINGS = (
    "shingle_size",
    "num_perm",
    "seed",
    "boilerplate_docs",
    "boilerplate_share",
    "boilerplate_cap",
    "common_share",
    "common_docs",
)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def lsh_pairs(
    sigs: U32, threshold: float, num_perm: int, seed: int, usable: Sequence[bool]
) -> set[tuple[int, int]]:
    """Pairs of rows that share a bucket of datasketch's MinHashLSH tuned for `threshold`."""
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, row in enumerate(sigs):
        if usable[i]:
            minhash = LeanMinHash(seed=seed, hashvalues=row, scheme="affine32")
            lsh.insert(i, minhash, check_duplication=False)
    pairs: set[tuple[int, int]] = set()
    for table in lsh.hashtables:
        for key in table.keys():  # noqa: SIM118  (datasketch storage, not a dict)
            bucket = sorted(table.get(key))
            for x in range(len(bucket)):
                for y in range(x + 1, len(bucket)):
                    pairs.add((bucket[x], bucket[y]))
    return pairs


#: Anchors shared by more articles than this are stock phrases, not evidence of reuse.
MAX_ANCHOR_POSTINGS = 64


def anchor_pairs(sets: Sequence[U64], every: int, min_shared: int) -> set[tuple[int, int]]:
    """Pairs of rows sharing at least `min_shared` anchors: the shingles whose hash is divisible
    by `every` (mod-p sampling, as in Broder's shingling). A shared passage of L words holds
    about (L - shingle_size + 1) / every anchors, so a quoted paragraph is found whatever the
    rest of the two articles is."""
    if every <= 0:
        return set()
    rows: list[np.ndarray] = []
    values: list[U64] = []
    for i, s in enumerate(sets):
        picked = s[s % np.uint64(every) == 0]
        values.append(picked)
        rows.append(np.full(len(picked), i, dtype=np.int64))
    if not values:
        return set()
    hashes = np.concatenate(values)
    owners = np.concatenate(rows)
    order = np.argsort(hashes, kind="stable")
    hashes, owners = hashes[order], owners[order]
    bounds = np.flatnonzero(np.diff(hashes)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(hashes)]))
    sizes = ends - starts
    counts: dict[tuple[int, int], int] = {}
    for lo, hi in zip(
        starts[(sizes >= 2) & (sizes <= MAX_ANCHOR_POSTINGS)].tolist(),
        ends[(sizes >= 2) & (sizes <= MAX_ANCHOR_POSTINGS)].tolist(),
        strict=True,
    ):
        posting = owners[lo:hi].tolist()
        for x in range(len(posting)):
            for y in range(x + 1, len(posting)):
                key = (posting[x], posting[y])
                counts[key] = counts.get(key, 0) + 1
    return {pair for pair, n in counts.items() if n >= min_shared}


class Analysis:
    """A corpus analysed at fixed fingerprint settings: fingerprints, boilerplate, MinHash
    signatures at both resolutions, TF-IDF rows; candidates and pair measurements are computed
    on first use and cached."""

    def __init__(
        self, articles: Iterable[Article], settings: Settings, progress: Progress | None = None
    ) -> None:
        self.settings = settings
        self.progress = progress or _no_progress
        by_id: dict[str, Article] = {}
        for art in articles:
            if art.id in by_id:
                raise DedupError(f"duplicate article id {art.id!r}: ids must be unique")
            by_id[art.id] = art
        self.articles = by_id
        self.ordered = [by_id[i] for i in sorted(by_id)]
        self.row = {a.id: i for i, a in enumerate(self.ordered)}

        fingerprinter = Fingerprinter(settings)
        fps: list[Fingerprint] = []
        total = len(self.ordered)
        for n, art in enumerate(self.ordered, start=1):
            fps.append(fingerprinter.fingerprint(art))
            if n % 1000 == 0 or n == total:
                self.progress("fingerprint", n, total)
        self.fingerprints = fps
        self.boilerplate: U64 = boilerplate_shingles(fps, settings)
        copy_sets = [self._without_boilerplate(fp.shingles) for fp in fps]
        self.copy_sets = copy_sets
        self.copy_usable = [len(s) > 0 for s in copy_sets]
        doc_freq = without_common_terms(document_frequencies(fps), len(fps), settings)
        common = np.unique(
            fingerprinter.word_hashes(sorted({t for fp in fps for t in fp.terms} - set(doc_freq)))
        )
        topic_sets = [fp.topics[~np.isin(fp.topics, common, assume_unique=True)] for fp in fps]
        self.story_usable = [len(s) > 0 for s in topic_sets]
        self.copy_signatures = signatures(copy_sets, settings.num_perm, settings.seed)
        self.story_signatures = signatures(topic_sets, settings.num_perm, settings.seed)
        self.weights = TermWeights(doc_freq, len(fps))
        self.tfidf = self.weights.matrix([fp.terms for fp in fps])
        self.verifier = Verifier(
            fingerprinter, {a.id: a.text for a in self.ordered}, self.boilerplate
        )
        self._candidates: dict[tuple[float, float, int, int], list[tuple[int, int]]] = {}
        self._evidence: dict[tuple[int, int], Evidence] = {}

    def _without_boilerplate(self, shingles: U64) -> U64:
        if not len(self.boilerplate):
            return shingles
        return shingles[~np.isin(shingles, self.boilerplate, assume_unique=True)]

    def candidates(self, settings: Settings) -> list[tuple[int, int]]:
        """Candidate pairs of rows (i < j) proposed by either LSH resolution or by shared
        anchors, sorted."""
        s = settings
        key = (s.lsh_copy, s.lsh_story, s.anchor_every, s.min_anchors)
        if key not in self._candidates:
            copy = lsh_pairs(self.copy_signatures, s.lsh_copy, s.num_perm, s.seed, self.copy_usable)
            story = lsh_pairs(
                self.story_signatures, s.lsh_story, s.num_perm, s.seed, self.story_usable
            )
            anchors = anchor_pairs(self.copy_sets, s.anchor_every, s.min_anchors)
            self._candidates[key] = sorted(copy | story | anchors)
        return self._candidates[key]

    def measure(self, pairs: Sequence[tuple[int, int]]) -> list[Evidence]:
        """Measurements of pairs of rows (i < j), cached."""
        todo = [p for p in dict.fromkeys(pairs) if p not in self._evidence]
        if todo:
            cosines, shared = pair_cosines(self.tfidf, [i for i, _ in todo], [j for _, j in todo])
            fps = self.fingerprints
            measured = zip(todo, cosines.tolist(), shared.tolist(), strict=True)
            for n, ((i, j), cos, terms) in enumerate(measured, start=1):
                evidence = self.verifier.measure(fps[i], fps[j], cos, shared_terms=terms)
                self._evidence[(i, j)] = evidence
                if n % 1000 == 0 or n == len(todo):
                    self.progress("verify", n, len(todo))
        return [self._evidence[p] for p in pairs]

    def report(
        self,
        settings: Settings | None = None,
        *,
        skipped: Sequence[Skipped] = (),
        started: float | None = None,
    ) -> Report:
        """The report at `settings` (default: the analysis settings); only the verification and
        LSH thresholds may differ from the analysis settings. `started` (a perf_counter value)
        turns on timing."""
        settings = settings or self.settings
        changed = [
            n for n in ANALYSIS_SETTINGS if getattr(settings, n) != getattr(self.settings, n)
        ]
        if changed:
            raise DedupError(f"{', '.join(changed)} differ from the analysis: analyse again")
        pairs = self.candidates(settings)
        matches = [m for e in self.measure(pairs) if (m := judge(e, settings)) is not None]

        def verify_pair(a: str, b: str) -> Match | None:
            return judge(self.measure([(self.row[a], self.row[b])])[0], settings)

        groups, matches = group(matches, verify_pair)
        words = {fp.id: fp.words for fp in self.fingerprints}
        stories = build_stories(groups, matches, self.articles, words)
        members = sorted({m.id for s in stories for m in s.members})
        stats = Stats(
            articles=len(self.ordered),
            skipped=len(skipped),
            candidate_pairs=len(pairs),
            matches=sum(len(s.matches) for s in stories),
            stories=len(stories),
            seconds=None if started is None else round(time.perf_counter() - started, 3),
        )
        return Report(
            settings=settings,
            stats=stats,
            skipped=tuple(sorted(skipped, key=lambda s: (s.path, s.reason))),
            stories=tuple(stories),
            articles={i: self.articles[i] for i in members},
        )


def analyse(
    articles: Iterable[Article], settings: Settings | None = None, progress: Progress | None = None
) -> Analysis:
    """Fingerprint and index `articles` once; see `Analysis.report`."""
    return Analysis(articles, settings or Settings(), progress)


def detect(
    articles: Iterable[Article],
    settings: Settings | None = None,
    *,
    skipped: Sequence[Skipped] = (),
    progress: Progress | None = None,
    timing: bool = True,
) -> Report:
    """Find the stories in `articles`: verified matches grouped without chaining, each with its
    original. `skipped` (inputs that could not be read) is carried into the report. The result
    does not depend on the order of `articles`."""
    started = time.perf_counter()
    analysis = analyse(articles, settings, progress)
    return analysis.report(skipped=skipped, started=started if timing else None)
