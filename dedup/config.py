"""Settings from a TOML config file and command-line overrides."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import SettingsError
from .models import Settings

#: One line of help per setting (shown by `--help` and in the README).
SETTING_HELP: dict[str, str] = {
    "shingle_size": "Words per shingle for copy detection.",
    "num_perm": "MinHash permutations.",
    "seed": "MinHash permutation seed.",
    "lsh_copy": "Jaccard threshold of the word-shingle LSH that proposes copies.",
    "lsh_story": "Jaccard threshold of the content-word LSH that proposes same-story pairs.",
    "anchor_every": "One shingle in N is an anchor for passage candidates (0: off).",
    "min_anchors": "Shared anchors that make two articles a candidate pair.",
    "near_duplicate": "Shingle Jaccard from which a pair is a near_duplicate.",
    "contained": "Containment (either way) from which a pair is contained.",
    "partial": "Containment (either way) from which a pair is partial ...",
    "partial_cosine": "... with at least this TF-IDF cosine (a stock phrase is not reuse) ...",
    "partial_words": "... or words in shared passages from which it is partial.",
    "same_story": "TF-IDF cosine from which a pair is same_story ...",
    "story_terms": "... when they share this many content words (not corpus stop words).",
    "link_cosine": "Cosine that keeps two unmatched articles in one story.",
    "min_passage_words": "Shortest shared run of words reported as a passage.",
    "boilerplate_docs": "A shingle in this many articles of one outlet ...",
    "boilerplate_share": "... and this share of them ...",
    "boilerplate_cap": "... or this many, whichever is fewer, is boilerplate (ignored).",
    "common_share": "A content word in this share of all articles ...",
    "common_docs": "... and this many is a corpus stop word, ignored by TF-IDF.",
}


def load_config(path: str | Path) -> dict[str, Any]:
    """Settings values from a TOML file: top-level keys or a `[dedup]` table, named as the
    Settings fields (dashes allowed)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise SettingsError(f"cannot read config file {path}: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"config file {path} is not valid TOML: {e}") from e
    table = data.get("dedup", data)
    if not isinstance(table, dict):
        raise SettingsError(f"config file {path}: [dedup] must be a table")
    values = {str(k).replace("-", "_"): v for k, v in table.items()}
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )
    return values


def make_settings(
    config: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Defaults, then the config file, then explicit overrides (None values are ignored)."""
    values: dict[str, Any] = load_config(config) if config else {}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings(**values)
    except TypeError as e:  # wrong type from a config file
        raise SettingsError(str(e)) from e
