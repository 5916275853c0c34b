import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup.text import (
    content_words,
    is_boilerplate_line,
    token_spans,
    tokenize,
    wire_credit,
    words_of,
)


def test_tokens_keep_offsets_into_the_original_text():
    text = "Kim Jong-un’s ﬁrst TRIP\nCategories\nto Vladivostok."
    toks = tokenize(text)
    assert toks.words == ("kim", "jong", "un", "s", "first", "trip", "to", "vladivostok")
    for word, start, end in zip(toks.words, toks.starts, toks.ends, strict=True):
        original = text[start:end]
        assert original.lower().replace("ﬁ", "fi") == word
    assert list(toks.words) == words_of(text)


@pytest.mark.parametrize(
    "line",
    [
        "ALSO READ: India’s ‘Electric’ Awakening",
        "ALSO READ-North Korea warns US of Nuclear war",
        "Categories",
        "-Top News Asia News Europe",
        "Original Article",
        "Source: theguardian",
        "Author: Nicola Slawson and Justin McCurry in Tokyo",
        "No comments:",
        "Post a Comment",
        "Sign up to our morning newsletter and get the news in your inbox",
        "We use cookies to improve your experience. Accept all cookies",
        "© 2024 Riverside Gazette Media Ltd. All rights reserved.",
    ],
)
def test_boilerplate_lines(line):
    assert is_boilerplate_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Kim said relations between the two countries are entering a new period of prosperity.",
        "The source of the leak was not identified, officials said on Monday afternoon.",
        "",
    ],
)
def test_article_lines_are_not_boilerplate(line):
    assert not is_boilerplate_line(line)


def test_content_words_drop_stop_words_and_short_numbers():
    assert content_words(["the", "mayor", "of", "7", "2024", "a", "bridges"]) == [
        "mayor",
        "2024",
        "bridges",
    ]


@pytest.mark.parametrize(
    ("text", "credit"),
    [
        ("LISBON (AP) — Trams stopped", "(AP)"),
        ("LONDON (Reuters) - Shares fell", "(Reuters)"),
        ("in Russia…reports Asian Lite News\n", "reports Asian Lite News"),
        ("the board said. (ANI)", "(ANI)"),
        ("A quiet day in the village.", None),
    ],
)
def test_wire_credit(text, credit):
    assert wire_credit(text) == credit


# --- the one-pass screen against the line-by-line definition --------------------------------

_LINES = st.sampled_from(
    [
        "ALSO READ: more news",
        "Categories",
        "  Source: the wires",
        "Sign up to our newsletter for updates",
        "SUBSCRIBE to the newsletter inbox",
        "We use cookies; accept them",
        "© 2024 Gazette",
        "All rights reserved.",
        "12 comments",
        "No comments",
        "Kim said the talks would go on.",
        "All ministers met on Monday.",
        "The ﬁrst ſubscribe Newsletter line",
        "Ünïcode and a KELVIN sign K, cookie policy",
        "",
        "   ",
    ]
)


@given(st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=12))
def test_boilerplate_screen_finds_what_checking_every_line_finds(lines):
    text = "\n".join(lines)
    kept = [line for line in text.split("\n") if not is_boilerplate_line(line)]
    expected = [w for line in kept for w in words_of(line)] if "\n" in text else words_of(text)
    assert words_of(text) == expected
    words, spans = token_spans(text)
    assert words == expected
    folded = [unicodedata.normalize("NFKC", text[lo:hi]).casefold() for lo, hi in spans]
    assert folded == words
