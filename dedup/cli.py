"""The `dedup` command line: each command parses options, calls one library function and formats
the result. Exit codes: 0 success; 1 `check` flagged an article; 2 usage error, unreadable input
in strict mode, or an index that cannot be used."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from .config import SETTING_HELP, load_config, make_settings
from .errors import DedupError
from .models import KINDS, Article, Settings, with_text

if TYPE_CHECKING:
    from .readers import ReadResult
    from .textstore import Texts

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: `dedup report` and `dedup index add` keep the texts in memory up to this many characters, in a
#: temporary file beyond (`read_articles(spill=...)`): a quarter of a gigabyte of text is about
#: 300k wire stories.
SPILL_TEXT = 1 << 28
#: Texts `index add` reads back from the file of spilled texts at once.
TEXT_BLOCK = 4096


class Failure(click.ClickException):
    """A library error, shown as "Error: ..." on stderr with exit code 2."""

    exit_code = 2


class DedupCommand(click.Command):
    """Maps library errors to a message on stderr and exit code 2; ends quietly on a closed pipe."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DedupError as e:
            raise Failure(str(e)) from e
        except BrokenPipeError:
            # Python flushes stdout at exit; point it at devnull so `| head` ends quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)


class Group(click.Group):
    command_class = DedupCommand
    group_class = type


def settings_options(f: F) -> F:
    """`--config FILE` and one option per threshold, shared by every command that detects."""
    for field in reversed(dataclasses.fields(Settings)):
        default = field.default
        f = click.option(
            "--" + field.name.replace("_", "-"),
            field.name,
            type=int if isinstance(default, int) else float,
            default=None,
            help=f"{SETTING_HELP[field.name]} [default: {default}]",
        )(f)
    f = click.option(
        "--config",
        type=click.Path(exists=True, dir_okay=False),
        help="TOML file of settings (keys as the options, e.g. near_duplicate = 0.85); "
        "options given on the command line win.",
    )(f)
    return f


def settings_from(kwargs: dict[str, Any]) -> Settings:
    names = {f.name for f in dataclasses.fields(Settings)}
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    return make_settings(kwargs.pop("config", None), overrides)


def output_options(formats: tuple[str, ...], default: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        f = click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, writable=True),
            help="Write to FILE instead of standard output.",
        )(f)
        f = click.option(
            "--format",
            "fmt",
            type=click.Choice(formats),
            default=default,
            show_default=True,
            help="Output format.",
        )(f)
        return f

    return decorate


def jobs_option(f: F) -> F:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=None,
        help="Processes to use  [default: every core]. The output does not depend on it.",
    )(f)


def quiet_option(f: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="No progress bar on stderr.")(f)


def emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


def emit_bytes(chunks: Iterable[bytes | memoryview], output: str | None) -> None:
    """Write UTF-8 pieces as they come (a large report is never held whole)."""
    if output:
        with open(output, "wb") as fh:
            fh.writelines(chunks)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.writelines(chunks)
        sys.stdout.buffer.flush()


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress callback drawing on stderr when it is a terminal (and not --quiet)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.render_finish()
            bar = bars[stage] = click.progressbar(
                length=max(total, 1), label=stage, file=sys.stderr
            )
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)


#: Set by `run` (the `dedup` program), not when `main` is called by a program that goes on.
_EXIT_WHEN_DONE = False


def run() -> None:
    """The `dedup` program: `main`, where a command that made millions of objects ends the
    process as soon as its output is written (`done`)."""
    global _EXIT_WHEN_DONE
    _EXIT_WHEN_DONE = True
    main()


def done() -> None:
    """End the `dedup` program now, exit code 0, its output written: standard output and error
    are flushed (click.echo and `emit_bytes` have flushed what they wrote; this is for anything
    else), and the process exits without freeing the millions of objects of a large run
    one by one (at 1M articles, seconds of work that no one waits for; mypy ends the same
    way). Nothing when `main` was called by another program (`run` was not)."""
    if _EXIT_WHEN_DONE:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def warn(message: str) -> None:
    click.echo(message, err=True)


