"""Benchmark detection on labelled data: sweep thresholds, score each setting against a gold.

A gold file is CSV, in one of two formats told apart by the header:

- pairs: `a,b,label` (optional `category`). `label` is `1` (a match), `0` (not a match) or the
  kind of match (`exact`, `near_duplicate`, `contained`, `partial`, `same_story`: a match of
  that kind). `category` is free text (e.g. how a copy was made); recall is reported for each.
  A `kind` column may stand for `label`.
- clusters: `id,cluster`: articles with the same cluster are all pairwise matches; an article
  alone in its cluster matches nothing.

Ids are article ids as the readers give them (a file's path relative to the PATH given, or a
record's `id`). Gold ids that are not among the articles are listed in `BenchResult.unknown_ids`
and their pairs left out of the figures (they could never be found).

Scoring, for each setting: the predicted positive pairs are the pairs of the report's stories'
matches (every pair of a story is a verified match, of any kind). With `unlabelled="negative"`
(the default, and always for a clusters gold) a predicted pair that the gold does not list as a
match is a false positive ("the gold lists every match"); with `unlabelled="ignore"` only pairs
the gold labels `0` count as false positives. Pair precision, recall and F1; per kind when the
gold names kinds (a pair counts for a kind when the match kind equals the gold kind); ARI and
AMI (scikit-learn) of the stories (articles in no story are singletons) against the gold
clusters; candidate recall, the share of gold match pairs that the candidate stage (MinHash-LSH
at both resolutions, and shared-passage anchors) proposed at all, the ceiling of the pairs
verification can find (a story merge may still verify a pair LSH did not propose); match recall,
the share that are candidates and verify as a match, before stories are formed (recall below it
is lost to the grouping).

Cost: thresholds are applied to one cached analysis (`dedup.detect.Analysis`): fingerprints,
signatures, candidates and pair measurements are computed once, at the loosest LSH setting of the
sweep, and each setting only re-applies thresholds. Settings in `ANALYSIS_SETTINGS` (shingle
size, permutations, seed, boilerplate) need a new analysis each; runs are grouped so that each
distinct analysis is made once.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from .detect import ANALYSIS_SETTINGS, Analysis, Progress, analyse
from .errors import DedupError, SettingsError
from .models import KINDS, Article, Report, Settings
from .verify import judge

__all__ = [
    "BENCH_FORMATS",
    "DEFAULT_SWEEPS",
    "BenchResult",
    "BenchRow",
    "CategoryScore",
    "Gold",
    "GoldError",
    "PairScore",
    "Sweep",
    "bench_to_dict",
    "load_gold",
    "parse_gold",
    "parse_sweep",
    "plot_bench",
    "render_bench",
    "run_bench",
]

Pair = tuple[str, str]
Unlabelled = Literal["negative", "ignore"]

#: Output formats of `render_bench`.
BENCH_FORMATS = ("table", "json", "csv")

#: The sweeps run when none is given: the verification thresholds and the copy LSH, one at a time.
DEFAULT_SWEEPS = (
    "near_duplicate=0.6:0.95:0.05",
    "contained=0.5:0.95:0.05",
    "partial=0.1:0.5:0.05",
    "partial_cosine=0:0.5:0.05",
    "same_story=0.2:0.8:0.05",
    "lsh_copy=0.1:0.5:0.1",
)

_MAX_POINTS = 10_000
_POSITIVE = {"1", "true", "yes"}
_NEGATIVE = {"0", "false", "no"}


class GoldError(DedupError):
    """A gold file cannot be read or used."""


# --- gold -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gold:
    """Labelled data.

    source: where it was read from (a path, or "<string>").
    format: `pairs` or `clusters`.
    positives: the match pairs (a < b), each with its kind, or None when the gold names none.
    negatives: the pairs labelled `0` (a pairs gold only).
    categories: the category of a labelled pair (the `category` column, else the kind), if any.
    clusters: article id -> cluster label (a clusters gold only; empty otherwise).
    """

    source: str
    format: Literal["pairs", "clusters"]
    positives: Mapping[Pair, str | None]
    negatives: frozenset[Pair] = frozenset()
    categories: Mapping[Pair, str] = field(default_factory=dict)
    clusters: Mapping[str, str] = field(default_factory=dict)

    @property
    def ids(self) -> frozenset[str]:
        """Every article id the gold names."""
        ids = {x for pair in self.positives for x in pair}
        ids.update(x for pair in self.negatives for x in pair)
        ids.update(self.clusters)
        return frozenset(ids)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of match the gold names, strongest first."""
        named = {k for k in self.positives.values() if k is not None}
        return tuple(k for k in KINDS if k in named)


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def load_gold(path: str | Path) -> Gold:
    """Read a gold CSV file (pairs or clusters, told apart by the header); see the module doc."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except OSError as e:
        raise GoldError(f"cannot read gold file {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise GoldError(f"gold file {path} is not UTF-8 text: {e}") from e
    return parse_gold(text, str(path))


def parse_gold(text: str, source: str = "<string>") -> Gold:
    """A gold from CSV text (see `load_gold`); `source` names it in error messages."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    rows = [(n, row) for n, row in enumerate(reader, start=2) if any(c.strip() for c in row)]
    if {"a", "b"} <= set(header):
        return _parse_pairs(header, rows, source)
    if {"id", "cluster"} <= set(header):
        return _parse_clusters(header, rows, source)
    shown = ",".join(header) or "(empty)"
    raise GoldError(
        f"{source}: the header must name a,b,label (pairs) or id,cluster (clusters), got {shown}"
    )


