"""dedup: find duplicate, near-duplicate and syndicated copies of news stories."""

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
    "Report",
    "Settings",
    "SettingsError",
    "Skipped",
    "Stats",
    "Story",
    "analyse",
    "detect",
]