def read_inputs(
    paths: Iterable[str],
    strict: bool,
    stdin: bool = True,
    spill: int | None = None,
    workers: int = 1,
) -> ReadResult:
    """Read articles, telling stderr what was noted or skipped (with --strict, a skip raises;
    spill, workers: the texts go to a temporary file, large JSONL files are parsed on the
    workers, see `read_articles`)."""
    from .parallel import gc_paused
    from .readers import read_articles

    with gc_paused():
        stdin_file = sys.stdin if stdin else None
        read = read_articles(paths, stdin=stdin_file, strict=strict, spill=spill, workers=workers)
    for note in read.notes:
        warn(f"note: {note.path}: {note.message}")
    for skip in read.skipped:
        warn(f"skipped: {skip.path}: {skip.reason}")
    return read


@click.group(cls=Group)
@click.version_option(package_name="dedup")
def main() -> None:
    """Find duplicate, near-duplicate and syndicated copies of news stories, and group the same
    story across outlets.

    \b
    Example:
      dedup report fixtures/seed
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@output_options(("table", "json", "csv", "markdown", "html"), "table")
@settings_options
@click.option("--strict", is_flag=True, help="Exit 2 if any input cannot be read.")
@click.option(
    "--timing/--no-timing",
    default=True,
    show_default=True,
    help="Record the run time in stats.seconds (--no-timing: null, for byte-identical output).",
)
@jobs_option
@quiet_option
def report(
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    strict: bool,
    timing: bool,
    jobs: int | None,
    quiet: bool,
    **options: Any,
) -> None:
    """Report the stories in PATHS: the original of each, its copies and the shared passages.

    PATHS are files or folders (read recursively): .txt .md .html .htm .json .jsonl .ndjson .csv,
    or - for JSONL on standard input. Inputs that cannot be read are listed as skipped.

    \b
    Example:
      dedup report fixtures/seed
      dedup report articles/ --format html -o report.html
    """
    from .detect import detect
    from .parallel import default_workers, gc_paused
    from .render import json_chunks, render_report

    settings = settings_from(options)
    # (the garbage collector stays off until the report is written and let go: its first pass
    # over the millions of objects of a large report would take seconds; they hold no cycles)
    with gc_paused():
        # (many texts wait in a file; a large JSONL file is parsed on the workers)
        read = read_inputs(paths, strict, spill=SPILL_TEXT, workers=jobs or default_workers())
        with progress_bar(quiet) as progress:
            result = detect(
                read.articles,
                settings,
                skipped=read.skipped,
                progress=progress,
                timing=timing,
                workers=jobs,
                texts=read.texts,
            )
        if fmt == "json":
            emit_bytes(json_chunks(result), output)
        else:
            emit(render_report(result, fmt), output)
        done()
        del read, result


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--gold",
    required=True,
    type=click.Path(dir_okay=False),
    help="Labelled data, CSV: pairs (a,b,label with label 1, 0 or a kind; optional category) "
    "or clusters (id,cluster).",
)
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="NAME=START:STOP:STEP",
    help="Vary one setting (repeatable; NAME=V1,V2,... also works). "
    "Default: near_duplicate, contained, partial, partial_cosine, same_story and lsh_copy, "
    "one at a time.",
)
@click.option("--grid", is_flag=True, help="Run every combination of the sweeps, not one by one.")
@click.option(
    "--unlabelled",
    type=click.Choice(["negative", "ignore"]),
    default="negative",
    show_default=True,
    help="Pairs gold: count predicted pairs the gold does not label as false positives "
    "(negative), or leave them out (ignore: only pairs labelled 0 are non-matches).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, writable=True),
    help="Draw precision, recall and F1 against each swept setting into this PNG (needs "
    "matplotlib: pip install 'dedup[plot]').",
)
@output_options(("table", "json", "csv"), "table")
@settings_options
@click.option("--strict", is_flag=True, help="Exit 2 if any input cannot be read.")
@quiet_option
def bench(
    paths: tuple[str, ...],
    gold: str,
    sweeps: tuple[str, ...],
    grid: bool,
    unlabelled: str,
    plot: str | None,
    fmt: str,
    output: str | None,
    strict: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Score detection on PATHS against labelled data (--gold) over a sweep of thresholds.

    Prints pair precision, recall and F1 at each setting (per kind when the gold names kinds),
    ARI and AMI for a clusters gold, and LSH candidate recall: the share of gold match pairs
    LSH proposed at all, the ceiling for everything after it. The best setting by F1 is marked.
    Fingerprints, candidates and pair scores are computed once; each setting only re-applies
    thresholds. Settings not swept are the defaults, --config and the threshold options.

    \b
    Example:
      dedup bench fixtures/bench/articles --gold fixtures/bench/gold-pairs.csv
      dedup bench articles/ --gold gold.csv --sweep near_duplicate=0.5:0.95:0.05 --plot pr.png
    """
    import importlib.util

    from .bench import DEFAULT_SWEEPS, load_gold, parse_sweep, plot_bench, render_bench, run_bench

    if plot and importlib.util.find_spec("matplotlib") is None:
        raise Failure("--plot needs matplotlib: pip install 'dedup[plot]'")
    base = settings_from(options)
    parsed = [parse_sweep(s) for s in (sweeps or DEFAULT_SWEEPS)]
    labelled = load_gold(gold)
    read = read_inputs(paths, strict)
    with progress_bar(quiet) as progress:
        result = run_bench(
            read.articles,
            labelled,
            parsed,
            base,
            progress,
            grid=grid,
            unlabelled="ignore" if unlabelled == "ignore" else "negative",
        )
    if result.unknown_ids:
        shown = ", ".join(result.unknown_ids[:5])
        more = f" (+{len(result.unknown_ids) - 5} more)" if len(result.unknown_ids) > 5 else ""
        warn(
            f"warning: {gold}: {len(result.unknown_ids)} gold id(s) not among the articles "
            f"read, their pairs left out: {shown}{more}"
        )
    if plot:
        plot_bench(result, plot)
    emit(render_bench(result, fmt), output)


