"""Stories: groups of verified matches, without chaining unrelated articles through a bridge.

Matches are taken strongest first. Two groups merge only when every article of one is related to
every article of the other (complete linkage): when A~B and B~C but A and C are unrelated, C does
not join the story of A and B. "Related" is a verified match, or a TF-IDF cosine of at least
`link_cosine`: copies of different paragraphs of one wire story are about the same thing even
when they share no passage with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import cast

from .models import COPY_KINDS, Article, Match, Role, Story, kind_rank, make_member
from .text import wire_credit

#: A wire credit counts only near the start (the dateline or standfirst): a copy that adds its
#: own intro carries the wire's credit further down.
CREDIT_WITHIN = 400

#: Merges of more pairs than this are refused (a story that big is a template, not a story).
MAX_MERGE_PAIRS = 250_000


def _strength(m: Match) -> tuple[int, float, float, str, str]:
    return (kind_rank(m.kind), -max(m.containment_ab, m.containment_ba), -m.cosine, m.a, m.b)


def group(
    matches: Sequence[Match],
    linked: Callable[[list[str], list[str]], bool],
    strongest_first: bool = False,
) -> list[list[str]]:
    """Groups of article ids (each of two or more) built from `matches`, strongest first. Two
    groups merge only when `linked(left, right)` says every article of one is related to every
    article of the other (complete linkage), so when A~B and B~C but A and C are unrelated, C
    does not join the story of A and B. `strongest_first`: the matches are in that order
    already (as `Analysis.judge_pairs` gives them), not sorted again. (`Analysis.report` runs
    the same linkage compiled, over rows: `kernels.linked_groups`.)"""
    cluster_of: dict[str, int] = {}
    clusters: dict[int, list[str]] = {}
    next_id = 0  # not len(clusters): merged clusters are deleted, so their ids must not recur
    for m in matches if strongest_first else sorted(matches, key=_strength):
        for x in (m.a, m.b):
            if x not in cluster_of:
                cluster_of[x] = next_id
                clusters[next_id] = [x]
                next_id += 1
        ca, cb = cluster_of[m.a], cluster_of[m.b]
        if ca == cb:
            continue
        left, right = clusters[ca], clusters[cb]
        if len(left) * len(right) > MAX_MERGE_PAIRS:
            continue
        if linked(left, right):
            left.extend(right)
            for y in right:
                cluster_of[y] = ca
            del clusters[cb]
    return [sorted(c) for c in clusters.values() if len(c) > 1]


def _date(published: str | None) -> datetime | None:
    if not published:
        return None
    try:
        d = datetime.fromisoformat(published.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo is None else d.astimezone().replace(tzinfo=None)


def choose_original(
    members: Sequence[Article], words: Mapping[str, int], texts: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """The original of a story and why: the earliest published (when every member has a date),
    else the one with a wire credit at the start of its text (the most complete if several),
    else the most complete text (most words). `texts`: the text of each by id (default: the
    articles' own)."""
    dates = [_date(a.published) for a in members]
    if None not in dates:
        earliest = min(cast(list[datetime], dates))
        if dates.count(earliest) == 1:  # (one member alone is the earliest)
            return members[dates.index(earliest)].id, "earliest published"
    heads = [(a.text if texts is None else texts[a.id])[:CREDIT_WITHIN] for a in members]
    credited = [(a, wire_credit(head)) for a, head in zip(members, heads, strict=True)]
    with_credit = [(a, c) for a, c in credited if c]
    if with_credit:
        best, credit = max(with_credit, key=lambda ac: (words[ac[0].id], _neg(ac[0].id)))
        return best.id, f"wire credit {credit!r}"
    best_article = max(members, key=lambda a: (words[a.id], _neg(a.id)))
    return best_article.id, "most complete text"


def _neg(s: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in s)


def build_stories(
    groups: Sequence[Sequence[str]],
    within: Sequence[Sequence[Match]],
    articles: Mapping[str, Article],
    words: Mapping[str, int],
    texts: Mapping[str, str] | None = None,
) -> list[Story]:
    """Stories for the groups (`within`: the matches of each, by ids: a, then b): original,
    roles, outlets; largest first, then by original id. `texts`: the text of each article by id
    (default: the articles' own)."""
    drafts = []
    article = articles.__getitem__
    for ids, found in zip(groups, within, strict=True):
        members = list(map(article, sorted(ids)))  # (`group` gives them sorted already)
        original, reason = choose_original(members, words, texts)
        # (the kind of each member's match with the original, if they have one)
        with_original = {
            m.b if m.a == original else m.a: m.kind for m in found if original in (m.a, m.b)
        }
        # the original first, then the others by id
        head = articles[original]
        out_members = [make_member(original, head.title, head.outlet, head.published, "original")]
        for art in members:
            if art.id != original:
                role: Role = "copy" if with_original.get(art.id) in COPY_KINDS else "related"
                out_members.append(make_member(art.id, art.title, art.outlet, art.published, role))
        drafts.append((original, reason, tuple(out_members), tuple(found)))
    drafts.sort(key=lambda d: (-len(d[2]), d[0]))
    return [
        Story(
            id=f"s{n}",
            original=original,
            original_reason=reason,
            outlets=tuple(sorted({m.outlet for m in members if m.outlet})),
            members=members,
            matches=story_matches,
        )
        for n, (original, reason, members, story_matches) in enumerate(drafts, start=1)
    ]