def _cell(row: list[str], header: list[str], name: str) -> str:
    i = header.index(name)
    return row[i].strip() if i < len(row) else ""


def _parse_pairs(header: list[str], rows: list[tuple[int, list[str]]], source: str) -> Gold:
    label_col = "label" if "label" in header else "kind" if "kind" in header else None
    has_category = "category" in header
    positives: dict[Pair, str | None] = {}
    negatives: set[Pair] = set()
    categories: dict[Pair, str] = {}
    labels: dict[Pair, tuple[str, int]] = {}
    allowed = f"1, 0 or a kind ({', '.join(KINDS)})"
    for line, row in rows:
        a, b = _cell(row, header, "a"), _cell(row, header, "b")
        if not a or not b:
            raise GoldError(f"{source}, line {line}: a and b must both be given")
        if a == b:
            raise GoldError(f"{source}, line {line}: a pair of {a!r} with itself")
        raw = _cell(row, header, label_col) if label_col else "1"
        label = raw.lower()
        if label not in _POSITIVE | _NEGATIVE | set(KINDS):
            raise GoldError(f"{source}, line {line}: label must be {allowed}, got {raw!r}")
        pair = _pair(a, b)
        seen = labels.get(pair)
        if seen is not None and seen[0] != label:
            raise GoldError(
                f"{source}, line {line}: {a} / {b} labelled {raw!r} here and "
                f"{seen[0]!r} on line {seen[1]}"
            )
        labels[pair] = (label, line)
        if label in _NEGATIVE:
            negatives.add(pair)
        else:
            positives[pair] = label if label in KINDS else None
        category = _cell(row, header, "category") if has_category else ""
        if category or label in KINDS:
            categories[pair] = category or label
    return Gold(source, "pairs", positives, frozenset(negatives), categories)


def _parse_clusters(header: list[str], rows: list[tuple[int, list[str]]], source: str) -> Gold:
    clusters: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        doc, cluster = _cell(row, header, "id"), _cell(row, header, "cluster")
        if not doc:
            raise GoldError(f"{source}, line {line}: id must be given")
        if not cluster:
            raise GoldError(f"{source}, line {line}: {doc} has no cluster (give it one of its own)")
        if doc in clusters and clusters[doc] != cluster:
            raise GoldError(
                f"{source}, line {line}: {doc} is in cluster {cluster!r} here and "
                f"{clusters[doc]!r} on line {lines[doc]}"
            )
        clusters[doc] = cluster
        lines[doc] = line
    members: dict[str, list[str]] = {}
    for doc, cluster in clusters.items():
        members.setdefault(cluster, []).append(doc)
    positives: dict[Pair, str | None] = {
        _pair(x, y): None for ids in members.values() for x, y in itertools.combinations(ids, 2)
    }
    return Gold(source, "clusters", positives, clusters=clusters)


