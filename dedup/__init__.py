"""dedup: find duplicate, near-duplicate and syndicated copies of news stories, and group the
same story across outlets.

    >>> from dedup import read_articles, detect
    >>> report = detect(read_articles(["fixtures/seed"]).articles)
    >>> [m.title for m in report.stories[0].members]  # doctest: +SKIP

Heavy dependencies (scikit-learn, scipy, datasketch, numba, trafilatura) load on first use, so
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
    from .index import (
        AddSummary,
        ArchiveIndex,
        CheckMatch,
        CheckResult,
        IndexStats,
        RemoveSummary,
        check_against,
    )
    from .readers import ReadResult, read_articles
    from .render import render_report

_LAZY = {
    "AddSummary": "index",
    "ArchiveIndex": "index",
    "CheckMatch": "index",
    "CheckResult": "index",
    "IndexStats": "index",
    "RemoveSummary": "index",
    "check_against": "index",
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
    "AddSummary",
    "Analysis",
    "ArchiveIndex",
    "Article",
    "CheckMatch",
    "CheckResult",
    "DedupError",
    "IndexFileError",
    "IndexStats",
    "InputError",
    "Kind",
    "Match",
    "Member",
    "Passage",
    "ReadResult",
    "RemoveSummary",
    "Report",
    "Settings",
    "SettingsError",
    "Skipped",
    "Stats",
    "Story",
    "analyse",
    "check_against",
    "detect",
    "read_articles",
    "render_report",
]
