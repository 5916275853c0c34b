"""The `dedup` command line: each command parses options, calls one library function and formats
the result. Exit codes: 0 success; 1 `check` flagged an article; 2 usage error, unreadable input
in strict mode, or an index that cannot be used."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from .config import SETTING_HELP, make_settings
from .errors import DedupError
from .models import Settings

F = TypeVar("F", bound=Callable[..., Any])


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


def quiet_option(f: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="No progress bar on stderr.")(f)


def emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


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


def warn(message: str) -> None:
    click.echo(message, err=True)


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
@quiet_option
def report(
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    strict: bool,
    timing: bool,
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
    from .readers import read_articles
    from .render import render_report

    settings = settings_from(options)
    read = read_articles(paths, stdin=sys.stdin, strict=strict)
    for note in read.notes:
        warn(f"note: {note.path}: {note.message}")
    for skip in read.skipped:
        warn(f"skipped: {skip.path}: {skip.reason}")
    with progress_bar(quiet) as progress:
        result = detect(
            read.articles, settings, skipped=read.skipped, progress=progress, timing=timing
        )
    emit(render_report(result, fmt), output)
