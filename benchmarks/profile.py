"""Where `dedup report` spends its time: wall time of each stage on a synthetic corpus, with one
worker process and with every core.

Usage (from the project root, after `python benchmarks/make_corpus.py --size 100k`):
    python benchmarks/profile.py --size 100k
    python benchmarks/profile.py --size 1m --workers 2    # (one worker at 1M takes long)
    python benchmarks/profile.py --size 100k --blocks     # the block sizes of `dedup.detect`

Stages, in the order the report runs them:
- read: the JSONL into articles, their texts into a temporary file when they add up to more
  than `cli.SPILL_TEXT` characters (`readers.read_articles` on the workers given, the garbage
  collector paused, as `dedup report` reads);
- fingerprint: tokenising, word ids, shingle hashes, term counts (`batch.fingerprint_corpus`);
- index: boilerplate, anchors, corpus stop words, TF-IDF rows (the rest of `Analysis`; large
  arrays that the next stages do not use wait in a temporary file: `Analysis._park`);
- candidates: MinHash at both resolutions, LSH banding, anchor pairs;
- scores: exact Jaccard, containment and TF-IDF cosine of every candidate pair;
- passages: shared passages of the pairs that are or may be matches (`dedup.passages`);
- judge and stories: thresholds, complete linkage, originals;
- json: the report as JSON, a few stories at a time, as `dedup report` writes it.
Each stage is timed in this process (`time.perf_counter`), so work done by the workers counts as
the wall time the stage waited for it. Results: the `profile` section of `benchmarks/RESULTS.md`.

`--blocks` runs the profile once for each block size of `BLOCK_SWEEP` (one constant of
`dedup.detect` changed at a time, the others at their defaults; the report does not depend on
them) and writes the seconds of the stages each drives (the `profile-blocks` section).
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("read", "fingerprint", "index", "candidates", "scores", "passages", "judge and stories")

#: Block sizes `--blocks` tries for each constant of `dedup.detect`, and the stages it drives.
BLOCK_SWEEP: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "FINGERPRINT_BLOCK": ((1024, 4096, 16384), ("fingerprint",)),
    "SCORE_BLOCK": ((1024, 4096, 16384, 65536), ("scores",)),
    "TRACE_BLOCK": ((512, 2048, 8192, 16384), ("passages", "judge and stories")),
}


@dataclass
class Run:
    """One profiled report: seconds per stage (and "total"), and the main process's largest
    resident set during each stage (MiB, sampled every RSS_EVERY seconds; 0 where
    /proc/self/statm does not exist)."""

    seconds: dict[str, float]
    peak_mib: dict[str, float]


#: Seconds between two samples of the main process's resident set.
RSS_EVERY = 0.02


def profile(corpus: Path, workers: int) -> Run:
    """Seconds and peak memory per stage of one report over `corpus` on `workers` processes,
    with the garbage collector off from reading to the JSON, as `dedup report` runs."""
    from dedup.parallel import gc_paused

    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(samples, stop), daemon=True)
    sampler.start()
    try:
        with gc_paused():
            times, spans = _profile(corpus, workers)
    finally:
        stop.set()
        sampler.join()
    return Run(times, {stage: _peak(samples, lo, hi) for stage, (lo, hi) in spans.items()})


def _peak(samples: list[tuple[float, float]], lo: float, hi: float) -> float:
    """The largest resident set sampled from `lo` to `hi`; for a stage shorter than a sampling
    interval, the last sample before it ended (0 when nothing was sampled)."""
    inside = [rss for at, rss in samples if lo <= at <= hi]
    before = [rss for at, rss in samples if at <= hi][-1:]
    return max(inside or before or [0.0])


def _sample_rss(samples: list[tuple[float, float]], stop: threading.Event) -> None:
    """(time, resident MiB) of this process every RSS_EVERY seconds until `stop` is set."""
    from results_md import rss_mib

    if not rss_mib():
        return
    while True:
        samples.append((time.perf_counter(), rss_mib()))
        if stop.wait(RSS_EVERY):
            return


def _profile(corpus: Path, workers: int) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    from dedup import Settings
    from dedup.cli import SPILL_TEXT
    from dedup.detect import Analysis
    from dedup.readers import read_articles
    from dedup.render import json_chunks

    times: dict[str, float] = {}
    marks: dict[str, list[float]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault(stage, []).append(time.perf_counter())

    t = started = time.perf_counter()
    read = read_articles([corpus], spill=SPILL_TEXT, workers=workers)
    times["read"] = time.perf_counter() - t

    settings = Settings()
    t = time.perf_counter()
    analysis = Analysis(read.articles, settings, progress, workers, read.texts)
    fingerprinted = marks["fingerprint"][-1]
    times["fingerprint"] = fingerprinted - t
    times["index"] = time.perf_counter() - fingerprinted

    t = time.perf_counter()
    analysis.candidate_codes(settings)
    times["candidates"] = time.perf_counter() - t

    t = time.perf_counter()
    report = analysis.report(settings, skipped=read.skipped, last=True)  # (as `dedup report`)
    del analysis  # (as `detect` returns)
    total = time.perf_counter() - t
    scored = marks.get("verify", [t])[-1]
    traced = marks.get("passages", [scored])
    times["scores"] = scored - t
    times["passages"] = traced[-1] - scored
    times["judge and stories"] = total - times["scores"] - times["passages"]

    t = time.perf_counter()
    for _ in json_chunks(report):  # (written as `dedup report --format json` writes it)
        pass
    times["json"] = time.perf_counter() - t
    times["total"] = sum(times.values())
    spans, at = {}, started
    for stage in (*STAGES, "json"):  # (one after the other: each ends where the next starts)
        spans[stage] = (at, at + times[stage])
        at += times[stage]
    return times, spans


def sweep_blocks(corpus: Path, workers: int) -> list[list[object]]:
    """Rows (constant, size, stages, their seconds, total seconds) of one profile per size."""
    import importlib

    detect = importlib.import_module("dedup.detect")
    rows: list[list[object]] = []
    for name, (sizes, stages) in BLOCK_SWEEP.items():
        default = getattr(detect, name)
        try:
            for size in sizes:
                setattr(detect, name, size)
                times = profile(corpus, workers).seconds
                shown = f"{size} (default)" if size == default else str(size)
                spent = f"{sum(times[stage] for stage in stages):.1f}"
                rows.append([name, shown, " + ".join(stages), spent, f"{times['total']:.1f}"])
                print(*rows[-1], sep=" | ", flush=True)
        finally:
            setattr(detect, name, default)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="corpus in benchmarks/data: 10k, 100k, 1m")
    parser.add_argument(
        "--workers",
        type=int,
        action="append",
        default=None,
        help="worker processes of a run (repeatable; default: 1 and every core)",
    )
    parser.add_argument(
        "--blocks", action="store_true", help="time each block size of BLOCK_SWEEP instead"
    )
    parser.add_argument("--no-results", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from results_md import md_table, synthetic_corpus, warm_up, write_section

    from dedup.parallel import default_workers

    corpus = synthetic_corpus(args.size)
    cores = default_workers()
    warm_up()
    if args.blocks:
        return _blocks(args, corpus, max(args.workers or [cores]))
    profiled = {w: profile(corpus, w) for w in sorted(set(args.workers or (1, cores)))}
    runs = {w: run.seconds for w, run in profiled.items()}
    peaks = profiled[max(profiled)].peak_mib  # (of the run on the most workers)
    if not any(peaks.values()):  # (no /proc/self/statm: no column)
        peaks = {}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    names = [*STAGES, "json", "total"]
    headers = ["stage", *(f"{w} worker{'s' if w > 1 else ''} (s)" for w in runs)]
    speed_up = 1 in runs and len(runs) > 1
    if speed_up:
        headers.append("speed-up")
    if peaks:
        headers.append(f"peak RSS, {max(runs)} worker{'s' if max(runs) > 1 else ''} (MiB)")
    rows = []
    for name in names:
        row: list[object] = [name, *(f"{r[name]:.1f}" for r in runs.values())]
        if speed_up:
            one, many = runs[1][name], runs[max(runs)][name]
            row.append(f"{one / many:.2f}×" if many > 0.05 else "–")
        if peaks:
            row.append(f"{peaks[name]:.0f}" if name in peaks else f"{max(peaks.values()):.0f}")
        rows.append(row)
    table = md_table(headers, rows)
    print(table)
    if not args.no_results:
        write_section(
            f"profile-{args.size.lower()}",
            f"Profile: where `dedup report` spends its time ({args.size.lower()})",
            f"Corpus: `synthetic-{args.size.lower()}`; stages as listed in "
            "`benchmarks/profile.py`, timed in the main process (a stage on the workers counts "
            "as the time it was waited for); peak RSS: the main process's largest resident set "
            f"during the stage, sampled every {RSS_EVERY * 1000:.0f} ms (the workers' own memory "
            f"is not in it). Peak RSS of the main process over the whole run: {peak:.0f} MiB.",
            table,
        )
    return 0


def _blocks(args: argparse.Namespace, corpus: Path, workers: int) -> int:
    from results_md import md_table, write_section

    headers = ["constant", "size", "stages", "their seconds", "total seconds"]
    table = md_table(headers, sweep_blocks(corpus, workers))
    print(table)
    if not args.no_results:
        write_section(
            f"profile-blocks-{args.size.lower()}",
            f"Block sizes: the stages they drive ({args.size.lower()})",
            f"Corpus: `synthetic-{args.size.lower()}`, {workers} workers. One profile (as above) "
            "per row, one constant of `dedup.detect` changed at a time; the report is the same "
            "at every size.",
            table,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
