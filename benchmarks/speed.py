r"""Wall time, peak memory and copy-pair quality of `dedup report` against its peers, on the
synthetic syndication corpora of `make_corpus.py`.

Usage (from the project root, after `python benchmarks/make_corpus.py --size 10k --size 100k`):
    python benchmarks/speed.py --size 10k --size 100k

Every tool runs in its own child process on the same `articles.jsonl`, and is timed from start to
exit (reading, hashing, indexing, clustering, writing its answer); peak RSS is the child's
`ru_maxrss` (from `os.wait4`; for a tool that forks workers, the largest single process).
Tools:
- floor: read the JSONL (`json.loads` per line) and split each lower-cased text into `\w+` words,
  nothing else: what any Python tool pays before its first hash;
- dedup: `python -m dedup report articles.jsonl --format json` (the command line);
- datasketch: the library used directly, as a competent user would: word 5-shingles (a set),
  `MinHash(num_perm=128)` with `update_batch`, `MinHashLSH(threshold=0.7)` insert then query,
  union-find over the answers;
- rensa: the same pipeline with rensa's `RMinHash` / `RMinHashLSH` (128 permutations, 16 bands,
  threshold 0.7);
- text-dedup: `python -m text_dedup.minhash` (5-grams, 128 permutations, threshold 0.7) run from
  a separate virtual environment (`--text-dedup-python`; it pulls in datasets and pyspark), on
  the JSONL through `datasets`' local json loader with HF_DATASETS_OFFLINE=1;
- tfidf: brute force, every pair's TF-IDF cosine (scikit-learn, sublinear tf, English stop
  words), pairs at cosine >= 0.5 predicted; the exact all-pairs reference, 10k only.

dedup compiles its kernels (numba) on its first run on a machine and loads them from numba's
cache after that; an untimed `dedup report` of the scenario fixtures runs first, so that no
timed run includes the compilation.

Copy-pair quality against the gold (every pair of articles of one copy cluster): the predicted
pairs of a clustering tool are all pairs within each of its clusters; for dedup they are its
matches of copy kinds (exact, near_duplicate, contained, partial; `same_story` matches are not
copy claims) and, in a second column, all pairs of its stories.

Results: `benchmarks/out/speed-<size>.json` and the `speed` section of `benchmarks/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
OUT = HERE / "out"
TOOLS = ("floor", "dedup", "datasketch", "rensa", "text-dedup", "tfidf")
DEFAULT_TEXT_DEDUP_PYTHON = Path("/tmp/text-dedup-venv/bin/python")
NUM_PERM = 128
THRESHOLD = 0.7
TFIDF_THRESHOLD = 0.5
_WORD = re.compile(r"\w+")


# --- the children ---------------------------------------------------------------------------


def _records(corpus: Path) -> Iterator[dict[str, Any]]:
    with open(corpus / "articles.jsonl", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _shingles(text: str, k: int = 5) -> set[str]:
    words = _WORD.findall(text.lower())
    return {" ".join(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            self.parent[max(rx, ry)] = min(rx, ry)

    def clusters(self, ids: Sequence[str]) -> list[list[str]]:
        groups: dict[int, list[str]] = {}
        for i, doc in enumerate(ids):
            groups.setdefault(self.find(i), []).append(doc)
        return [g for g in groups.values() if len(g) > 1]


def child_floor(corpus: Path) -> dict[str, Any]:
    words = sum(len(_WORD.findall(rec["text"].lower())) for rec in _records(corpus))
    return {"words": words}


def child_datasketch(corpus: Path) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    ids: list[str] = []
    minhashes = []
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    for i, rec in enumerate(_records(corpus)):
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch([s.encode("utf-8") for s in _shingles(rec["text"])])
        lsh.insert(i, m)
        ids.append(rec["id"])
        minhashes.append(m)
    uf = UnionFind(len(ids))
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            uf.union(i, j)
    return {"clusters": uf.clusters(ids)}


def child_rensa(corpus: Path) -> dict[str, Any]:
    from rensa import RMinHash, RMinHashLSH  # type: ignore[import-untyped]

    ids: list[str] = []
    minhashes = []
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
    for i, rec in enumerate(_records(corpus)):
        m = RMinHash(num_perm=NUM_PERM, seed=42)
        m.update(list(_shingles(rec["text"])))
        lsh.insert(i, m)
        ids.append(rec["id"])
        minhashes.append(m)
    uf = UnionFind(len(ids))
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            uf.union(i, j)
    return {"clusters": uf.clusters(ids)}


def child_text_dedup(corpus: Path, work: Path) -> dict[str, Any]:
    import pickle

    # text-dedup lives in its own virtual environment (see the module doc).
    from text_dedup.minhash import main as text_dedup_main  # type: ignore[import-not-found]

    output = work / "text-dedup-out"
    args = [
        "--path", "json", "--data_files", str(corpus / "articles.jsonl"), "--split", "train",
        "--cache_dir", str(work / "text-dedup-cache"), "--output", str(output),
        "--column", "text", "--idx_column", "id", "--num_perm", str(NUM_PERM),
        "--threshold", str(THRESHOLD), "--ngram", "5", "--debug",
    ]  # fmt: skip
    text_dedup_main(args, standalone_mode=False)
    with open(output / "uf.pkl", "rb") as fh:
        uf = pickle.load(fh)  # text-dedup's own UnionFind, mapped to our ids by --idx_column
    groups: dict[str, list[str]] = {}
    for doc in uf.parent:
        groups.setdefault(uf.find(doc), []).append(doc)
    return {"clusters": [g for g in groups.values() if len(g) > 1]}


def child_tfidf(corpus: Path) -> dict[str, Any]:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    recs = list(_records(corpus))
    ids = [r["id"] for r in recs]
    matrix = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
        [r["text"] for r in recs]
    )
    pairs: list[list[str]] = []
    step = 1000
    for start in range(0, matrix.shape[0], step):
        block = (matrix[start : start + step] @ matrix.T).tocoo()
        keep = (block.data >= TFIDF_THRESHOLD) & (block.row + start < block.col)
        for i, j in zip((block.row[keep] + start).tolist(), block.col[keep].tolist(), strict=True):
            pairs.append([ids[i], ids[j]])
    del np
    return {"pairs": pairs}


def run_child(tool: str, corpus: Path, out: Path) -> None:
    work = out.parent
    if tool == "floor":
        answer = child_floor(corpus)
    elif tool == "datasketch":
        answer = child_datasketch(corpus)
    elif tool == "rensa":
        answer = child_rensa(corpus)
    elif tool == "text-dedup":
        answer = child_text_dedup(corpus, work)
    elif tool == "tfidf":
        answer = child_tfidf(corpus)
    else:
        raise SystemExit(f"unknown tool {tool}")
    out.write_text(json.dumps(answer), encoding="utf-8")


# --- the parent -----------------------------------------------------------------------------


def load_gold(corpus: Path) -> set[tuple[str, str]]:
    with open(corpus / "gold-pairs.csv", encoding="utf-8", newline="") as fh:
        return {
            (min(r["a"], r["b"]), max(r["a"], r["b"]))
            for r in csv.DictReader(fh)
            if r["label"] == "1"
        }


def cluster_scores(clusters: Sequence[Sequence[str]], gold: set[tuple[str, str]]) -> dict[str, Any]:
    """Pair scores of a clustering without listing its pairs (a big cluster has millions)."""
    where = {doc: n for n, members in enumerate(clusters) for doc in members}
    predicted = sum(len(c) * (len(c) - 1) // 2 for c in clusters)
    tp = sum(1 for a, b in gold if a in where and where.get(a) == where.get(b))
    return _scores(tp, predicted, len(gold))


def pair_scores(pairs: set[tuple[str, str]], gold: set[tuple[str, str]]) -> dict[str, Any]:
    return _scores(len(pairs & gold), len(pairs), len(gold))


def _scores(tp: int, predicted: int, positives: int) -> dict[str, Any]:
    precision = tp / predicted if predicted else None
    recall = tp / positives if positives else None
    f1 = 2 * tp / (predicted + positives) if predicted + positives else None
    return {"tp": tp, "predicted": predicted, "precision": precision, "recall": recall, "f1": f1}


def dedup_answer(report_path: Path, gold: set[tuple[str, str]]) -> dict[str, Any]:
    copy_kinds = {"exact", "near_duplicate", "contained", "partial"}
    report = json.loads(report_path.read_text(encoding="utf-8"))
    copies = {
        (m["a"], m["b"]) for s in report["stories"] for m in s["matches"] if m["kind"] in copy_kinds
    }
    story_pairs = {(m["a"], m["b"]) for s in report["stories"] for m in s["matches"]}
    return {
        "copy": pair_scores(copies, gold),
        "stories": pair_scores(story_pairs, gold),
        "candidate_pairs": report["stats"]["candidate_pairs"],
    }


def measure(
    cmd: list[str], env: dict[str, str], timeout: float, memory_gb: float
) -> dict[str, Any]:
    """Run a child; wall seconds, peak RSS (MiB), exit status, stderr tail."""
    limit = int(memory_gb * 1024**3)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.setsid()

    err_path = OUT / "child-stderr.txt"
    with open(err_path, "w", encoding="utf-8") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, preexec_fn=cap, cwd=ROOT
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = err_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return {
        "seconds": seconds,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "exit": proc.returncode,
        "timed_out": timed_out,
        "stderr_tail": tail,
    }


def run_size(size: str, tools: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    corpus = DATA / f"synthetic-{size}"
    if not (corpus / "articles.jsonl").exists():
        raise SystemExit(
            f"{corpus} is missing: run python benchmarks/make_corpus.py --size {size} first"
        )
    gold = load_gold(corpus)
    with open(corpus / "articles.jsonl", encoding="utf-8") as fh:
        n_articles = sum(1 for _ in fh)
    work = OUT / f"speed-{size}"
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
    results: dict[str, Any] = {}
    for tool in tools:
        if tool == "tfidf" and n_articles > 20_000:
            results[tool] = {"skipped": "all pairs is quadratic: run at 10k only"}
            continue
        answer = work / f"{tool}.json"
        answer.unlink(missing_ok=True)
        if tool == "dedup":
            cmd = [sys.executable, "-m", "dedup", "report", str(corpus / "articles.jsonl"),
                   "--format", "json", "-o", str(answer), "--quiet", "--no-timing"]  # fmt: skip
        elif tool == "text-dedup":
            python = Path(args.text_dedup_python)
            if not python.exists():
                results[tool] = {
                    "skipped": f"no text-dedup environment at {python} (see benchmarks/README.md)"
                }
                continue
            cmd = [str(python), str(Path(__file__).resolve()), "--child", tool,
                   "--corpus", str(corpus), "--answer", str(answer)]  # fmt: skip
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool,
                   "--corpus", str(corpus), "--answer", str(answer)]  # fmt: skip
        print(f"[{size}] {tool} ...", file=sys.stderr, flush=True)
        load = os.getloadavg()[0]
        run = measure(cmd, env, args.timeout, args.memory_gb)
        run["load_before"] = load
        run["docs_per_s"] = n_articles / run["seconds"]
        if run["exit"] == 0 and answer.exists():
            if tool == "dedup":
                run.update(dedup_answer(answer, gold))
            else:
                got = json.loads(answer.read_text(encoding="utf-8"))
                if "clusters" in got:
                    run["copy"] = cluster_scores(got["clusters"], gold)
                    run["largest_cluster"] = max((len(c) for c in got["clusters"]), default=0)
                elif "pairs" in got:
                    run["copy"] = pair_scores({(a, b) for a, b in got["pairs"]}, gold)
        print(f"[{size}] {tool}: {json.dumps(_brief(run))}", file=sys.stderr, flush=True)
        results[tool] = run
    return {"size": size, "articles": n_articles, "gold_pairs": len(gold), "tools": results}


def _brief(run: dict[str, Any]) -> dict[str, Any]:
    keep = ("seconds", "peak_rss_mib", "exit", "timed_out", "copy")
    return {k: run[k] for k in keep if k in run}


# --- RESULTS.md -------------------------------------------------------------------------------


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _ratio(x: float | None, ref: float | None) -> str:
    if x is None or ref is None or ref == 0:
        return "–"
    return f"{x / ref:.2f}×"


def section(runs: Sequence[dict[str, Any]], command: str, info: dict[str, str]) -> str:
    from results_md import machine_line, md_table, versions

    vers = versions(["dedup", "datasketch", "rensa", "scikit-learn", "numpy"])
    lines = [
        "## Speed: `dedup report` against its peers",
        "",
        f"Command: `{command}` (corpora: `python benchmarks/make_corpus.py --size ...`).",
        machine_line(info),
        "Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".",
        "",
        "Each tool runs alone in a child process on the same JSONL; time is wall time from start "
        "to exit, peak RSS the child's largest resident set. Copy pairs: every pair of articles "
        "of one gold copy cluster; a clustering tool predicts every pair within its clusters; "
        "dedup's figures count its copy-kind matches (exact, near_duplicate, contained, partial), "
        "`story P/R` all pairs of its stories (same_story included). Ratios are to dedup "
        "(docs/s: higher is faster; RSS: higher is more memory). `load` is the 1-minute load "
        "average when the tool started: well above 1, other work shared the cores and that "
        "tool's time is an upper bound.",
    ]
    for run in runs:
        tools = run["tools"]
        ref = tools.get("dedup", {})
        ref_copy = ref.get("copy", {})
        rows = []
        for tool in TOOLS:
            r = tools.get(tool)
            if r is None:
                continue
            if "skipped" in r:
                rows.append([tool, "–", "–", "–", "–", "–", "–", "–", "–", r["skipped"]])
                continue
            note = ""
            if r["timed_out"]:
                note = f"stopped after {r['seconds']:.0f} s (time limit)"
            elif r["exit"] != 0:
                note = f"failed (exit {r['exit']}): " + " / ".join(r["stderr_tail"])[-160:]
            elif tool == "dedup":
                s = r["stories"]
                note = (
                    f"{r['candidate_pairs']} candidate pairs; story P/R "
                    f"{_f(s['precision'])}/{_f(s['recall'])}"
                )
            elif "largest_cluster" in r:
                note = f"largest cluster {r['largest_cluster']}"
            elif tool == "tfidf":
                note = f"cosine >= {TFIDF_THRESHOLD}"
            if r.get("load_before") is not None:
                note += ("; " if note else "") + f"load {r['load_before']:.1f} at start"
            ok = not r["timed_out"] and r["exit"] == 0
            copy = r.get("copy", {})
            docs = r["docs_per_s"] if ok else None
            ref_docs = ref.get("docs_per_s") if ref.get("exit") == 0 else None
            rows.append(
                [
                    tool,
                    f"{r['seconds']:.1f}",
                    f"{docs:.0f}" if docs else "–",
                    _ratio(docs, ref_docs),
                    f"{r['peak_rss_mib']:.0f}",
                    _ratio(r["peak_rss_mib"], ref.get("peak_rss_mib")),
                    _f(copy.get("precision")) + " (" + _ratio(copy.get("precision"),
                                                              ref_copy.get("precision")) + ")",
                    _f(copy.get("recall")) + " (" + _ratio(copy.get("recall"),
                                                           ref_copy.get("recall")) + ")",
                    _f(copy.get("f1")),
                    note,
                ]
            )  # fmt: skip
        lines += [
            "",
            f"### {run['size']}: {run['articles']} articles, {run['gold_pairs']} gold copy pairs",
            "",
            md_table(
                [
                    "tool",
                    "seconds",
                    "docs/s",
                    "docs/s vs dedup",
                    "peak RSS MiB",
                    "RSS vs dedup",
                    "copy precision (vs dedup)",
                    "copy recall (vs dedup)",
                    "copy F1",
                    "notes",
                ],
                rows,
            ),
        ]
    lines += ["", *_growth(runs), *_not_run(runs, info)]
    return "\n".join(lines)


def _growth(runs: Sequence[dict[str, Any]]) -> list[str]:
    """How each tool's wall time and peak RSS grow from one corpus size to the next (the issue's
    target for dedup: no more than 11-fold from 100k to 1M)."""
    ordered = sorted(runs, key=lambda r: r["articles"])
    rows = []
    for tool in TOOLS:
        cells = []
        for small, big in itertools.pairwise(ordered):
            a, b = small["tools"].get(tool, {}), big["tools"].get(tool, {})
            if a.get("exit") == 0 and b.get("exit") == 0 and not b.get("timed_out"):
                cells.append(
                    f"{b['seconds'] / a['seconds']:.1f}× time, "
                    f"{b['peak_rss_mib'] / a['peak_rss_mib']:.1f}× RSS"
                )
            else:
                cells.append("–")
        if any(c != "–" for c in cells):
            rows.append([tool, *cells])
    if not rows:
        return []
    from results_md import md_table

    headers = ["growth", *(f"{a['size']} → {b['size']}" for a, b in itertools.pairwise(ordered))]
    return [md_table(headers, rows), ""]


def _not_run(runs: Sequence[dict[str, Any]], info: dict[str, str]) -> list[str]:
    """A line for each corpus size not run, with what the largest dedup run measured."""
    done = {r["size"] for r in runs}
    missing = [s for s in ("10k", "100k", "1m") if s not in done]
    ran = [r for r in runs if r["tools"].get("dedup", {}).get("exit") == 0]
    if not missing or not ran:
        return []
    big = max(ran, key=lambda r: r["articles"])
    d = big["tools"]["dedup"]
    lines = []
    for size in missing:
        factor = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}[size] / big["articles"]
        lines.append(
            f"{size}: not run in this pass. `dedup report` on {big['articles']} articles took "
            f"{d['seconds']:.0f} s at {d['peak_rss_mib']:.0f} MiB peak; at {size}, scaling "
            f"linearly (a lower bound: candidate pairs grow faster than the corpus) would need "
            f"about {d['seconds'] * factor / 60:.0f} min and "
            f"{d['peak_rss_mib'] * factor / 1024:.0f} GiB, on a machine with {info['memory']}."
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", default=None, help="10k, 100k, 1m")
    parser.add_argument("--tool", action="append", choices=TOOLS, default=None)
    parser.add_argument("--timeout", type=float, default=1500, help="seconds per tool run")
    parser.add_argument("--memory-gb", type=float, default=16, help="address-space cap per run")
    parser.add_argument("--text-dedup-python", default=str(DEFAULT_TEXT_DEDUP_PYTHON))
    parser.add_argument("--no-results", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--answer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child, args.corpus, args.answer)
        return 0
    sys.path.insert(0, str(HERE))
    from results_md import command_line, machine, update_section

    OUT.mkdir(parents=True, exist_ok=True)
    tools = args.tool or list(TOOLS)
    if "dedup" in tools:  # (untimed: numba compiles the kernels, or loads them, here)
        warm = [sys.executable, "-m", "dedup", "report", "fixtures/scenarios", "-q"]
        subprocess.run(warm, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    runs = []
    for size in args.size or ["10k"]:
        run = run_size(size.lower(), tools, args)
        (OUT / f"speed-{size.lower()}.json").write_text(
            json.dumps(run, indent=2) + "\n", encoding="utf-8"
        )
        runs.append(run)
    if not args.no_results:
        info = machine()
        update_section("speed", section(runs, command_line(), info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
