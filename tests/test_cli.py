"""The command line, in process with CliRunner, plus one smoke test of the installed `dedup`."""

import json
import shutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from dedup.cli import main
from tests.conftest import FIXTURES, ROOT


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_report_json_on_seed(runner):
    result = runner.invoke(main, ["report", str(FIXTURES / "seed"), "--format", "json", "-q"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "dedup.report/1"
    assert data["stats"]["stories"] == 1
    assert result.stderr == ""


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "html"])
def test_every_format_shows_the_seed_story(runner, fmt):
    result = runner.invoke(main, ["report", str(FIXTURES / "seed"), "--format", fmt, "-q"])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "kim-eyes-talks-with-putin-in-russia.txt" in out
    assert "kim-jong-un-to-meet-putin-in-russia.txt" in out
    if fmt != "csv":  # csv is one row per match, without passages' text
        assert "expects these discussions to continue" in out


def test_output_file(runner, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(
        main, ["report", str(FIXTURES / "seed"), "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(out.read_text())["stats"]["articles"] == 8


def test_malformed_inputs_are_skipped_and_the_rest_reported(runner):
    result = runner.invoke(main, ["report", str(FIXTURES / "malformed"), "--format", "json", "-q"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    reasons = {s["path"]: s["reason"] for s in data["skipped"]}
    assert any(p.endswith("binary.txt") and r == "not text (binary)" for p, r in reasons.items())
    assert data["stats"]["skipped"] == len(data["skipped"]) > 5
    assert data["stats"]["articles"] >= 4
    assert "skipped:" in result.stderr and "binary.txt" in result.stderr
    assert "note:" in result.stderr and "cp1252" in result.stderr


def test_strict_turns_a_skip_into_exit_2(runner):
    result = runner.invoke(main, ["report", str(FIXTURES / "malformed"), "--strict", "-q"])
    assert result.exit_code == 2
    assert "Error:" in result.stderr and "malformed" in result.stderr
    assert result.stdout == ""


def test_out_of_range_setting_is_a_usage_error(runner):
    result = runner.invoke(main, ["report", str(FIXTURES / "seed"), "--near-duplicate", "1.4"])
    assert result.exit_code == 2
    assert "near_duplicate must be in [0, 1], got 1.4" in result.stderr


def test_config_file_and_override(runner, tmp_path):
    cfg = tmp_path / "dedup.toml"
    cfg.write_text("same_story = 0.99\npartial_words = 500\npartial = 0.9\n")
    args = ["report", str(FIXTURES / "seed"), "--format", "json", "--config", str(cfg), "-q"]
    data = json.loads(runner.invoke(main, args).stdout)
    assert data["settings"]["same_story"] == 0.99 and data["stats"]["stories"] == 0
    data = json.loads(runner.invoke(main, [*args, "--same-story", "0.4"]).stdout)
    assert data["settings"]["same_story"] == 0.4 and data["stats"]["stories"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [("near_duplicate = [", "not valid TOML"), ("nearduplicate = 0.5", "unknown setting")],
)
def test_bad_config_file(runner, tmp_path, content, message):
    cfg = tmp_path / "dedup.toml"
    cfg.write_text(content)
    result = runner.invoke(main, ["report", str(FIXTURES / "seed"), "--config", str(cfg)])
    assert result.exit_code == 2
    assert message in result.stderr and str(cfg) in result.stderr


def test_jsonl_on_stdin(runner):
    lines = (FIXTURES / "seed.jsonl").read_text(encoding="utf-8")
    result = runner.invoke(main, ["report", "-", "--format", "json", "-q"], input=lines)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["stats"]["stories"] == 1


def test_missing_path_is_reported_not_fatal(runner, tmp_path):
    result = runner.invoke(main, ["report", str(tmp_path / "nope"), "--format", "json", "-q"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["stats"]["skipped"] == 1


def all_commands(group: click.Group, prefix: str = "dedup") -> list[tuple[str, click.Command]]:
    found = []
    for name, cmd in sorted(group.commands.items()):
        found.append((f"{prefix} {name}", cmd))
        if isinstance(cmd, click.Group):
            found.extend(all_commands(cmd, f"{prefix} {name}"))
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(main))
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name, command):
    assert command.help and "Example" in command.help, f"{name} needs help ending in an example"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert name in readme, f"{name} is not documented in README.md"


def test_installed_command_smoke(tmp_path):
    exe = shutil.which("dedup") or str(ROOT / ".venv" / "bin" / "dedup")
    proc = subprocess.run(
        [exe, "report", str(FIXTURES / "seed"), "--format", "json", "--no-timing"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stats"]["stories"] == 1
    module = subprocess.run(
        [sys.executable, "-m", "dedup", "--help"], capture_output=True, text=True, check=False
    )
    assert module.returncode == 0 and "report" in module.stdout


def test_program_ends_at_once_with_everything_written(runner, tmp_path):
    # (`python -m dedup` exits without freeing its objects once a command's output is written)
    args = ["report", str(FIXTURES / "scenarios"), "--format", "json", "--no-timing", "-q"]
    program = subprocess.run([sys.executable, "-m", "dedup", *args], capture_output=True)
    assert program.returncode == 0, program.stderr
    assert program.stdout == runner.invoke(main, args).stdout_bytes
    # (at once: the interpreter's exit handlers, and its teardown, never run)
    code = "import atexit, sys; atexit.register(print, 'torn down', file=sys.stderr); "
    code += f"sys.argv = ['dedup', *{args!r}]; from dedup.cli import run; run()"
    ended = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert ended.returncode == 0 and "torn down" not in ended.stderr
    assert ended.stdout.encode() == program.stdout
    out = tmp_path / "report.json"
    written = subprocess.run([sys.executable, "-m", "dedup", *args, "-o", str(out)], check=True)
    assert written.returncode == 0 and out.read_bytes() == program.stdout
    index = tmp_path / "archive.sqlite"
    add = [sys.executable, "-m", "dedup", "index", "add", str(FIXTURES / "seed")]
    added = subprocess.run([*add, "--index", str(index), "-q"], capture_output=True, text=True)
    assert added.returncode == 0 and "holds 8 articles" in added.stderr
    stats = runner.invoke(main, ["index", "stats", "--index", str(index), "--format", "json"])
    assert json.loads(stats.stdout)["articles"] == 8


def test_closed_pipe_ends_quietly():
    proc = subprocess.run(
        f"{sys.executable} -m dedup report {FIXTURES / 'seed'} --format html | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in proc.stderr
