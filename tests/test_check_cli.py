"""`dedup index add/remove/stats` and `dedup check` in process (CliRunner: exit code, stdout and
stderr apart), plus the issue's "done when" through the installed command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.index import FORMAT_VERSION
from tests.conftest import FIXTURES, ROOT
from tests.test_index import GUARDIAN, KIM_EYES_TITLE, corrupt, digest

SEED = FIXTURES / "seed"
SAME_EVENT = FIXTURES / "scenarios" / "same_event"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def asian(runner: CliRunner, tmp_path: Path) -> Path:
    """An index of the seven Asian Lite articles (ids relative to fixtures/seed)."""
    path = tmp_path / "asian.sqlite"
    articles = tmp_path / "asian.jsonl"
    seed = [json.loads(line) for line in (FIXTURES / "seed.jsonl").read_text().splitlines()]
    articles.write_text(
        "".join(json.dumps(r) + "\n" for r in seed if r["outlet"] == "asianlite"),
        encoding="utf-8",
    )
    result = runner.invoke(main, ["index", "add", str(articles), "--index", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_index_add_summarises_on_stderr(runner, tmp_path):
    path = tmp_path / "archive.sqlite"
    result = runner.invoke(main, ["index", "add", str(SEED), "--index", str(path)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "8 added, 0 replaced, 0 unchanged, 0 skipped" in result.stderr
    assert "holds 8 articles" in result.stderr
    again = runner.invoke(main, ["index", "add", str(SEED), "--index", str(path)])
    assert "0 added, 0 replaced, 8 unchanged" in again.stderr


def test_index_add_lists_inputs_it_could_not_read(runner, tmp_path):
    path = tmp_path / "archive.sqlite"
    result = runner.invoke(
        main, ["index", "add", str(FIXTURES / "malformed"), "--index", str(path), "-q"]
    )
    assert result.exit_code == 0
    assert "skipped: " in result.stderr and "binary" in result.stderr
    strict = runner.invoke(
        main, ["index", "add", str(FIXTURES / "malformed"), "--index", str(path), "--strict"]
    )
    assert strict.exit_code == 2


def test_check_flags_the_guardian_copy_and_names_the_original(runner, asian):
    result = runner.invoke(main, ["check", str(SEED / GUARDIAN), "--index", str(asian)])
    assert result.exit_code == 1, result.stderr
    assert "FLAGGED (partial)" in result.stdout
    assert KIM_EYES_TITLE in result.stdout
    assert "We have information that Kim Jong-un expects these discussions" in result.stdout


def test_check_of_an_unrelated_article_exits_0(runner, asian):
    result = runner.invoke(main, ["check", str(SAME_EVENT), "--index", str(asian)])
    assert result.exit_code == 0, result.stderr
    assert "2 articles, 0 flagged" in result.stdout
    assert "no match in the archive" in result.stdout


def test_check_json_is_the_documented_shape(runner, asian):
    result = runner.invoke(
        main, ["check", str(SEED / GUARDIAN), "--index", str(asian), "--format", "json"]
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert list(data) == ["schema", "results"] and data["schema"] == "dedup.check/1"
    (entry,) = data["results"]
    assert list(entry) == ["query", "flagged", "matches"]
    assert entry["query"] == {
        "id": "kim-jong-un-to-meet-putin-in-russia.txt",
        "title": "Kim Jong-un to meet Putin in Russia for talks on supplying weapons",
    }
    assert entry["flagged"] is True
    (match,) = entry["matches"]
    assert list(match) == [
        "id",
        "title",
        "outlet",
        "published",
        "kind",
        "jaccard",
        "containment_query",
        "containment_match",
        "cosine",
        "passages",
    ]
    assert match["id"] == "asianlite/kim-eyes-talks-with-putin-in-russia.txt"
    assert match["title"] == KIM_EYES_TITLE and match["kind"] == "partial"
    assert all(round(match[k], 4) == match[k] for k in ("jaccard", "cosine"))
    query_text = (SEED / GUARDIAN).read_text(encoding="utf-8")
    body = query_text.split("\n", 2)[2]  # the .txt reader: title line, blank line, text
    for p in match["passages"]:
        assert list(p) == ["a_start", "a_end", "b_start", "b_end", "words", "text"]
        assert body[p["a_start"] : p["a_end"]] == p["text"]


def test_against_a_folder_gives_what_the_index_gives(runner, asian):
    args = ["check", str(SEED / GUARDIAN), "--format", "json"]
    indexed = runner.invoke(main, [*args, "--index", str(asian)])
    against = runner.invoke(main, [*args, "--against", str(SEED / "asianlite")])
    assert against.exit_code == 1, against.stderr
    got, want = json.loads(against.stdout), json.loads(indexed.stdout)
    for data in (got, want):  # ids are relative to the PATH given: compare the rest
        for m in data["results"][0]["matches"]:
            m.pop("id")
            m.pop("outlet")
    assert got == want


def test_fail_on_and_window(runner, tmp_path):
    a, b = sorted(SAME_EVENT.rglob("*.txt"))
    path = tmp_path / "x.sqlite"
    assert runner.invoke(main, ["index", "add", str(a), "--index", str(path)]).exit_code == 0
    base = ["check", str(b), "--index", str(path)]
    assert runner.invoke(main, base).exit_code == 0  # same_story is below the default partial
    assert runner.invoke(main, [*base, "--fail-on", "same_story"]).exit_code == 1
    # An undated query keeps every archive article, whatever the window.
    assert runner.invoke(main, [*base, "--fail-on", "same_story", "--window", "1"]).exit_code == 1
    bad = runner.invoke(main, [*base, "--fail-on", "similar"])
    assert bad.exit_code == 2 and "similar" in bad.stderr


def test_check_needs_exactly_one_archive(runner, asian):
    neither = runner.invoke(main, ["check", str(SEED / GUARDIAN)])
    assert neither.exit_code == 2 and "either --index FILE or --against PATH" in neither.stderr
    both = runner.invoke(
        main, ["check", str(SEED / GUARDIAN), "--index", str(asian), "--against", str(SEED)]
    )
    assert both.exit_code == 2


def test_check_with_nothing_to_check_is_a_usage_error(runner, asian, tmp_path):
    result = runner.invoke(main, ["check", str(tmp_path / "missing.txt"), "--index", str(asian)])
    assert result.exit_code == 2
    assert "no article to check" in result.stderr


@pytest.mark.parametrize("kind", ["text", "truncated", "other-sqlite", "newer", "missing-table"])
def test_an_unusable_index_exits_2_naming_the_file_and_is_left_as_it_was(runner, tmp_path, kind):
    path = corrupt(tmp_path, kind)
    before = digest(path)
    for args in (
        ["check", str(SEED / GUARDIAN), "--index", str(path)],
        ["index", "stats", "--index", str(path)],
        ["index", "add", str(SEED), "--index", str(path)],
        ["index", "remove", "x", "--index", str(path)],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(f"Error: {path} ")
        assert "Traceback" not in result.stderr
    assert digest(path) == before


def test_not_an_index_message_says_what_to_do(runner, tmp_path):
    path = corrupt(tmp_path, "text")
    result = runner.invoke(main, ["index", "stats", "--index", str(path)])
    assert result.stderr == (
        f"Error: {path} is not a dedup index (file is not a database). "
        "Use a new path, or remove the file.\n"
    )


def test_a_missing_index_is_an_error_for_check_stats_and_remove(runner, tmp_path):
    path = tmp_path / "none.sqlite"
    for args in (
        ["check", str(SEED / GUARDIAN), "--index", str(path)],
        ["index", "stats", "--index", str(path)],
        ["index", "remove", "x", "--index", str(path)],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and "dedup index add PATH --index" in result.stderr
    assert not path.exists()


def test_an_index_refuses_to_be_extended_with_other_fingerprint_settings(runner, tmp_path):
    path = tmp_path / "archive.sqlite"
    assert runner.invoke(main, ["index", "add", str(SEED), "--index", str(path)]).exit_code == 0
    before = digest(path)
    result = runner.invoke(
        main, ["index", "add", str(SAME_EVENT), "--index", str(path), "--shingle-size", "4"]
    )
    assert result.exit_code == 2
    assert (
        "was built with shingle_size=5" in result.stderr and "got shingle_size=4" in result.stderr
    )
    assert digest(path) == before
    # Verification thresholds may be set per check.
    check = runner.invoke(
        main, ["check", str(SAME_EVENT), "--index", str(path), "--near-duplicate", "0.9"]
    )
    assert check.exit_code == 0, check.stderr


def test_index_remove_and_stats(runner, tmp_path):
    path = tmp_path / "archive.sqlite"
    runner.invoke(main, ["index", "add", str(SEED), "--index", str(path)])
    removed = runner.invoke(main, ["index", "remove", GUARDIAN, "nope", "--index", str(path)])
    assert removed.exit_code == 0
    assert "not in the index: nope" in removed.stderr
    assert "1 removed, 1 not found" in removed.stderr
    table = runner.invoke(main, ["index", "stats", "--index", str(path)])
    assert table.exit_code == 0
    assert "articles" in table.stdout and "7" in table.stdout and "format version" in table.stdout
    data = json.loads(
        runner.invoke(main, ["index", "stats", "--index", str(path), "--format", "json"]).stdout
    )
    assert data["schema"] == "dedup.index-stats/1"
    assert (data["articles"], data["outlets"], data["format_version"]) == (7, 1, FORMAT_VERSION)
    assert data["settings"]["shingle_size"] == 5 and data["size_bytes"] > 0
    assert data["lsh"]["copy"]["bands"] > 0


def test_the_done_when_scenario_through_the_installed_command(tmp_path):
    exe = shutil.which("dedup") or str(ROOT / ".venv" / "bin" / "dedup")

    def dedup(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], capture_output=True, text=True, check=False)

    archive = tmp_path / "archive.sqlite"
    added = dedup("index", "add", str(SEED), "--index", str(archive))
    assert added.returncode == 0 and "8 added" in added.stderr
    asian = tmp_path / "asian.sqlite"
    assert dedup("index", "add", str(SEED / "asianlite"), "--index", str(asian)).returncode == 0
    flagged = dedup("check", str(SEED / GUARDIAN), "--index", str(asian))
    assert flagged.returncode == 1, flagged.stderr
    assert KIM_EYES_TITLE in flagged.stdout
    assert "We have information that Kim Jong-un expects these discussions" in flagged.stdout
    clean = dedup("check", str(SAME_EVENT), "--index", str(asian))
    assert clean.returncode == 0, clean.stderr
    module = subprocess.run(
        [sys.executable, "-m", "dedup", "check", "--help"], capture_output=True, text=True
    )
    assert module.returncode == 0 and "--fail-on" in module.stdout


def test_a_one_shot_check_loads_neither_scikit_learn_nor_scipy_nor_datasketch(tmp_path):
    """`dedup check` starts fast: the index carries its stop words and permutations."""
    index = tmp_path / "archive.sqlite"
    assert (
        CliRunner().invoke(main, ["index", "add", str(SEED), "--index", str(index)]).exit_code == 0
    )
    code = (
        "import sys\n"
        "from dedup.cli import main\n"
        "try:\n"
        f"    main(['check', {str(SEED / GUARDIAN)!r}, '--index', {str(index)!r}, '-q'])\n"
        "except SystemExit as e:\n"
        "    heavy = [m for m in ('sklearn', 'scipy', 'datasketch', 'trafilatura') "
        "if m in sys.modules]\n"
        "    print(e.code, heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "1 []", proc.stderr


def test_index_add_hands_each_article_over_and_keeps_none():
    """`dedup index add` passes its articles through `Handover`: once the index has taken an
    article (and stored its batch), nothing else holds it, so its text can be freed."""
    import gc
    import weakref

    from dedup.cli import Handover

    class Item:
        pass

    items = [Item() for _ in range(5)]
    refs = [weakref.ref(i) for i in items]
    handover = Handover(items)
    assert len(handover) == 5 and items == []
    taken = []
    for item in handover:
        taken.append(item)
        if len(taken) == 3:
            taken.clear()  # the first three are stored and let go
            del item
            gc.collect()
            assert [r() is None for r in refs] == [True, True, True, False, False]
    assert len(taken) == 2


def test_index_add_with_its_texts_in_a_file_builds_the_same_index(runner, tmp_path, monkeypatch):
    import dedup.cli as cli
    from tests.test_index import dump

    paths = [str(SEED), str(SEED.parent / "scenarios")]
    kept, spilled = tmp_path / "kept.sqlite", tmp_path / "spilled.sqlite"
    assert runner.invoke(main, ["index", "add", *paths, "--index", str(kept)]).exit_code == 0
    monkeypatch.setattr(cli, "SPILL_TEXT", 0)
    monkeypatch.setattr(cli, "TEXT_BLOCK", 3)
    assert runner.invoke(main, ["index", "add", *paths, "--index", str(spilled)]).exit_code == 0
    assert dump(spilled) == dump(kept)


def test_index_add_hands_articles_over_with_the_texts_kept_in_a_file(monkeypatch):
    """With many texts, `dedup index add` reads them into a temporary file (as `report` does)
    and hands each article over with its text, read back a block at a time."""
    import dedup.cli as cli
    from dedup import Article
    from dedup.textstore import TextStore

    monkeypatch.setattr(cli, "TEXT_BLOCK", 2)
    store = TextStore()
    texts = [f"text number {i}" for i in range(5)]
    positions = [store.add(t) for t in texts]
    articles = [Article(id=f"a{i}", text="", outlet="o") for i in range(5)]
    handed = list(cli.Handover(list(reversed(articles)), store.take(reversed(positions))))
    assert handed == [Article(id=f"a{i}", text=texts[i], outlet="o") for i in range(5)][::-1]