# --- sweeps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """One setting varied over values: `name` is a `Settings` field, `values` in sweep order."""

    name: str
    values: tuple[float | int, ...]

    def __str__(self) -> str:
        return f"{self.name}={','.join(_fmt_value(v) for v in self.values)}"


def _setting_types() -> dict[str, type]:
    return {f.name: type(f.default) for f in dataclasses.fields(Settings)}


def parse_sweep(spec: str) -> Sweep:
    """`NAME=START:STOP:STEP` (STOP included when the steps reach it) or `NAME=V1,V2,...`.

    NAME is a `Settings` field (dashes allowed); values are checked as `Settings` checks them.
    """
    example = "e.g. near_duplicate=0.5:0.95:0.05"
    name, sep, rest = spec.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not rest.strip():
        raise SettingsError(f"sweep {spec!r} must be NAME=START:STOP:STEP ({example})")
    types = _setting_types()
    if name not in types:
        known = ", ".join(types)
        raise SettingsError(f"sweep {spec!r}: unknown setting {name!r} (known: {known})")
    kind = types[name]

    def number(text: str) -> Decimal:
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise SettingsError(f"sweep {spec!r}: {text.strip()!r} is not a number") from None
        if not value.is_finite():
            raise SettingsError(f"sweep {spec!r}: {text.strip()!r} is not a finite number")
        if kind is int and value != value.to_integral_value():
            raise SettingsError(f"sweep {spec!r}: {name} takes integers, got {text.strip()}")
        return value

    if ":" in rest:
        parts = rest.split(":")
        if len(parts) != 3:
            raise SettingsError(f"sweep {spec!r} must be NAME=START:STOP:STEP ({example})")
        start, stop, step = (number(p) for p in parts)
        if step <= 0:
            raise SettingsError(f"sweep {spec!r}: STEP must be positive, got {parts[2].strip()}")
        if stop < start:
            raise SettingsError(f"sweep {spec!r}: STOP must not be below START")
        count = int((stop - start) / step) + 1
        if count > _MAX_POINTS:
            raise SettingsError(f"sweep {spec!r}: {count} values, at most {_MAX_POINTS}")
        decimals = [start + i * step for i in range(count)]
    else:
        decimals = [number(p) for p in rest.split(",")]
    values: tuple[float | int, ...] = tuple(
        int(d) if kind is int else float(d) for d in dict.fromkeys(decimals)
    )
    for v in values:
        try:
            Settings().replace(**{name: v})
        except SettingsError as e:
            raise SettingsError(f"sweep {spec!r}: {e}") from None
    return Sweep(name, values)


