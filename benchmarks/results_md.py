"""Shared by the benchmark scripts: the machine they ran on, the synthetic corpora, the resident
set, and updating one section of `benchmarks/RESULTS.md` between its markers
(`<!-- NAME:start -->` ... `<!-- NAME:end -->`), keeping every other section as it is."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
_TITLE = (
    "# Benchmark results\n\nEvery figure below is written by the script named in its section.\n"
)


def revision() -> str:
    """The commit of the code measured, with `+` when `dedup/` has changes not committed; "?"
    outside a git checkout."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        return git("rev-parse", "--short", "HEAD") + (
            "+" if git("status", "--porcelain", "--", "dedup") else ""
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine() -> dict[str, str]:
    """Cores, memory, CPU model, Python, and the date and commit of the run."""
    mem = "?"
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": revision(),
    }


def machine_line(info: dict[str, str]) -> str:
    """The "Machine: ..." line of a section, from `machine()`."""
    return (
        f"Machine: {info['cores']} cores ({info['cpu']}), {info['memory']} memory, "
        f"Python {info['python']}; run {info['date']} at commit {info['commit']}."
    )


def versions(names: Sequence[str]) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that ran this script, as a user would type it from the project root."""
    args = list(sys.argv if argv is None else argv)
    script = Path(args[0]).resolve()
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    return shlex.join(["python", shown, *args[1:]])


def update_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section `name` of RESULTS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else _TITLE
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def write_section(name: str, title: str, corpus: str, table: str) -> None:
    """Section `name` of RESULTS.md: title, the command that ran, the machine, what was run
    (`corpus`), the table."""
    body = [f"## {title}", f"Command: `{command_line()}`.", machine_line(machine()), corpus, table]
    update_section(name, "\n\n".join(body))


def synthetic_corpus(size: str) -> Path:
    """The JSONL of the synthetic corpus of `size` (10k, 100k, 1m); exits saying how to make it
    when it is missing."""
    corpus = HERE / "data" / f"synthetic-{size.lower()}" / "articles.jsonl"
    if not corpus.exists():
        raise SystemExit(f"{corpus} not found: python benchmarks/make_corpus.py --size {size}")
    return corpus


def rss_mib(pid: int | str = "self") -> float:
    """The resident set of a process (default: this one) in MiB (0 where /proc/PID/statm does
    not exist: another system, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def children_rss_mib() -> float:
    """The largest resident set among this process's children (its worker processes) in MiB; 0
    when it has none (or where /proc does not say)."""
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
    except OSError:
        return 0.0
    return max((rss_mib(child) for child in children), default=0.0)


def warm_up() -> None:
    """Report on the scenario fixtures, untimed: numba compiles the kernels on the first run on a
    machine (or loads them from its cache), which is no step of a corpus's report."""
    from dedup import detect, read_articles

    detect(read_articles([HERE.parent / "fixtures" / "scenarios"]).articles)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)
