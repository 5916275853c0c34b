"""Quality of `dedup` on labelled data: `dedup bench` (the library's `run_bench`) on the synthetic
syndication gold, on the Clough & Stevenson corpus of reused short answers, and on the project's
own labelled fixtures.

Usage (from the project root):
    python benchmarks/quality.py [--synthetic 10k] [--only NAME ...]

Datasets:
- `synthetic-<size>`: `benchmarks/data/synthetic-<size>/` from `make_corpus.py` (gold: every pair
  of one copy cluster; copies only, so a same_story match counts against precision);
- `clough`: `../shared/corpora/clough` (95 answers, 5 Wikipedia sources). Gold pairs are
  (answer, orig_task<T>) for every answer: cut / light / heavy are matches, non is not; pairs
  the corpus does not label (answer with answer) are left out (`unlabelled="ignore"`). Each
  writer is an outlet of their own (`g0pA`), the sources are outlet `wikipedia`. Recall is
  reported for each Clough category, not mapped onto dedup's kinds;
- `fixtures-bench-pairs`, `fixtures-bench-clusters`: `fixtures/bench/` and its two gold files;
- `scenarios`: every folder of `fixtures/scenarios/` (ids prefixed with the scenario) against
  `fixtures/scenarios/gold.csv`;
- `seed`: `fixtures/seed/`; its README names one pair that reports the same story.

Results: `benchmarks/out/quality-<dataset>.json` (the `dedup.bench/1` JSON) and the `quality`
section of `benchmarks/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from dedup import Article, Settings
from dedup.bench import (
    DEFAULT_SWEEPS,
    BenchResult,
    BenchRow,
    Gold,
    bench_to_dict,
    load_gold,
    parse_gold,
    parse_sweep,
    run_bench,
)
from dedup.readers import read_articles

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
OUT = HERE / "out"
CLOUGH = ROOT.parent / "shared" / "corpora" / "clough"
FIXTURES = ROOT / "fixtures"
# The synthetic corpora are large: sweep the verification thresholds only (an LSH sweep would
# re-measure many more candidate pairs), in steps of 0.05, and same_story up to 1 (no
# same_story matches: the gold holds copies only).
SYNTHETIC_SWEEPS = (
    "near_duplicate=0.6:0.95:0.05",
    "contained=0.5:0.95:0.05",
    "partial=0.1:0.5:0.1",
    "partial_cosine=0:0.5:0.1",
    "same_story=0.3:1.0:0.1",
)


@dataclasses.dataclass
class Dataset:
    name: str
    about: str
    articles: list[Article]
    gold: Gold
    sweeps: tuple[str, ...] = DEFAULT_SWEEPS
    unlabelled: Literal["negative", "ignore"] = "negative"


def synthetic(size: str) -> Dataset:
    corpus = DATA / f"synthetic-{size}"
    if not (corpus / "articles.jsonl").exists():
        raise SystemExit(f"{corpus} is missing: python benchmarks/make_corpus.py --size {size}")
    read = read_articles([corpus / "articles.jsonl"])
    return Dataset(
        f"synthetic-{size}",
        f"`make_corpus.py --size {size}`: Reuters-21578 wire stories and edited copies",
        list(read.articles),
        load_gold(corpus / "gold-pairs.csv"),
        SYNTHETIC_SWEEPS,
    )


def clough() -> Dataset:
    folder = CLOUGH / "corpus-20090418"
    articles = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        outlet = "wikipedia" if path.stem.startswith("orig_") else path.stem.split("_")[0]
        articles.append(Article(id=path.name, text=text, outlet=outlet))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["a", "b", "label", "category"])
    with open(CLOUGH / "labels.derived.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Category"] == "orig":
                continue
            source = f"orig_task{row['Task']}.txt"
            label = 0 if row["Category"] == "non" else 1
            w.writerow([row["File"], source, label, row["Category"]])
    return Dataset(
        "clough",
        "Clough & Stevenson (2011): 95 short answers against their Wikipedia source",
        articles,
        parse_gold(out.getvalue(), "clough labels.derived.csv (answer, source pairs)"),
        unlabelled="ignore",
    )


def fixtures_bench(gold_file: str) -> Callable[[], Dataset]:
    def make() -> Dataset:
        read = read_articles([FIXTURES / "bench" / "articles"])
        kind = gold_file.removeprefix("gold-").removesuffix(".csv")
        return Dataset(
            f"fixtures-bench-{kind}",
            f"`fixtures/bench/articles` against `fixtures/bench/{gold_file}`",
            list(read.articles),
            load_gold(FIXTURES / "bench" / gold_file),
        )

    return make


def scenarios() -> Dataset:
    folder = FIXTURES / "scenarios"
    articles = []
    for scenario in sorted(p for p in folder.iterdir() if p.is_dir()):
        for a in read_articles([scenario]).articles:
            articles.append(dataclasses.replace(a, id=f"{scenario.name}/{a.id}"))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["a", "b", "label"])
    with open(folder / "gold.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            w.writerow(
                [f"{row['scenario']}/{row['a']}", f"{row['scenario']}/{row['b']}", row["kind"]]
            )
    return Dataset(
        "scenarios",
        "`fixtures/scenarios/*` (each read on its own, ids prefixed) against its `gold.csv`",
        articles,
        parse_gold(out.getvalue(), "fixtures/scenarios/gold.csv"),
    )


def seed() -> Dataset:
    read = read_articles([FIXTURES / "seed"])
    gold = (
        "a,b,label\n"
        "asianlite/kim-eyes-talks-with-putin-in-russia.txt,"
        "guardian/kim-jong-un-to-meet-putin-in-russia.txt,1\n"
    )
    return Dataset(
        "seed",
        "`fixtures/seed` (8 articles; fixtures/README.md names one pair on the same story)",
        list(read.articles),
        parse_gold(gold, "fixtures/README.md (seed)"),
    )


def run(dataset: Dataset) -> BenchResult:
    sweeps = [parse_sweep(s) for s in dataset.sweeps]
    return run_bench(
        dataset.articles, dataset.gold, sweeps, Settings(), unlabelled=dataset.unlabelled
    )


# --- RESULTS.md -------------------------------------------------------------------------------


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _label(row: BenchRow) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in row.values.items()) or "base"


def _default_row(result: BenchResult) -> int | None:
    base = result.base
    return next((i for i, r in enumerate(result.rows) if r.settings == base), None)


def dataset_section(dataset: Dataset, result: BenchResult, seconds: float) -> str:
    from results_md import md_table

    clusters = result.gold.format == "clusters"
    headers = ["setting", "precision", "recall", "F1", "TP", "FP", "FN", "match recall"]
    headers.append("cand. recall")
    if clusters:
        headers += ["ARI", "AMI"]

    def line(label: str, r: BenchRow) -> list[str]:
        o = r.overall
        cells = [label, _f(o.precision), _f(o.recall), _f(o.f1), str(o.tp), str(o.fp), str(o.fn)]
        cells += [_f(r.match_recall), _f(r.candidate_recall)]
        if clusters:
            cells += [_f(r.ari), _f(r.ami)]
        return cells

    analysis = result.analyses[0]
    gold_what = f"{result.gold_positives} match pairs"
    if result.gold.format == "pairs":
        gold_what += f", {result.gold_negatives} labelled non-match pairs; unlabelled pairs "
        gold_what += "count as non-matches" if result.unlabelled == "negative" else "left out"
    parts = [
        f"### {dataset.name}",
        "",
        f"{dataset.about}. {result.articles} articles; gold: {gold_what}. Analysis "
        f"{analysis.seconds:.1f} s ({analysis.candidate_pairs} candidate pairs), whole sweep "
        f"{seconds:.1f} s for {len(result.rows)} settings.",
        "",
    ]
    summary = []
    d = _default_row(result)
    if d is not None:
        summary.append(line("defaults", result.rows[d]))
    if result.best is not None:
        summary.append(
            line(f"best F1: {_label(result.rows[result.best])}", result.rows[result.best])
        )
    parts.append(md_table(headers, summary))
    for idx, title in ((d, "defaults"), (result.best, "best F1")):
        if idx is None:
            continue
        row = result.rows[idx]
        if row.categories:
            parts += ["", f"Labelled pairs found by category ({title}):", ""]
            parts.append(
                md_table(
                    ["category", "pairs", "found", "share", "found as"],
                    [
                        [
                            c,
                            s.pairs,
                            s.found,
                            _f(s.share),
                            ", ".join(f"{k} {n}" for k, n in s.kinds.items()) or "–",
                        ]
                        for c, s in row.categories.items()
                    ],
                )
            )
        if row.per_kind and idx == d:
            parts += ["", f"Per kind ({title}; a pair counts when its kind is the gold's):", ""]
            parts.append(
                md_table(
                    ["kind", "precision", "recall", "F1"],
                    [[k, _f(s.precision), _f(s.recall), _f(s.f1)] for k, s in row.per_kind.items()],
                )
            )
    sweep_rows = [line(_label(r), r) for r in result.rows]
    parts += [
        "",
        "<details><summary>Every setting of the sweep</summary>",
        "",
        md_table(headers, sweep_rows),
        "",
        "</details>",
    ]
    return "\n".join(parts)


DATASETS: dict[str, Callable[[], Dataset]] = {
    "clough": clough,
    "fixtures-bench-pairs": fixtures_bench("gold-pairs.csv"),
    "fixtures-bench-clusters": fixtures_bench("gold-clusters.csv"),
    "scenarios": scenarios,
    "seed": seed,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", action="append", default=None, help="sizes (default 10k)")
    parser.add_argument("--only", action="append", default=None, help="dataset names to run")
    parser.add_argument("--no-results", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from results_md import command_line, machine, machine_line, update_section

    makers = dict(DATASETS)
    for size in args.synthetic or ["10k"]:
        makers[f"synthetic-{size.lower()}"] = functools.partial(synthetic, size.lower())
    names = args.only or list(makers)
    OUT.mkdir(parents=True, exist_ok=True)
    sections = []
    for name in names:
        if name not in makers:
            parser.error(f"unknown dataset {name} (known: {', '.join(makers)})")
        dataset = makers[name]()
        print(f"{name}: {len(dataset.articles)} articles ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        result = run(dataset)
        seconds = time.perf_counter() - started
        (OUT / f"quality-{name}.json").write_text(
            json.dumps(bench_to_dict(result), indent=2) + "\n", encoding="utf-8"
        )
        best = result.rows[result.best] if result.best is not None else None
        print(f"{name}: best {best and _label(best)} F1 {best and _f(best.overall.f1)}",
              file=sys.stderr)  # fmt: skip
        sections.append(dataset_section(dataset, result, seconds))
    if not args.no_results:
        info = machine()
        body = [
            "## Quality: `dedup bench` on labelled data",
            "",
            f"Command: `{command_line()}` (the synthetic corpus: `python benchmarks/make_corpus.py "
            "--size 10k`).",
            machine_line(info),
            "",
            "Each sweep varies one setting at a time from the defaults. `defaults` is the row at "
            "the default settings, `best F1` the setting with the highest pair F1 (tuned on the "
            "same data: an upper bound, not a held-out figure). Precision, recall and F1 are over "
            "article pairs (the verified matches listed in the report's stories); `cand. recall` "
            "is the share of "
            "gold match pairs that the candidate stage (MinHash-LSH and passage anchors) proposed "
            "at all; `match recall` the share that are candidates and verify as a match before "
            "stories are formed (recall below it is lost to complete linkage, which keeps an "
            "article out of a story unless it matches, or is topically linked to, every member); "
            "ARI/AMI compare the stories "
            "with the gold clusters. How to read a `dedup bench` table: benchmarks/README.md.",
            "",
            "\n\n".join(sections),
        ]
        update_section("quality", "\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
