"""Every fast path gives the bytes of the slower, plainer path it replaces, on every fixture."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup import detect
from dedup.readers import read_articles
from dedup.render import dumps_json, report_to_dict
from tests.conftest import FIXTURES

FIXTURE_INPUTS = ["seed", "seed.jsonl", "scenarios", "bench/articles", "xss", "malformed"]


def fixture_report(name: str):  # type: ignore[no-untyped-def]
    read = read_articles([FIXTURES / name])
    return detect(read.articles, skipped=read.skipped, timing=False)


@pytest.mark.parametrize("name", FIXTURE_INPUTS)
def test_json_writer_gives_the_standard_library_s_bytes(name: str) -> None:
    data = report_to_dict(fixture_report(name))
    assert dumps_json(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON)
def test_json_writer_matches_on_any_text_and_structure(data: object) -> None:
    assert dumps_json(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@given(st.floats(allow_nan=False, allow_infinity=False).map(lambda x: round(x, 4)))
def test_json_writer_matches_on_rounded_scores(score: float) -> None:
    if abs(score) >= 1e16:  # scores lie in [0, 1]; the writers differ on huge exponents only
        return
    assert dumps_json({"score": score}) == json.dumps({"score": score}, indent=2) + "\n"


def test_json_writer_falls_back_on_what_orjson_refuses() -> None:
    data = {"text": "half a pair \ud800", "big": 2**70}
    assert dumps_json(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"