def _fmt_value(v: float | int) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairScore:
    """Pair counts and scores: tp, fp, fn; precision (None when nothing was predicted), recall
    (None when the gold has no match), f1 = 2tp / (2tp + fp + fn) (None when all are 0)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else None


@dataclass(frozen=True)
class CategoryScore:
    """Labelled pairs of one category: how many (pairs), how many were predicted positive
    (found), and the kinds they were found as."""

    pairs: int
    found: int
    kinds: Mapping[str, int]

    @property
    def share(self) -> float | None:
        return self.found / self.pairs if self.pairs else None


@dataclass(frozen=True)
class BenchRow:
    """The figures at one setting.

    sweep: the swept name this row belongs to (`grid` for a grid row).
    values: the swept settings and their values at this row.
    settings: every setting in force.
    overall: pair counts and scores; per_kind: the same for each kind the gold names.
    categories: recall of each category of labelled pairs (see `CategoryScore`).
    ari, ami: adjusted Rand index and adjusted mutual information of the stories against the
        gold clusters (None for a pairs gold).
    candidate_recall: share of gold match pairs among the candidates (None when the gold has
        none).
    match_recall: share of gold match pairs that are candidates and verify as a match of any
        kind at this setting, before stories are formed (recall below it is lost to the
        grouping: complete linkage keeps an article out of a story unless it matches every
        member).
    predicted: number of predicted positive pairs.
    analysis: index into `BenchResult.analyses` of the analysis this row used.
    seconds: time to apply this setting's thresholds and score them (the shared analysis time
        is in `BenchResult.analyses`).
    """

    sweep: str
    values: Mapping[str, float | int]
    settings: Settings
    overall: PairScore
    per_kind: Mapping[str, PairScore]
    categories: Mapping[str, CategoryScore]
    ari: float | None
    ami: float | None
    candidate_recall: float | None
    match_recall: float | None
    predicted: int
    analysis: int
    seconds: float


@dataclass(frozen=True)
class AnalysisRun:
    """One analysis shared by rows: its settings (those of `ANALYSIS_SETTINGS`), the candidate
    pairs at its loosest LSH setting, and the time it took (fingerprints, signatures, candidates
    and pair measurements)."""

    settings: Mapping[str, float | int]
    candidate_pairs: int
    seconds: float


@dataclass(frozen=True)
class BenchResult:
    """A benchmark: the gold, the articles, the rows in sweep order and the best row.

    gold: the gold used; articles: number of articles; base: the settings not swept.
    sweeps: the sweeps as given; grid: whether they were combined as a grid.
    unlabelled: how predicted pairs the gold does not label were counted.
    unknown_ids: gold ids not among the articles (sorted); their pairs are left out.
    gold_positives / gold_negatives: labelled pairs in the figures (known ids only).
    best: index of the row with the highest F1 (of equals, a row at the base settings, else the
        first), None when no row has an F1.
    """

    gold: Gold
    articles: int
    base: Settings
    sweeps: tuple[Sweep, ...]
    grid: bool
    unlabelled: Unlabelled
    unknown_ids: tuple[str, ...]
    gold_positives: int
    gold_negatives: int
    analyses: tuple[AnalysisRun, ...]
    rows: tuple[BenchRow, ...]
    best: int | None


# --- running ----------------------------------------------------------------------------------


def _plan(
    sweeps: Sequence[Sweep], base: Settings, grid: bool
) -> list[tuple[str, dict[str, float | int], Settings]]:
    names = [s.name for s in sweeps]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SettingsError(f"setting(s) swept more than once: {', '.join(twice)}")
    if not sweeps:
        return [("base", {}, base)]
    plan: list[tuple[str, dict[str, float | int], Settings]] = []
    if grid:
        size = math.prod(len(s.values) for s in sweeps)
        if size > _MAX_POINTS:
            raise SettingsError(f"the grid has {size} settings, at most {_MAX_POINTS}")
        for combo in itertools.product(*(s.values for s in sweeps)):
            values = dict(zip(names, combo, strict=True))
            plan.append(("grid", values, _settings(base, values)))
    else:
        for s in sweeps:
            for v in s.values:
                plan.append((s.name, {s.name: v}, _settings(base, {s.name: v})))
    return plan


def _settings(base: Settings, values: Mapping[str, float | int]) -> Settings:
    try:
        return base.replace(**values)
    except SettingsError as e:
        shown = ", ".join(f"{k}={_fmt_value(v)}" for k, v in values.items())
        raise SettingsError(f"at {shown}: {e}") from None


def _analysis_key(settings: Settings) -> tuple[float | int, ...]:
    return tuple(getattr(settings, n) for n in ANALYSIS_SETTINGS)


def predicted_pairs(report: Report) -> dict[Pair, str]:
    """The predicted positive pairs of a report and their kinds: every match of every story."""
    return {(m.a, m.b): m.kind for story in report.stories for m in story.matches}


def run_bench(
    articles: Iterable[Article],
    gold: Gold,
    sweeps: Sequence[Sweep] = (),
    base_settings: Settings | None = None,
    progress: Progress | None = None,
    *,
    grid: bool = False,
    unlabelled: Unlabelled = "negative",
) -> BenchResult:
    """Score detection against `gold` at every setting of `sweeps` (one after another, each
    varied alone from `base_settings`; all combinations with `grid=True`; no sweep: the base
    settings alone). See the module doc for what is measured."""
    base = base_settings or Settings()
    if unlabelled not in ("negative", "ignore"):
        raise SettingsError(f"unlabelled must be 'negative' or 'ignore', got {unlabelled!r}")
    arts = list(articles)
    ids = {a.id for a in arts}
    unknown = tuple(sorted(gold.ids - ids))
    if gold.ids and len(unknown) == len(gold.ids):
        sample = ", ".join(unknown[:3])
        raise GoldError(
            f"{gold.source}: none of the gold ids is among the {len(ids)} articles read "
            f"(e.g. {sample}); ids are paths relative to the PATH given, or records' id fields"
        )
    positives = {p: k for p, k in gold.positives.items() if p[0] in ids and p[1] in ids}
    negatives = {p for p in gold.negatives if p[0] in ids and p[1] in ids}
    closed = gold.format == "clusters" or unlabelled == "negative"
    plan = _plan(sweeps, base, grid)
    tick = progress or (lambda stage, done, total: None)

    groups: dict[tuple[float | int, ...], list[int]] = {}
    for i, (_, _, settings) in enumerate(plan):
        groups.setdefault(_analysis_key(settings), []).append(i)
    rows: list[BenchRow | None] = [None] * len(plan)
    runs: list[AnalysisRun] = []
    done = 0
    for indices in groups.values():
        first = plan[indices[0]][2]
        started = time.perf_counter()
        analysis = analyse(arts, first, progress)
        # Measure every candidate pair of the sweep up front (the analysis caches candidate
        # lists by their settings, so one list object stands for one candidate setting); each
        # setting below then only applies thresholds.
        measured: set[int] = set()
        loosest = 0
        for i in sorted(indices, key=lambda i: (plan[i][2].lsh_copy, plan[i][2].lsh_story)):
            candidates = analysis.candidates(plan[i][2])
            if id(candidates) not in measured:
                measured.add(id(candidates))
                analysis.measure(candidates)
                loosest = max(loosest, len(candidates))
        key_values = {n: getattr(first, n) for n in ANALYSIS_SETTINGS}
        runs.append(AnalysisRun(key_values, loosest, time.perf_counter() - started))
        scorer = _Scorer(analysis, positives, negatives, gold, closed)
        cache: dict[Settings, BenchRow] = {}
        for i in indices:
            sweep_name, values, settings = plan[i]
            if settings in cache:
                rows[i] = dataclasses.replace(cache[settings], sweep=sweep_name, values=values)
            else:
                row = scorer.score(sweep_name, values, settings, len(runs) - 1)
                rows[i] = cache[settings] = row
            done += 1
            tick("bench", done, len(plan))
        del analysis, scorer
    final = tuple(r for r in rows if r is not None)
    f1s = [r.overall.f1 for r in final]
    best = None
    if any(f is not None for f in f1s):
        # Equal F1: the base settings win (no reason to move), then the first row.
        best = max(
            range(len(final)),
            key=lambda i: (f1s[i] or -1.0, final[i].settings == base, -i),
        )
    return BenchResult(
        gold=gold,
        articles=len(ids),
        base=base,
        sweeps=tuple(sweeps),
        grid=grid,
        unlabelled="negative" if gold.format == "clusters" else unlabelled,
        unknown_ids=unknown,
        gold_positives=len(positives),
        gold_negatives=len(negatives),
        analyses=tuple(runs),
        rows=final,
        best=best,
    )


class _Scorer:
    """Scores reports of one analysis against the gold."""

    def __init__(
        self,
        analysis: Analysis,
        positives: Mapping[Pair, str | None],
        negatives: set[Pair],
        gold: Gold,
        closed: bool,
    ) -> None:
        self.analysis = analysis
        self.positives = positives
        self.negatives = negatives
        self.gold = gold
        self.closed = closed
        self.kinds = gold.kinds
        self.order = sorted(analysis.articles)
        self.gold_labels: list[str] | None = None
        if gold.format == "clusters":
            # Articles the gold does not list are singletons (closed world, like the pairs).
            self.gold_labels = [gold.clusters.get(i, "\x00" + i) for i in self.order]
        row = analysis.row
        self.positive_rows = [(row[a], row[b]) for a, b in positives]
        self._proposed: dict[int, list[tuple[int, int]]] = {}

    def proposed(self, settings: Settings) -> list[tuple[int, int]]:
        """The gold match pairs (as rows) among the candidates at `settings`."""
        candidates = self.analysis.candidates(settings)
        key = id(candidates)  # the analysis keeps one list per candidate setting
        if key not in self._proposed:
            in_candidates = set(candidates)
            self._proposed[key] = [p for p in self.positive_rows if p in in_candidates]
        return self._proposed[key]

    def recalls(self, settings: Settings) -> tuple[float | None, float | None]:
        """Candidate recall and match recall (see `BenchRow`)."""
        if not self.positive_rows:
            return None, None
        proposed = self.proposed(settings)
        matched = sum(judge(e, settings) is not None for e in self.analysis.measure(proposed))
        total = len(self.positive_rows)
        return len(proposed) / total, matched / total

    def score(
        self, sweep: str, values: dict[str, float | int], settings: Settings, analysis: int
    ) -> BenchRow:
        started = time.perf_counter()
        report = self.analysis.report(settings)
        predicted = predicted_pairs(report)
        overall = _score(set(predicted), set(self.positives), self.negatives, self.closed)
        per_kind: dict[str, PairScore] = {}
        unkinded = {p for p, k in self.positives.items() if k is None}
        for kind in self.kinds:
            gold_k = {p for p, k in self.positives.items() if k == kind}
            pred_k = {p for p, k in predicted.items() if k == kind and p not in unkinded}
            negatives_k = self.negatives | (set(self.positives) - gold_k - unkinded)
            per_kind[kind] = _score(pred_k, gold_k, negatives_k, self.closed)
        categories: dict[str, CategoryScore] = {}
        by_category: dict[str, list[Pair]] = {}
        for pair, category in self.gold.categories.items():
            if pair in self.positives or pair in self.negatives:
                by_category.setdefault(category, []).append(pair)
        for category, pairs in sorted(by_category.items()):
            kinds: dict[str, int] = {}
            for p in pairs:
                if p in predicted:
                    kinds[predicted[p]] = kinds.get(predicted[p], 0) + 1
            found = sum(kinds.values())
            ordered_kinds: dict[str, int] = {k: kinds[k] for k in KINDS if k in kinds}
            categories[category] = CategoryScore(len(pairs), found, ordered_kinds)
        candidate_recall, match_recall = self.recalls(settings)
        ari = ami = None
        if self.gold_labels is not None:
            from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

            story_of = {m.id: s.id for s in report.stories for m in s.members}
            predicted_labels = [story_of.get(i, "\x00" + i) for i in self.order]
            ari = float(adjusted_rand_score(self.gold_labels, predicted_labels))
            ami = float(adjusted_mutual_info_score(self.gold_labels, predicted_labels))
        return BenchRow(
            sweep=sweep,
            values=values,
            settings=settings,
            overall=overall,
            per_kind=per_kind,
            categories=categories,
            ari=ari,
            ami=ami,
            candidate_recall=candidate_recall,
            match_recall=match_recall,
            predicted=len(predicted),
            analysis=analysis,
            seconds=time.perf_counter() - started,
        )


def _score(predicted: set[Pair], gold: set[Pair], negatives: set[Pair], closed: bool) -> PairScore:
    tp = len(predicted & gold)
    fp = len(predicted - gold) if closed else len(predicted & negatives)
    return PairScore(tp=tp, fp=fp, fn=len(gold) - tp)


# --- output -----------------------------------------------------------------------------------


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _score_dict(s: PairScore) -> dict[str, Any]:
    return {
        "precision": _round(s.precision),
        "recall": _round(s.recall),
        "f1": _round(s.f1),
        "tp": s.tp,
        "fp": s.fp,
        "fn": s.fn,
    }


def bench_to_dict(result: BenchResult) -> dict[str, Any]:
    """The JSON shape of a benchmark (`schema`: dedup.bench/1)."""
    gold = result.gold
    return {
        "schema": "dedup.bench/1",
        "gold": {
            "source": gold.source,
            "format": gold.format,
            "positives": result.gold_positives,
            "negatives": result.gold_negatives,
            "unlabelled": result.unlabelled,
            "kinds": list(gold.kinds),
            "categories": sorted(set(gold.categories.values())),
            "unknown_ids": list(result.unknown_ids),
        },
        "articles": result.articles,
        "base_settings": result.base.as_dict(),
        "sweeps": [{"name": s.name, "values": list(s.values)} for s in result.sweeps],
        "grid": result.grid,
        "analyses": [
            {
                "settings": dict(a.settings),
                "candidate_pairs": a.candidate_pairs,
                "seconds": round(a.seconds, 3),
            }
            for a in result.analyses
        ],
        "best": result.best,
        "rows": [
            {
                "sweep": r.sweep,
                "values": dict(r.values),
                "best": i == result.best,
                **_score_dict(r.overall),
                "predicted": r.predicted,
                "candidate_recall": _round(r.candidate_recall),
                "match_recall": _round(r.match_recall),
                "ari": _round(r.ari),
                "ami": _round(r.ami),
                "per_kind": {k: _score_dict(s) for k, s in r.per_kind.items()},
                "categories": {
                    c: {
                        "pairs": s.pairs,
                        "found": s.found,
                        "share": _round(s.share),
                        "kinds": dict(s.kinds),
                    }
                    for c, s in r.categories.items()
                },
                "analysis": r.analysis,
                "seconds": round(r.seconds, 4),
                "settings": r.settings.as_dict(),
            }
            for i, r in enumerate(result.rows)
        ],
    }


def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _setting_label(row: BenchRow) -> str:
    if not row.values:
        return "(base settings)"
    return " ".join(f"{k}={_fmt_value(v)}" for k, v in row.values.items())


def render_bench(result: BenchResult, fmt: str = "table") -> str:
    """The benchmark as `table` (for people), `json` (`bench_to_dict`) or `csv` (one row a
    setting)."""
    if fmt == "json":
        return json.dumps(bench_to_dict(result), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _render_csv(result)
    if fmt == "table":
        return _render_table(result)
    raise SettingsError(f"format must be one of {', '.join(BENCH_FORMATS)}, got {fmt!r}")


def _render_csv(result: BenchResult) -> str:
    names = list(dict.fromkeys(n for r in result.rows for n in r.values))
    kinds = list(result.gold.kinds)
    categories = sorted({c for r in result.rows for c in r.categories})
    has_clusters = result.gold.format == "clusters"
    header = ["sweep", *names, "precision", "recall", "f1", "tp", "fp", "fn", "predicted"]
    header += ["candidate_recall", "match_recall"] + (["ari", "ami"] if has_clusters else [])
    for k in kinds:
        header += [f"{k}_precision", f"{k}_recall", f"{k}_f1"]
    header += [f"category_{c}_found_share" for c in categories]
    header += ["seconds", "best"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)

    def cell(x: float | None) -> str:
        return "" if x is None else f"{x:.4f}"

    for i, r in enumerate(result.rows):
        o = r.overall
        line = [r.sweep, *(_fmt_value(r.values[n]) if n in r.values else "" for n in names)]
        line += [cell(o.precision), cell(o.recall), cell(o.f1), str(o.tp), str(o.fp), str(o.fn)]
        line += [str(r.predicted), cell(r.candidate_recall), cell(r.match_recall)]
        if has_clusters:
            line += [cell(r.ari), cell(r.ami)]
        for k in kinds:
            s = r.per_kind[k]
            line += [cell(s.precision), cell(s.recall), cell(s.f1)]
        line += [cell(r.categories[c].share) if c in r.categories else "" for c in categories]
        line += [f"{r.seconds:.4f}", "1" if i == result.best else "0"]
        w.writerow(line)
    return out.getvalue()


def _render_table(result: BenchResult) -> str:
    from tabulate import tabulate

    gold = result.gold
    has_clusters = gold.format == "clusters"
    lines = []
    what = f"{result.gold_positives} match pairs"
    if gold.format == "pairs":
        what += f", {result.gold_negatives} non-match pairs"
        what += (
            "; unlabelled pairs count as non-matches"
            if result.unlabelled == "negative"
            else "; unlabelled pairs are left out"
        )
    else:
        n_clusters = len(set(gold.clusters.values()))
        what = f"{n_clusters} clusters, {what}"
    lines.append(f"dedup bench: {result.articles} articles; gold {gold.source} ({what})")
    varying = [
        k for k in ANALYSIS_SETTINGS if len({a.settings.get(k) for a in result.analyses}) > 1
    ]
    for n, a in enumerate(result.analyses):
        label = "analysis" if len(result.analyses) == 1 else f"analysis {n + 1}"
        shown = "".join(f", {k}={_fmt_value(a.settings[k])}" for k in varying)
        lines.append(f"{label}: {a.seconds:.2f} s ({a.candidate_pairs} candidate pairs{shown})")
    lines.append("")
    headers = ["", "setting", "precision", "recall", "F1", "TP", "FP", "FN"]
    headers += ["match recall", "cand. recall"]
    if has_clusters:
        headers += ["ARI", "AMI"]
    headers.append("s")
    table = []
    for i, r in enumerate(result.rows):
        o = r.overall
        line = ["*" if i == result.best else "", _setting_label(r)]
        line += [_num(o.precision), _num(o.recall), _num(o.f1), str(o.tp), str(o.fp), str(o.fn)]
        line += [_num(r.match_recall), _num(r.candidate_recall)]
        if has_clusters:
            line += [_num(r.ari), _num(r.ami)]
        line.append(f"{r.seconds:.2f}")
        table.append(line)
    lines.append(tabulate(table, headers=headers, disable_numparse=True, stralign="right"))
    if result.best is not None:
        best = result.rows[result.best]
        lines.append("")
        lines.append(f"* best F1: {_setting_label(best)} (F1 {_num(best.overall.f1)})")
        if best.per_kind:
            lines.append("")
            lines.append(
                "per kind at the best setting (a pair counts when its kind is the gold's):"
            )
            kind_rows = [
                [k, _num(s.precision), _num(s.recall), _num(s.f1), s.tp, s.fp, s.fn]
                for k, s in best.per_kind.items()
            ]
            lines.append(
                tabulate(
                    kind_rows,
                    headers=["kind", "precision", "recall", "F1", "TP", "FP", "FN"],
                    disable_numparse=True,
                    stralign="right",
                )
            )
        if best.categories:
            lines.append("")
            lines.append("labelled pairs found at the best setting, by category:")
            cat_rows = [
                [
                    c,
                    s.pairs,
                    s.found,
                    _num(s.share),
                    ", ".join(f"{k} {n}" for k, n in s.kinds.items()),
                ]
                for c, s in best.categories.items()
            ]
            lines.append(
                tabulate(
                    cat_rows,
                    headers=["category", "pairs", "found", "share", "found as"],
                    disable_numparse=True,
                    stralign="right",
                )
            )
    if result.unknown_ids:
        shown = ", ".join(result.unknown_ids[:5])
        more = f" (+{len(result.unknown_ids) - 5} more)" if len(result.unknown_ids) > 5 else ""
        lines.append("")
        lines.append(
            f"{len(result.unknown_ids)} gold id(s) not among the articles, their pairs left "
            f"out: {shown}{more}"
        )
    return "\n".join(lines) + "\n"


def plot_bench(result: BenchResult, path: str | Path) -> None:
    """Draw precision, recall, F1 and candidate recall against each swept setting (one panel
    per setting; in a grid, the best F1 row for each value) into a PNG file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise DedupError("plotting needs matplotlib: pip install 'dedup[plot]'") from e
    names = [s.name for s in result.sweeps] or ["(base settings)"]
    fig, axes = plt.subplots(
        1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False, sharey=True
    )
    for ax, name in zip(axes[0], names, strict=True):
        points: dict[float, BenchRow] = {}
        for r in result.rows:
            if name not in r.values:
                continue
            x = float(r.values[name])
            if (
                r.sweep == name
                or x not in points
                or (r.overall.f1 or 0) > (points[x].overall.f1 or 0)
            ):
                points[x] = r
        xs = sorted(points)
        series = (
            ("precision", [points[x].overall.precision for x in xs], "-o"),
            ("recall", [points[x].overall.recall for x in xs], "-s"),
            ("F1", [points[x].overall.f1 for x in xs], "-^"),
            ("candidate recall", [points[x].candidate_recall for x in xs], ":"),
        )
        for label, ys, style in series:
            ax.plot(xs, [math.nan if y is None else y for y in ys], style, label=label, ms=3)
        if result.best is not None and name in result.rows[result.best].values:
            best = result.rows[result.best]
            ax.axvline(float(best.values[name]), color="grey", lw=0.8, ls="--")
        ax.set_xlabel(name + (" (best over the other settings)" if result.grid else ""))
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("score")
    axes[0][0].legend(loc="lower left", fontsize="small")
    fig.suptitle(f"dedup bench: {result.articles} articles, gold {Path(result.gold.source).name}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
