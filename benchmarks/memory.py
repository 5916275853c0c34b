"""Where `dedup report`'s memory goes: the main process's resident set before, at its peak during
and after each step of a report over a synthetic corpus, with every core, and the largest
resident set of a worker process during the step (a worker forked from the main process starts
with its resident set).

Usage (from the project root, after `python benchmarks/make_corpus.py --size 1m`):
    python benchmarks/memory.py --size 1m

Steps, in the order the report runs them (as `benchmarks/profile.py` runs it, texts in a
temporary file beyond `cli.SPILL_TEXT`):
- read: the JSONL into articles;
- fingerprint: `batch.fingerprint_corpus` (tokens, shingles, term counts);
- picking anchors: `detect.pick_anchors`, within the analysis (the rest of `Analysis`:
  boilerplate, corpus stop words, TF-IDF rows);
- banding: each LSH resolution's `batch.band_counts` (MinHash signatures a few bands at a time,
  and their buckets), story first (whose pairs `batch.nearest` then cuts to each article's
  nearest), then copy;
- sharing anchors: `detect.shared_anchors`;
- report (`Analysis.report`, last=True): scores, passages and matches, stories (grouping,
  originals); the analysis is then let go, as `detect` does;
- json: the report as JSON, a few stories at a time.
The resident sets are sampled every RSS_EVERY seconds, after an untimed report of the scenario
fixtures (numba's compilation is no step).
Results: the `memory` section of `benchmarks/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: Seconds between two samples of the main process's resident set.
RSS_EVERY = 0.01


class Steps:
    """The resident set before, at the peak during, and after each step, and the workers' peak
    during it, in MiB (a step may run within another: each open step has its own peaks)."""

    def __init__(self) -> None:
        self.rows: list[list[object]] = []
        self.peaks: list[float] = []  # (of the open steps, outermost first)
        self.worker_peaks: list[float] = []
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        from results_md import children_rss_mib, rss_mib

        while not self._stop.is_set():
            rss, workers = rss_mib(), children_rss_mib()
            for i, peak in enumerate(list(self.peaks)):
                self.peaks[i] = max(peak, rss)
            for i, peak in enumerate(list(self.worker_peaks)):
                self.worker_peaks[i] = max(peak, workers)
            time.sleep(RSS_EVERY)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        from results_md import rss_mib

        before = rss_mib()
        self.peaks.append(before)
        self.worker_peaks.append(0.0)
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        after = rss_mib()
        peak = max(self.peaks.pop(), after)
        workers = self.worker_peaks.pop()
        self.rows.append(
            [
                name,
                f"{before:.0f}",
                f"{peak:.0f}",
                f"{after:.0f}",
                f"{workers:.0f}" if workers else "-",
                f"{seconds:.1f}",
            ]
        )
        print(*self.rows[-1], sep=" | ", flush=True)

    def wrap(self, module: Any, name: str, label: Callable[..., str]) -> None:
        """Make `module.name` a step of its own each time it is called (`label(*args)`: its
        name in the table)."""
        original = getattr(module, name)

        def measured(*args: Any, **kwargs: Any) -> Any:
            with self.step(label(*args)):
                return original(*args, **kwargs)

        setattr(module, name, measured)

    def close(self) -> None:
        self._stop.set()


def measure(corpus: Path) -> list[list[object]]:
    from dedup import Settings
    from dedup.cli import SPILL_TEXT
    from dedup.parallel import default_workers, gc_paused
    from dedup.readers import read_articles
    from dedup.render import json_chunks

    detect = importlib.import_module("dedup.detect")  # (the module: `dedup.detect` is a function)
    steps = Steps()
    calls = {"band_counts": 0}

    def nth(name: str, labels: tuple[str, str]) -> Callable[..., str]:
        def label(*args: Any) -> str:
            calls[name] += 1
            return labels[min(calls[name], 2) - 1]

        return label

    steps.wrap(detect, "fingerprint_corpus", lambda *a: "fingerprint")
    steps.wrap(detect, "pick_anchors", lambda *a: "picking anchors")
    steps.wrap(detect, "band_counts", nth("band_counts", ("story banding", "copy banding")))
    steps.wrap(detect, "nearest", lambda *a: "story nearest")
    steps.wrap(detect, "shared_anchors", lambda *a: "sharing anchors")
    steps.wrap(detect.Analysis, "score_pairs", lambda *a: "scores")
    steps.wrap(detect.Analysis, "_judge", lambda *a: "passages and matches")
    steps.wrap(detect.Analysis, "_groups", lambda *a: "stories: grouping")
    steps.wrap(detect, "build_stories", lambda *a: "stories: originals")
    settings = Settings()
    try:
        with gc_paused():
            with steps.step("read"):
                read = read_articles([corpus], spill=SPILL_TEXT, workers=default_workers())
            with steps.step("analysis (fingerprint and index)"):
                analysis = detect.Analysis(read.articles, settings, texts=read.texts)
            with steps.step("candidates"):
                analysis.candidate_codes(settings)
            with steps.step("report"):
                report = analysis.report(settings, skipped=read.skipped, last=True)
                del analysis  # (as `detect` returns)
            with steps.step("json"):
                for _ in json_chunks(report):
                    pass
    finally:
        steps.close()
    return steps.rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="corpus in benchmarks/data: 10k, 100k, 1m")
    parser.add_argument("--no-results", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from results_md import md_table, synthetic_corpus, warm_up, write_section

    corpus = synthetic_corpus(args.size)
    warm_up()
    headers = [
        "step",
        "before (MiB)",
        "peak (MiB)",
        "after (MiB)",
        "workers' peak (MiB)",
        "seconds",
    ]
    table = md_table(headers, measure(corpus))
    print(table)
    if not args.no_results:
        size = args.size.lower()
        write_section(
            f"memory-{size}",
            f"Memory: the resident set at each step of `dedup report` ({size})",
            f"Corpus: `synthetic-{size}`, every core; steps as listed in `benchmarks/memory.py`: "
            "the main process's resident set before, at its peak during (sampled every "
            f"{RSS_EVERY * 1000:.0f} ms) and after each step, and the largest resident set of a "
            "worker process during it; a step within another (fingerprint and picking anchors "
            "within the analysis, banding and anchors within candidates, scores, passages and "
            "stories within the report) is listed before it. Arrays that a stage does not use "
            "wait in a temporary file (`Analysis._park`): their writing and reading is part of "
            "the steps.",
            table,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
