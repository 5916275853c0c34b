"""The detector: articles -> fingerprints -> LSH candidates -> verified matches -> stories.

MinHash-LSH (datasketch) proposes candidate pairs at two resolutions: word shingles (copies) and
content words (same-story coverage in other words). LSH is approximate; every reported match is
verified on exact scores (see `dedup.verify`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from .errors import DedupError
from .fingerprint import U32, U64, Fingerprint, Fingerprinter, signatures
from .models import Article, Match, Report, Settings, Skipped, Stats
from .stories import build_stories, group
from .verify import (
    TermWeights,
    Verifier,
    boilerplate_shingles,
    document_frequencies,
    pair_cosines,
)

#: progress(stage, done, total): called as long work advances.
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs (row indices i < j) from the two LSH resolutions."""

    pairs: list[tuple[int, int]]
    copy_pairs: int
    story_pairs: int


def lsh_pairs(
    sigs: U32, threshold: float, settings: Settings, usable: Sequence[bool]
) -> set[tuple[int, int]]:
    """Pairs of rows that share an LSH bucket (datasketch MinHashLSH banding for `threshold`)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=settings.num_perm)
    for i, row in enumerate(sigs):
        if usable[i]:
            lsh.insert(
                i,
                LeanMinHash(seed=settings.seed, hashvalues=row, scheme="affine32"),
                check_duplication=False,
            )
    pairs: set[tuple[int, int]] = set()
    for table in lsh.hashtables:
        for key in table.keys():  # noqa: SIM118  (datasketch storage, not a dict)
            bucket = sorted(table.get(key))
            for x in range(len(bucket)):
                for y in range(x + 1, len(bucket)):
                    pairs.add((bucket[x], bucket[y]))
    return pairs


def find_candidates(fps: Sequence[Fingerprint], boilerplate: U64, settings: Settings) -> Candidates:
    copy_sets = [
        fp.shingles[~np.isin(fp.shingles, boilerplate, assume_unique=True)]
        if len(boilerplate)
        else fp.shingles
        for fp in fps
    ]
    copy_sigs = signatures(copy_sets, settings.num_perm, settings.seed)
    story_sigs = signatures([fp.topics for fp in fps], settings.num_perm, settings.seed)
    copy = lsh_pairs(copy_sigs, settings.lsh_copy, settings, [len(s) > 0 for s in copy_sets])
    story = lsh_pairs(story_sigs, settings.lsh_story, settings, [len(fp.topics) > 0 for fp in fps])
    return Candidates(sorted(copy | story), len(copy), len(story))


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
    settings = settings or Settings()
    progress = progress or _no_progress
    by_id: dict[str, Article] = {}
    for art in articles:
        if art.id in by_id:
            raise DedupError(f"duplicate article id {art.id!r}: ids must be unique")
        by_id[art.id] = art
    ordered = [by_id[i] for i in sorted(by_id)]

    fingerprinter = Fingerprinter(settings)
    fps: list[Fingerprint] = []
    for n, art in enumerate(ordered, start=1):
        fps.append(fingerprinter.fingerprint(art))
        if n % 1000 == 0 or n == len(ordered):
            progress("fingerprint", n, len(ordered))
    boilerplate = boilerplate_shingles(fps, settings)
    candidates = find_candidates(fps, boilerplate, settings)

    weights = TermWeights(document_frequencies(fps), len(fps))
    matrix = weights.matrix([fp.terms for fp in fps])
    left = [i for i, _ in candidates.pairs]
    right = [j for _, j in candidates.pairs]
    cosines = pair_cosines(matrix, left, right)

    verifier = Verifier(settings, fingerprinter, {a.id: a.text for a in ordered}, boilerplate)
    matches: list[Match] = []
    total = len(candidates.pairs)
    for n, ((i, j), cos) in enumerate(zip(candidates.pairs, cosines.tolist(), strict=True), 1):
        m = verifier.verify(fps[i], fps[j], cos)
        if m is not None:
            matches.append(m)
        if n % 1000 == 0 or n == total:
            progress("verify", n, total)

    row = {fp.id: i for i, fp in enumerate(fps)}

    def verify_pair(a: str, b: str) -> Match | None:
        i, j = row[a], row[b]
        return verifier.verify(fps[i], fps[j], float(pair_cosines(matrix, [i], [j])[0]))

    groups, matches = group(matches, verify_pair)
    stories = build_stories(groups, matches, by_id, {fp.id: fp.words for fp in fps})
    members = sorted({m.id for s in stories for m in s.members})
    stats = Stats(
        articles=len(ordered),
        skipped=len(skipped),
        candidate_pairs=total,
        matches=sum(len(s.matches) for s in stories),
        stories=len(stories),
        seconds=round(time.perf_counter() - started, 3) if timing else None,
    )
    return Report(
        settings=settings,
        stats=stats,
        skipped=tuple(sorted(skipped, key=lambda s: (s.path, s.reason))),
        stories=tuple(stories),
        articles={i: by_id[i] for i in members},
    )
