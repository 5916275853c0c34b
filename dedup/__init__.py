"""dedup: find duplicate, near-duplicate and syndicated copies of news stories, and group the
same story across outlets.

    >>> from dedup import read_articles, detect
    >>> report = detect(read_articles(["fixtures/seed"]).articles)
    >>> [m.title for m in report.stories[0].members]  # doctest: +SKIP

Heavy dependencies (scikit-learn, scipy, datasketch, trafilatura) load on first use, so
`import dedup` stays fast for command-line tools.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .detect import Analysis, analyse, detect
from .errors import DedupError, IndexFileError, InputError, SettingsError
from .models import (
    KINDS,
    Article,
    Kind,
    Match,
    Member,
    Passage,
    Report,
    Settings,
    Skipped,
    Stats,
    Story,
)

if TYPE_CHECKING:
    from .readers import ReadResult, read_articles
    from .render import render_report

_LAZY = {
    "ReadResult": "readers",
    "read_articles": "readers",
    "render_report": "render",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dedup' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "KINDS",
    "Analysis",
    "Article",
    "DedupError",
    "IndexFileError",
    "InputError",
    "Kind",
    "Match",
    "Member",
    "Passage",
    "ReadResult",
    "Report",
    "Settings",
    "SettingsError",
    "Skipped",
    "Stats",
    "Story",
    "analyse",
    "detect",
    "read_articles",
    "render_report",
]