# -- the archive index and `check` ------------------------------------------------------------


def explicit_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Only the settings the user gave (config file, then options): an index keeps its own
    fingerprint settings, so defaults must not override them."""
    names = {f.name for f in dataclasses.fields(Settings)}
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    config = kwargs.pop("config", None)
    values: dict[str, Any] = load_config(config) if config else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return values


def index_option(required: bool) -> Callable[[F], F]:
    return click.option(
        "--index",
        "index_path",
        required=required,
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="The index file (SQLite).",
    )


@main.group(name="index")
def index_group() -> None:
    """Build and maintain a persistent index of an archive, for `dedup check`.

    The index is one SQLite file (WAL mode; nothing to start). It keeps what `check` needs
    without the original files: metadata, text, shingle hashes, MinHash signatures, LSH band
    keys and term statistics.

    \b
    Example:
      dedup index add archive/ --index archive.sqlite
      dedup index stats --index archive.sqlite
    """


@index_group.command(name="add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@index_option(required=True)
@settings_options
@click.option("--strict", is_flag=True, help="Exit 2 if any input cannot be read.")
@jobs_option
@quiet_option
def index_add(
    paths: tuple[str, ...],
    index_path: str,
    strict: bool,
    jobs: int | None,
    quiet: bool,
    **options: Any,
) -> None:
    """Add the articles in PATHS to the index FILE, creating it if needed.

    An article whose id is already in the index replaces it (an identical one is left alone).
    Articles are committed in batches of whole articles: an interrupted add leaves a usable
    index, and running it again completes it. A new index is built aside and moved into place
    when complete (an interrupted build leaves none). The settings that shape fingerprints are
    fixed when the index is created; a summary goes to stderr.

    \b
    Example:
      dedup index add fixtures/seed --index archive.sqlite
      cat wires.jsonl | dedup index add - --index archive.sqlite
    """
    from .index import ArchiveIndex
    from .parallel import default_workers

    settings = explicit_settings(options)
    # (many texts go to a temporary file, large JSONL files parsed on the workers, as `report`)
    read = read_inputs(paths, strict, spill=SPILL_TEXT, workers=jobs or default_workers())
    unread = len(read.skipped)
    articles = Handover(list(read.articles), read.texts)
    del read  # the list is the only holder: each text can go once its batch is stored
    with progress_bar(quiet) as progress:
        if os.path.lexists(index_path):
            with ArchiveIndex.open(index_path, settings or None) as index:
                summary = index.add(articles, progress=progress, workers=jobs)
        else:
            summary = ArchiveIndex.build(
                index_path, articles, settings or None, progress=progress, workers=jobs
            )
    for skip in summary.skipped:
        warn(f"skipped: {skip.path}: {skip.reason}")
    skipped = unread + len(summary.skipped)
    warn(
        f"dedup index add: {summary.added} added, {summary.replaced} replaced, "
        f"{summary.unchanged} unchanged, {skipped} skipped; {index_path} holds "
        f"{summary.total} article{'s' if summary.total != 1 else ''}"
    )
    done()


class Handover(Sized, Iterable[T]):
    """The items of a list, each let go by the list as it is handed out: the taker holds the
    only reference (so `index add` frees the texts of stored batches, not at the end). With
    `texts` (the articles' texts, which `read_articles(spill=...)` kept in a file), each item
    is an article handed out with its text, read back TEXT_BLOCK at a time."""

    def __init__(self, items: list[T], texts: Texts | None = None) -> None:
        self._items: list[T | None] = list(items)
        self._texts = texts
        items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        n = len(self._items)  # (no item is held by this frame while the taker has it)
        if self._texts is None:
            for i in range(n):
                yield self._take(i)
            return
        for start in range(0, n, TEXT_BLOCK):
            texts = self._texts[start : start + TEXT_BLOCK]
            for i in range(start, start + len(texts)):
                yield cast(T, with_text(cast(Article, self._take(i)), texts[i - start]))

    def _take(self, i: int) -> T:
        item, self._items[i] = self._items[i], None
        assert item is not None
        return item


@index_group.command(name="remove")
@click.argument("ids", nargs=-1, required=True)
@index_option(required=True)
def index_remove(ids: tuple[str, ...], index_path: str) -> None:
    """Remove the articles with these IDS from the index FILE.

    Ids not in the index are reported on stderr and otherwise ignored.

    \b
    Example:
      dedup index remove guardian/kim-jong-un-to-meet-putin-in-russia.txt --index archive.sqlite
    """
    from .index import ArchiveIndex

    with ArchiveIndex.open(index_path, create=False) as index:
        summary = index.remove(ids)
        total = len(index)
    for missing in summary.missing:
        warn(f"not in the index: {missing}")
    warn(
        f"dedup index remove: {len(summary.removed)} removed, {len(summary.missing)} not found; "
        f"{index_path} holds {total} article{'s' if total != 1 else ''}"
    )


@index_group.command(name="stats")
@index_option(required=True)
@output_options(("table", "json"), "table")
def index_stats(index_path: str, fmt: str, output: str | None) -> None:
    """Show the index FILE: articles, outlets, date range, size on disk, the settings it was
    built with and its format version.

    \b
    Example:
      dedup index stats --index archive.sqlite --format json
    """
    from .index import ArchiveIndex, render_stats

    with ArchiveIndex.open(index_path, readonly=True) as index:
        stats = index.stats()
    emit(render_stats(stats, fmt), output)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@index_option(required=False)
@click.option(
    "--against",
    multiple=True,
    type=click.Path(allow_dash=False),
    metavar="PATH",
    help="Check against the articles in PATH instead of an index (an in-memory index, for "
    "one-off use; repeatable).",
)
@output_options(("table", "json"), "table")
@click.option(
    "--fail-on",
    type=click.Choice(KINDS),
    default="partial",
    show_default=True,
    help="The weakest kind of match that flags an article (exit 1).",
)
@click.option(
    "--window",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Only match archive articles published up to DAYS days before the article's date "
    "(undated articles always count).",
)
@settings_options
@click.option("--strict", is_flag=True, help="Exit 2 if any input cannot be read.")
@quiet_option
def check(
    paths: tuple[str, ...],
    index_path: str | None,
    against: tuple[str, ...],
    fmt: str,
    output: str | None,
    fail_on: str,
    window: int | None,
    strict: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Check the articles in PATHS against an archive: for each, the verified matches (kind,
    scores, shared passages), strongest first.

    The archive is an index built with `dedup index add` (--index FILE) or a folder read now
    (--against PATH). Exit codes: 0 nothing flagged, 1 an article has a match of the
    --fail-on kind or stronger, 2 usage error or an index that cannot be used.

    \b
    Example:
      dedup check draft.txt --index archive.sqlite
      dedup check fixtures/seed/guardian --against fixtures/seed/asianlite --format json
    """
    from .index import ArchiveIndex, render_check

    if bool(index_path) == bool(against):
        raise click.UsageError("give either --index FILE or --against PATH")
    settings = explicit_settings(options)
    read = read_inputs(paths, strict)
    if not read.articles:
        raise Failure(f"no article to check in {', '.join(paths)}")
    if index_path:
        index = ArchiveIndex.open(index_path, settings or None, readonly=True)
    else:
        archive = read_inputs(against, strict, stdin=False)
        with progress_bar(quiet) as progress:
            index = ArchiveIndex.in_memory(archive.articles, settings or None, progress)
    with index:
        results = [index.check(q, fail_on=fail_on, window_days=window) for q in read.articles]
    emit(render_check(results, fmt), output)
    sys.exit(1 if any(r.flagged for r in results) else 0)
