import subprocess
import sys
import unicodedata

import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import text as text_module
from dedup.text import (
    content_words,
    is_boilerplate_line,
    stop_words,
    token_arrays,
    token_spans,
    tokenize,
    tokenize_block,
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

_BOILERPLATE_LIKE = (
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
)
_LINES = st.sampled_from(_BOILERPLATE_LIKE)


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


_ASCII_TEXT = st.text(alphabet=st.characters(max_codepoint=127), max_size=60)
_WORDS = st.sampled_from(
    [
        "the",
        "a",
        "internationally",
        "internationale",
        "abcdefghijklmnop",
        "abcdefghijklmnopq",
        "12345678",
        "123456789",
        "snake_case_word",
        "x" * 40,
        "déjà",
        "ＡＢＣ",
        "Ünïcode",
    ]
)
_MORE_BOILERPLATE_LIKE = (
    "(c) 2024 Gazette",
    "(c)2024 Gazette",
    "Unsubscribe from our newsletter",
    "Sign up for updates",
    "123 comments",
    "12abc comments",
    "Top news: today",
    "_also read this",
    "  -- Share this article",
    "Cookies: we use them, accept",
    "Tags: ports, cranes",
    "the council said the newsletter would stop",
    "“Quoted” — said the mayor… Kim’s visit – the first\u00a0time",
    "— Share this article",
    "©Gazette Media Ltd",
    "Ⓐ symbol, ™ mark",
)
_MORE_LINES = st.sampled_from(_MORE_BOILERPLATE_LIKE)
_TEXT = st.one_of(
    _ASCII_TEXT,
    st.text(max_size=30),
    st.lists(st.one_of(_WORDS, _LINES), max_size=8).map(" ".join),
    st.lists(st.one_of(_WORDS, _LINES, _MORE_LINES, _ASCII_TEXT), max_size=8).map("\n".join),
)


def _expected_block(texts):
    words, ids, spans, digests = [], [], [], []
    number: dict[str, int] = {}
    for text in texts:
        some, starts, ends = token_arrays(text)
        assert some == words_of(text)
        for w in some:
            if w not in number:
                number[w] = len(number)
                words.append(w)
            ids.append(number[w])
        spans += list(zip(starts.tolist(), ends.tolist(), strict=True))
        digests.append(xxhash.xxh3_64_intdigest("\x1f".join(some).encode()) if some else 0)
    return words, ids, spans, digests


def _assert_block(texts):
    words, ids, spans, digests = _expected_block(texts)
    block = tokenize_block(texts)
    assert block.words == words
    assert block.ids.tolist() == ids
    assert list(zip(block.starts.tolist(), block.ends.tolist(), strict=True)) == spans
    assert block.digests.tolist() == digests
    counts = [len(words_of(t)) for t in texts]
    assert np.diff(block.offsets).tolist() == counts
    without = tokenize_block(texts, digests=False)  # (the same tokens, no digest computed)
    assert without.words == block.words and not without.digests.any()
    for field in ("ids", "offsets", "starts", "ends"):
        assert (getattr(without, field) == getattr(block, field)).all()


@given(st.lists(_TEXT, max_size=10))
@settings(deadline=None)  # (the first example loads the compiled loops)
def test_a_block_is_tokenised_as_each_text_alone(texts):
    # ASCII texts are tokenised together from their bytes; the others one by one: the words,
    # their numbering in order of first use, spans and digests are those of `token_arrays`.
    _assert_block(texts)


def test_every_kind_of_boilerplate_line_is_left_out_of_a_block():
    lines = [*_BOILERPLATE_LIKE, *_MORE_BOILERPLATE_LIKE]
    texts = [f"Headline\n{line}\nBody text" for line in lines]
    _assert_block([*texts, "\n".join(lines), *lines])


def test_a_block_whose_folded_keys_collide_is_tokenised_all_the_same(monkeypatch):
    # Words of 9-16 bytes are folded to one number: with no fold, words sharing their first 8
    # bytes collide, and the block is tokenised by name instead, with the same result.
    monkeypatch.setattr(text_module, "_FOLD", np.uint64(0))
    _assert_block(
        [
            "internationally the internationale abcdefghijklmnop",
            "abcdefghijklmnopq 123456789 12345678 internationally",
            "déjà vu, Internationale",
        ]
    )


def test_stop_words_are_scikit_learns_list_read_without_importing_it():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    code = "import sys; from dedup.text import stop_words; w = stop_words(); "
    code += "print(len(w), 'sklearn' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == [str(len(ENGLISH_STOP_WORDS)), "False"]
    assert stop_words() == ENGLISH_STOP_WORDS


_GAPS = st.sampled_from(
    [" ", "\n", "\n\n", "\n \t\n", "\r\n\r\n", "\n\v\n", "\n\f\n", "\n\u00a0\n", "\n\u2028\n"]
)
_GAPS |= st.sampled_from([", ", ".\n\n", "\n-\n", "\n\n\n", " \n", "\n "])
_TOKENS = st.sampled_from(["kim", "Putin", "é", "naïve", "x1", "Also read", "??", "\ud800"])


@settings(deadline=None)  # (the first call loads the compiled loops)
@given(
    st.lists(
        st.lists(st.tuples(_TOKENS, _GAPS), max_size=12).map(lambda p: "".join(map("".join, p))),
        min_size=1,
        max_size=6,
    )
)
def test_paragraph_breaks_are_the_blank_lines_between_a_text_s_tokens(texts: list[str]) -> None:
    from dedup.text import PARAGRAPH_BREAK, paragraph_breaks, tokenize_block

    tokens = tokenize_block(texts, digests=False)
    want = []
    for t, text in enumerate(texts):
        lo, hi = tokens.offsets[t], tokens.offsets[t + 1]
        for w in range(lo, hi):
            gap = text[tokens.ends[w - 1] : tokens.starts[w]] if w > lo else ""
            want.append(PARAGRAPH_BREAK.search(gap) is not None)
    assert paragraph_breaks(texts, tokens).tolist() == want
