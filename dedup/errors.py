"""The one error contract of the library.

The library raises these and never prints or exits; the command line maps them to a message on
stderr that names the file and the fix, and to the exit codes of the design (2 for all of these).
"""

from __future__ import annotations


class DedupError(Exception):
    """Base class of every error `dedup` raises on purpose."""


class SettingsError(DedupError, ValueError):
    """A setting is out of range or a config file cannot be used."""


class InputError(DedupError):
    """Input cannot be read (raised only in strict mode; otherwise inputs are skipped)."""


class IndexFileError(DedupError):
    """An index file cannot be opened or used: not an index, damaged, newer format, or built
    with other fingerprint settings."""
