"""Each scenario fixture gets its kind and grouping; a precision/recall floor over all of them."""

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from dedup import detect
from dedup.readers import read_articles
from tests.conftest import FIXTURES

SCENARIOS = FIXTURES / "scenarios"
FLOOR_FILE = Path(__file__).with_name("scenario_floor.json")


def gold() -> dict[str, dict[tuple[str, str], str]]:
    pairs: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    with open(SCENARIOS / "gold.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            pairs[row["scenario"]][(row["a"], row["b"])] = row["kind"]
    return pairs


def scenario_names() -> list[str]:
    return sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir())


def run(name: str):
    read = read_articles([SCENARIOS / name])
    assert not read.skipped
    return detect(read.articles, timing=False)


def found(report) -> dict[tuple[str, str], str]:
    return {(m.a, m.b): m.kind for s in report.stories for m in s.matches}


@pytest.mark.parametrize("name", [n for n in scenario_names() if n != "chain_trap"])
def test_scenario_gets_exactly_its_gold_matches(name):
    assert found(run(name)) == gold().get(name, {})


def test_chain_trap_does_not_pull_unrelated_articles_together():
    report = run("chain_trap")
    a = "northern-ledger/inverhaven-sleeper-train.txt"
    b = "morning-digest/morning-briefing-thursday.txt"
    c = "dales-observer/ghost-orchid-quarry.txt"
    (story,) = report.stories
    members = {m.id for m in story.members}
    assert b in members and not {a, c} <= members
    assert set(found(report).items()) <= set(gold()["chain_trap"].items())


def test_wire_originals_are_named_with_their_reason():
    trimmed = run("wire_trimmed").stories[0]
    assert trimmed.original == "wire/gdansk-shipyard-pay-deal.txt"
    assert trimmed.original_reason == "wire credit '(AP)'"
    intro = run("wire_local_intro").stories[0]
    assert intro.original == "wire/arabica-futures-frost.txt"
    roles = {m.id: m.role for m in intro.members}
    assert roles["valley-times/valley-cafes-brace-for-dearer-coffee.txt"] == "copy"


def test_same_event_members_are_related_not_copies():
    (story,) = run("same_event").stories
    assert sorted(m.role for m in story.members) == ["original", "related"]


def test_precision_and_recall_floor():
    """The floor may only be lowered with a reason in the commit that lowers it."""
    floor = json.loads(FLOOR_FILE.read_text())
    expected = gold()
    tp = fp = fn = 0
    for name in scenario_names():
        got = set(found(run(name)))
        want = set(expected.get(name, {}))
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    assert precision >= floor["precision"], (precision, recall)
    assert recall >= floor["recall"], (precision, recall)
