"""Deterministic synthetic syndication corpora built from Reuters-21578, with gold copy labels.

Usage:
    python benchmarks/make_corpus.py --size 10k [--size 100k ...] [--out benchmarks/data]

Writes, per size, `<out>/synthetic-<size>/`:
    articles.jsonl      one article a line: id, title, text, outlet, published
    gold-pairs.csv      a,b,label,category: every pair of articles of one copy cluster (label 1;
                        category `original-copy` or `copy-copy`)
    gold-clusters.csv   id,cluster: every article; the copy clusters, the rest singletons
    manifest.json       the parameters, the counts and the edits made to each copy

The corpora are research-only derivatives of Reuters-21578 (see ../shared/corpora/reuters21578/
SOURCE.md): they are written under `benchmarks/data/` (git-ignored), never committed.

How a corpus is made (everything is drawn from one seeded `random.Random`):
1. Base texts: the Reuters bodies of at least 40 words, with the collection's own repeats removed
   (identical bodies, and bodies sharing 30% or more of their word 5-shingles, or a passage of
   about 16 words, with an earlier one),
   so that the only copies in a corpus are the ones made here.
2. Base articles: a wire story each, "<DATELINE> (Reuters) - " and the body. When a size needs
   more base articles than there are base texts, the texts are reused in further rounds; in round
   r >= 1 every content word (outside the 100 most frequent) is replaced by another of about the
   same frequency (a different random mapping per round) and every digit by another, so reused
   texts keep Reuters' word statistics and lengths but share no passages with the first round.
3. A share of the articles (`--copy-share`, 0.3) are copies: each copied base article gets
   1 to 5 copies (geometric), each at a different outlet, each with realistic edits drawn at
   random: a new headline (always); trimmed final paragraphs; a local intro; a wire credit line;
   a few word substitutions (house style: `pct` -> `per cent`, `said` -> `stated`, ...); two
   adjacent paragraphs swapped (Reuters paragraphs are mostly one sentence: reordered
   sentences); the dateline dropped. Outlets (60 invented local papers, half of them with a
   footer of their own on every article) also publish base articles, so outlet footers are
   shared by unrelated articles, as on real sites.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REUTERS = ROOT.parent / "shared" / "corpora" / "reuters21578"
DEFAULT_OUT = ROOT / "benchmarks" / "data"
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}

# Stop words are kept as they are when reused texts are re-worded.
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS)

TOWNS = (
    "Ashby", "Brackwell", "Carnforth", "Dunmere", "Eastleigh", "Fenwick", "Glenholt", "Harrowby",
    "Ilverton", "Kestlow", "Langmoor", "Marbury", "Netherby", "Oakhurst", "Pendle", "Quarrington",
    "Redcastle", "Saltmarsh", "Thornbury", "Upwell", "Varley", "Whitcombe", "Yarrow", "Alderley",
    "Bramley", "Coldharbour", "Denholme", "Elmstead", "Foxton", "Greystoke",
)  # fmt: skip
PAPERS = ("Herald", "Gazette", "Courier", "Times", "Post", "Chronicle", "Echo", "Observer")
ROLES = (
    "business owners", "traders", "local economists", "council officials", "shop owners",
    "farmers", "commuters", "investors", "union representatives", "residents",
)  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Local intros: one or two sentences an outlet puts above a wire story (written for this script).
INTROS = (
    "{role} in {town} said on {day} they were watching the news closely.",
    "The story below is being followed closely by {role} across {town}.",
    "For {role} in {town}, the latest figures could mean a difficult few months, "
    "several of them told the {paper} on {day}.",
    "{town} has a direct stake in what follows: {role} here depend on it.",
    "Readers in {town} have asked the {paper} to explain what the announcement means locally.",
    "Several {role} in {town} said they had expected the move for some weeks.",
    "What happens next matters to {role} in {town}, where the issue has been debated "
    "at length this {day}.",
    "The {paper} asked {role} in {town} for their reaction to the report on {day}.",
)
CREDITS = (
    "Reporting by Reuters.",
    "(Reuters)",
    "— Reuters",
    "This article was supplied by Reuters.",
    "Additional reporting by Reuters.",
)
FOOTERS = (
    "The {paper} is an independent newspaper serving {town} and the surrounding district. "
    "Send us your news and pictures at newsdesk@{slug}.example.",
    "Support local journalism: a subscription to the {town} {paper} starts at a few pence a day, "
    "and every penny goes to our newsroom.",
    "Got a story? The {town} {paper} wants to hear from you. Call the newsroom or message us "
    "on our website, day or night.",
)
# A few substitutions an outlet's style guide or sub-editor makes (word -> replacement).
SUBSTITUTIONS = {
    "pct": "per cent", "mln": "million", "dlrs": "dollars", "said": "stated", "company": "firm",
    "rose": "climbed", "fell": "dropped", "increase": "rise", "shares": "stock",
    "expected": "forecast", "government": "administration", "official": "spokesman",
    "however": "but", "bought": "acquired", "agreed": "consented", "reported": "announced",
    "quarter": "three months", "year": "twelve months", "billion": "bn", "profit": "earnings",
    "sales": "turnover", "loss": "deficit", "told": "informed", "about": "around",
}  # fmt: skip

_ENTITY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_REUTERS = re.compile(r"<REUTERS[^>]*NEWID=\"(\d+)\">(.*?)</REUTERS>", re.DOTALL)
_FIELD = {
    name: re.compile(rf"<{name}>(.*?)</{name}>", re.DOTALL)
    for name in ("DATE", "TITLE", "DATELINE", "BODY")
}
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]+")
_WORD = re.compile(r"[A-Za-z]+|\d")
_TOKEN = re.compile(r"\w+")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}


@dataclass
class Base:
    """A base text: Reuters id, date (ISO), title, dateline, paragraphs."""

    newid: int
    published: str
    title: str
    dateline: str
    paragraphs: list[str]


@dataclass
class Doc:
    """An article of the corpus before ids are given."""

    title: str
    text: str
    outlet: str
    published: str
    cluster: int | None = None
    role: str = "distinct"
    edits: list[str] = field(default_factory=list)


def _clean(raw: str) -> str:
    return _ENTITY_CONTROL.sub("", html.unescape(raw))


def _iso(date: str) -> str:
    # "26-FEB-1987 15:01:01.79" -> "1987-02-26T15:01:01"
    m = re.match(r"\s*(\d+)-([A-Z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d)", date)
    if not m:
        return "1987-03-01T00:00:00"
    day, mon, year, hh, mm, ss = m.groups()
    return f"{year}-{_MONTHS[mon]:02d}-{int(day):02d}T{hh}:{mm}:{ss}"


def read_reuters(folder: Path) -> Iterator[Base]:
    """Every Reuters item with a body, in NEWID order."""
    items: list[Base] = []
    for path in sorted(folder.glob("reut2-*.sgm")):
        raw = path.read_text(encoding="latin-1")
        for m in _REUTERS.finditer(raw):
            fields = {k: rx.search(m.group(2)) for k, rx in _FIELD.items()}
            body = fields["BODY"]
            if body is None:
                continue
            text = _clean(body.group(1))
            text = re.sub(r"\s*Reuter\s*$", "", text.strip())
            paragraphs = [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
            title = _clean(fields["TITLE"].group(1)) if fields["TITLE"] else ""
            dateline = _clean(fields["DATELINE"].group(1)) if fields["DATELINE"] else ""
            date = fields["DATE"].group(1) if fields["DATE"] else ""
            items.append(
                Base(
                    newid=int(m.group(1)),
                    published=_iso(date),
                    title=" ".join(title.split()),
                    dateline=" ".join(dateline.split()).rstrip(" -"),
                    paragraphs=paragraphs,
                )
            )
    items.sort(key=lambda b: b.newid)
    yield from items


def _shingles(text: str, k: int = 5) -> set[int]:
    words = _TOKEN.findall(text.lower())
    return {
        int.from_bytes(hashlib.blake2b(" ".join(words[i : i + k]).encode(), digest_size=8).digest())
        for i in range(max(1, len(words) - k + 1))
    }


def distinct_bases(
    bases: Sequence[Base], min_words: int = 40, overlap: float = 0.3, passage: int = 12
) -> list[Base]:
    """Bases of at least `min_words` words, without the collection's own repeats or reuse: a
    body is dropped when it shares `overlap` or more of its (or the earlier body's) 5-shingles,
    or `passage` 5-shingles at all (a shared passage of about 16 words), with an earlier kept
    body (exact, over an inverted index; shingles found in more than 50 bodies are stock phrases
    and are not counted as evidence). So the gold lists every pair that shares a passage."""
    texts = [" ".join(b.paragraphs) for b in bases]
    keep = [len(_TOKEN.findall(t)) >= min_words for t in texts]
    sets = [_shingles(t) if k else set() for t, k in zip(texts, keep, strict=True)]
    postings: dict[int, list[int]] = {}
    for i, s in enumerate(sets):
        for h in s:
            postings.setdefault(h, []).append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for docs in postings.values():
        if 2 <= len(docs) <= 50:
            for x in range(len(docs)):
                for y in range(x + 1, len(docs)):
                    shared[(docs[x], docs[y])] += 1
    dropped: set[int] = set()
    for (i, j), n in sorted(shared.items()):
        if i in dropped or not keep[i] or not keep[j]:
            continue
        if n >= passage or n >= overlap * min(len(sets[i]), len(sets[j])):
            dropped.add(j)
    return [b for i, b in enumerate(bases) if keep[i] and i not in dropped]


class Rewording:
    """Round r >= 1 of reused base texts: content words mapped to other words of about the same
    frequency, digits to other digits (one random mapping per round)."""

    def __init__(self, bases: Sequence[Base], rng: random.Random, keep_top: int = 100) -> None:
        counts: Counter[str] = Counter()
        for b in bases:
            for p in b.paragraphs:
                counts.update(w for w in (t.lower() for t in _WORD.findall(p)) if w.isalpha())
        ranked = [w for w, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))]
        content = [w for w in ranked if w not in STOP_WORDS and len(w) > 1]
        self.movable = content[keep_top:]
        self.rng = rng
        self.maps: dict[int, tuple[dict[str, str], dict[str, str]]] = {}

    def mapping(self, round_: int) -> tuple[dict[str, str], dict[str, str]]:
        if round_ not in self.maps:
            words: dict[str, str] = {}
            band = 50
            for start in range(0, len(self.movable), band):
                chunk = self.movable[start : start + band]
                shuffled = chunk[:]
                self.rng.shuffle(shuffled)
                words.update(zip(chunk, shuffled, strict=True))
            digits = list("0123456789")
            self.rng.shuffle(digits)
            self.maps[round_] = (words, dict(zip("0123456789", digits, strict=True)))
        return self.maps[round_]

    def apply(self, text: str, round_: int) -> str:
        words, digits = self.mapping(round_)

        def swap(m: re.Match[str]) -> str:
            w = m.group(0)
            if w.isdigit():
                return digits[w]
            new = words.get(w.lower())
            if new is None:
                return w
            if w.isupper() and len(w) > 1:
                return new.upper()
            if w[0].isupper():
                return new[0].upper() + new[1:]
            return new

        return _WORD.sub(swap, text)


def _outlets() -> list[tuple[str, str, str | None]]:
    """60 invented local papers: (slug, name, footer or None); every other one has a footer."""
    out = []
    rng = random.Random(7)
    pairs = [(t, p) for t in TOWNS for p in PAPERS]
    rng.shuffle(pairs)
    for n, (town, paper) in enumerate(pairs[:60]):
        slug = f"{town}-{paper}".lower()
        footer = None
        if n % 2 == 0:
            footer = FOOTERS[n % len(FOOTERS)].format(paper=paper, town=town, slug=slug)
        out.append((slug, f"{town} {paper}", footer))
    return out


def _headline(title: str, rng: random.Random) -> str:
    words = title.title().split()
    if len(words) > 3 and rng.random() < 0.5:
        words = words[: max(3, len(words) - 2)]
    prefix = rng.choice(("", "Update: ", "Analysis: ", "Markets: ", "World: ", "Business: "))
    return prefix + " ".join(words) if words else "Wire report"


def _substitute(paragraphs: list[str], rng: random.Random, count: int) -> int:
    sites = [
        (i, m.start(), m.end(), m.group(0))
        for i, p in enumerate(paragraphs)
        for m in re.finditer(r"[A-Za-z]+", p)
        if m.group(0).lower() in SUBSTITUTIONS
    ]
    chosen = sorted(rng.sample(sites, min(count, len(sites))), key=lambda s: (s[0], -s[1]))
    for i, start, end, word in chosen:
        new = SUBSTITUTIONS[word.lower()]
        if word[0].isupper():
            new = new[0].upper() + new[1:]
        paragraphs[i] = paragraphs[i][:start] + new + paragraphs[i][end:]
    return len(chosen)


def make_copy(
    original: Doc,
    base_paragraphs: list[str],
    dateline: str,
    outlet: tuple[str, str, str | None],
    rng: random.Random,
) -> Doc:
    """A copy of a wire story as a local outlet publishes it, with edits drawn at random."""
    slug, name, footer = outlet
    town, paper = name.rsplit(" ", 1)
    paragraphs = list(base_paragraphs)
    edits = ["headline"]
    if len(paragraphs) >= 3 and rng.random() < 0.4:
        keep = rng.randint(math.ceil(len(paragraphs) / 2), len(paragraphs) - 1)
        paragraphs = paragraphs[:keep]
        edits.append("trimmed")
    if rng.random() < 0.6:
        n = _substitute(paragraphs, rng, rng.randint(2, 5))
        if n:
            edits.append(f"substitutions:{n}")
    if len(paragraphs) >= 3 and rng.random() < 0.3:
        i = rng.randrange(1, len(paragraphs) - 1)
        paragraphs[i], paragraphs[i + 1] = paragraphs[i + 1], paragraphs[i]
        edits.append("reordered")
    if dateline and rng.random() < 0.5:
        paragraphs[0] = f"{dateline} (Reuters) - {paragraphs[0]}"
    else:
        edits.append("dateline-dropped")
    if rng.random() < 0.35:
        intro = [
            rng.choice(INTROS).format(
                role=rng.choice(ROLES), town=town, day=rng.choice(DAYS), paper=paper
            )
            for _ in range(rng.randint(1, 2))
        ]
        paragraphs = [s[0].upper() + s[1:] for s in intro] + paragraphs
        edits.append("local-intro")
    if rng.random() < 0.5:
        paragraphs.append(rng.choice(CREDITS))
        edits.append("wire-credit")
    if footer:
        paragraphs.append(footer)
        edits.append("outlet-footer")
    hour = int(original.published[11:13]) if len(original.published) > 12 else 0
    later = f"{original.published[:11]}{min(23, hour + rng.randint(1, 6)):02d}:00:00"
    return Doc(
        title=_headline(original.title, rng),
        text="\n\n".join(paragraphs),
        outlet=slug,
        published=later,
        cluster=original.cluster,
        role="copy",
        edits=edits,
    )


def build(
    bases: Sequence[Base], size: int, copy_share: float, seed: int
) -> tuple[list[Doc], dict[str, int]]:
    """The documents of a corpus of `size` articles (cluster ids set on originals and copies)."""
    rng = random.Random(seed)
    outlets = _outlets()
    rewording = Rewording(bases, random.Random(seed + 1))
    target_copies = round(size * copy_share)
    # Plan the clusters: copies per copied article, 1 + geometric(0.5), at most 5.
    plan: list[int] = []
    while sum(plan) < target_copies:
        k = 1
        while k < 5 and rng.random() < 0.5:
            k += 1
        plan.append(min(k, target_copies - sum(plan)))
    n_base = size - target_copies
    order = list(range(len(bases)))
    rng.shuffle(order)
    docs: list[Doc] = []
    base_text: list[tuple[list[str], str]] = []
    for n in range(n_base):
        round_, pos = divmod(n, len(order))
        base = bases[order[pos]]
        paragraphs, title, dateline = base.paragraphs, base.title, base.dateline
        if round_:
            paragraphs = [rewording.apply(p, round_) for p in paragraphs]
            title = rewording.apply(title, round_)
            dateline = rewording.apply(dateline, round_)
        if rng.random() < 0.5:
            slug = "reuters"
            text_pars = list(paragraphs)
            if dateline:
                text_pars[0] = f"{dateline} (Reuters) - {text_pars[0]}"
        else:
            slug, _, footer = rng.choice(outlets)
            text_pars = list(paragraphs) + ([footer] if footer else [])
        docs.append(
            Doc(
                title=title.title() or "Wire report",
                text="\n\n".join(text_pars),
                outlet=slug,
                published=base.published,
            )
        )
        base_text.append((list(paragraphs), dateline))
    copied = rng.sample(range(n_base), len(plan))
    for cluster, (i, k) in enumerate(zip(copied, plan, strict=True)):
        original = docs[i]
        original.cluster = cluster
        original.role = "original"
        if original.outlet != "reuters":  # wire stories are originals as the wire sent them
            paragraphs, dateline = base_text[i]
            original.outlet = "reuters"
            original.text = "\n\n".join(
                [
                    f"{dateline} (Reuters) - {paragraphs[0]}" if dateline else paragraphs[0],
                    *paragraphs[1:],
                ]
            )
        for outlet in rng.sample(outlets, k):
            docs.append(make_copy(original, base_text[i][0], base_text[i][1], outlet, rng))
    rng.shuffle(docs)
    counts = {
        "articles": len(docs),
        "copies": sum(d.role == "copy" for d in docs),
        "originals": sum(d.role == "original" for d in docs),
        "distinct": sum(d.role == "distinct" for d in docs),
        "clusters": len(plan),
        "base_texts": len(bases),
        "rounds": math.ceil(n_base / len(bases)),
    }
    return docs, counts


def write(
    docs: Sequence[Doc], counts: dict[str, int], out: Path, params: dict[str, object]
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    width = len(str(len(docs)))
    ids = [f"a{n:0{width}d}" for n in range(1, len(docs) + 1)]
    clusters: dict[int, list[str]] = {}
    edits: Counter[str] = Counter()
    with open(out / "articles.jsonl", "w", encoding="utf-8") as fh:
        for doc_id, d in zip(ids, docs, strict=True):
            record = {
                "id": doc_id,
                "title": d.title,
                "text": d.text,
                "outlet": d.outlet,
                "published": d.published,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            if d.cluster is not None:
                clusters.setdefault(d.cluster, []).append(doc_id)
            edits.update(e.split(":")[0] for e in d.edits)
    role = {doc_id: d.role for doc_id, d in zip(ids, docs, strict=True)}
    pairs = 0
    with open(out / "gold-pairs.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["a", "b", "label", "category"])
        for members in sorted(clusters.values()):
            members.sort()
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    a, b = members[x], members[y]
                    both_copies = role[a] == "copy" and role[b] == "copy"
                    w.writerow([a, b, 1, "copy-copy" if both_copies else "original-copy"])
                    pairs += 1
    label = {doc_id: f"c{c}" for c, members in clusters.items() for doc_id in members}
    with open(out / "gold-clusters.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "cluster"])
        for doc_id in ids:
            w.writerow([doc_id, label.get(doc_id, doc_id)])
    manifest = {
        "params": params,
        "counts": {**counts, "gold_pairs": pairs},
        "edits": dict(sorted(edits.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", choices=sorted(SIZES), required=True)
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--copy-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1987)
    args = parser.parse_args(argv)
    if not (args.reuters / "reut2-000.sgm").exists():
        parser.error(f"Reuters-21578 not found in {args.reuters} (give --reuters FOLDER)")
    bases = distinct_bases(list(read_reuters(args.reuters)))
    print(f"{len(bases)} distinct base texts", file=sys.stderr)
    for name in args.size:
        size = SIZES[name]
        docs, counts = build(bases, size, args.copy_share, args.seed)
        params = {"size": size, "copy_share": args.copy_share, "seed": args.seed}
        write(docs, counts, args.out / f"synthetic-{name}", params)
        print(f"synthetic-{name}: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
