import pytest

from dedup.text import content_words, is_boilerplate_line, tokenize, wire_credit, words_of


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
