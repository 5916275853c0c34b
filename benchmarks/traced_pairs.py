"""Which candidate pairs `dedup report` traces for passages, and what tracing finds in each group.

Usage (from the project root, after `python benchmarks/make_corpus.py --size 100k`):
    python benchmarks/traced_pairs.py --size 100k --size 1m

The candidates are sorted into groups by their scores alone, before any passage is traced:
- copy: the scores make the pair a copy kind (exact, near_duplicate, contained, partial);
- story: the scores make it `same_story` (traced when it shares a shingle, for its passages);
- maybe: no copy by the scores, but it shares enough shingles (`passage_shingles_needed`) that
  its passages might add up to `partial_words`, so it is traced to find out
(`detect.scored_kinds`, which `judge_pairs` uses).
For each group the table gives the pairs judged, how many were traced (a pair that shares no
shingle is not), and the kinds `judge_pairs` gave them: the "maybe" pairs that end as no match
are tracing spent for nothing. Results: the `traced-pairs` section of `benchmarks/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
GROUPS = ("copy", "story", "maybe")


def traced_groups(corpus: Path) -> dict[str, Counter[str]]:
    """For each group: "judged", "traced" and the count of each final kind ("none": no match)."""
    import numpy as np

    from dedup import Settings
    from dedup.detect import Analysis, scored_kinds
    from dedup.models import KINDS
    from dedup.parallel import gc_paused
    from dedup.readers import read_articles

    s = Settings()
    with gc_paused():
        read = read_articles([corpus])
        analysis = Analysis(read.articles, s)
        where, scores = analysis._candidate_scores(s)
        kinds, copy, maybe = scored_kinds(scores, where, s)  # (as `judge_pairs` sorts them)
        story = (kinds == KINDS.index("same_story")) & ~maybe
        matches = analysis.judge_pairs(s, where, scores)
    row = analysis.row
    found = {(row[m.a], row[m.b]): m.kind for m in matches}
    left, right = scores.left[where].tolist(), scores.right[where].tolist()
    shares = (scores.shared[where] > 0).tolist()
    out: dict[str, Counter[str]] = {}
    for name, mask in zip(GROUPS, (copy, story, maybe), strict=True):
        counts: Counter[str] = Counter()
        for p in np.flatnonzero(mask).tolist():
            counts["judged"] += 1
            counts["traced"] += shares[p]
            counts[found.get((left[p], right[p]), "none")] += 1
        out[name] = counts
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", default=None, help="10k, 100k, 1m")
    parser.add_argument("--no-results", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from results_md import command_line, machine, machine_line, md_table, update_section

    from dedup.models import KINDS

    rows: list[list[object]] = []
    for size in args.size or ["100k"]:
        corpus = DATA / f"synthetic-{size.lower()}" / "articles.jsonl"
        if not corpus.exists():
            raise SystemExit(f"{corpus} not found: python benchmarks/make_corpus.py --size {size}")
        groups = traced_groups(corpus)
        traced = sum(g["traced"] for g in groups.values())
        for name, counts in groups.items():
            kinds = ", ".join(f"{k} {counts[k]}" for k in (*KINDS, "none") if counts[k])
            share = f"{counts['traced'] / traced:.0%}" if traced else "–"
            rows.append([size, name, counts["judged"], counts["traced"], share, kinds or "–"])
    table = md_table(["corpus", "group", "judged", "traced", "of all traced", "judged as"], rows)
    print(table)
    if not args.no_results:
        body = [
            "## Traced pairs: what tracing passages finds, by group",
            f"Command: `{command_line()}`.",
            machine_line(machine()),
            "Groups as listed in `benchmarks/traced_pairs.py`: `maybe` pairs are traced only in "
            "case their passages add up to `partial_words`; those judged `none` are tracing "
            "spent for nothing.",
            table,
        ]
        update_section("traced-pairs", "\n\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
