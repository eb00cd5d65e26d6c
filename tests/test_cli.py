"""The command line through its real entry point: exit codes, messages, records.

Every test runs with its own ``SUMMARISE_HOME`` and no ``OPENAI_*`` variables (conftest.py), so
the store starts empty and the model is the built-in one unless a test says otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pipeline import prompts
from pipeline.cli import cli
from pipeline.schemas import load_schema

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
MIXED = REPO / "tests" / "data" / "core" / "mixed"
SCHEMA = load_schema("summary.v1")


def invoke(*args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def records(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def one_line_error(result: Result) -> str:
    """The error message; asserts it is one line and no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


@pytest.fixture
def pdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the released summarise prompts (never the repository's)."""
    d = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts" / "summarise", d / "summarise")
    lock = prompts.read_lock(REPO / "prompts")
    prompts.write_lock({k: v for k, v in lock.items() if k.startswith("summarise@")}, d)
    monkeypatch.setenv("SUMMARISE_PROMPTS", str(d))
    return d


def add_draft(pdir: Path, version: str = "v3") -> Path:
    text = (pdir / "summarise" / "v2.yaml").read_text(encoding="utf-8")
    path = pdir / "summarise" / f"{version}.yaml"
    path.write_text(text.replace("version: v2", f"version: {version}"), encoding="utf-8")
    return path


# --- summarise run -----------------------------------------------------------------------------


def test_run_seeds_then_run_again_from_the_store(_isolated_home: Path) -> None:
    seed_files = sorted(p for p in SEEDS.iterdir() if p.is_file())
    result = invoke("run", str(SEEDS))
    assert result.exit_code == 0, result.output
    first = records(result)
    assert [Path(r["source"]).name for r in first] == [p.name for p in seed_files]
    for r in first:
        assert (r["status"], r["model"], r["cached"], r["error"]) == ("ok", "builtin", False, None)
        assert r["schema"] == "summary.v1"
        assert r["prompt"] == "summarise"
        assert SCHEMA.errors(r["summary"]) == [], r["source"]
        assert r["attempts"] == 1
    assert "note:" not in result.stderr  # the newest summarise version is released
    assert (_isolated_home / "summarise.db").is_file()

    again = invoke("run", str(SEEDS))
    assert again.exit_code == 0, again.output
    second = records(again)
    assert [r["cached"] for r in second] == [True] * len(seed_files)
    assert [r["summary"] for r in second] == [r["summary"] for r in first]
    assert [r["source"] for r in second] == [r["source"] for r in first]


def test_run_with_an_explicit_version_and_out_file(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "out.jsonl"
    seed = SEEDS / "001_bbc_business_069.txt"
    result = invoke("run", str(seed), "--prompt", "summarise@v1", "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    (r,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (r["prompt_version"], r["status"], r["source"]) == ("v1", "ok", str(seed))
    assert all(f["source"] is None for f in r["summary"]["figures"])


def test_run_with_a_db_flag(tmp_path: Path, _isolated_home: Path) -> None:
    db = tmp_path / "elsewhere" / "x.db"
    result = invoke("run", str(SEEDS / "007_bbc_sport_480.txt"), "--db", str(db), "-q")
    assert result.exit_code == 0, result.output
    assert db.is_file()
    assert not (_isolated_home / "summarise.db").exists()


def test_force_asks_again() -> None:
    seed = str(SEEDS / "008_bbc_sport_115.txt")
    assert invoke("run", seed, "-q").exit_code == 0
    assert [r["cached"] for r in records(invoke("run", seed, "-q"))] == [True]
    assert [r["cached"] for r in records(invoke("run", seed, "-q", "--force"))] == [False]


def test_bad_inputs_fail_their_own_records_and_exit_1() -> None:
    result = invoke("run", str(MIXED), "-q")
    assert result.exit_code == 1, result.output
    got = {Path(r["source"]).name: r for r in records(result)}
    assert list(got) == [
        "a_good.txt",
        "b_empty.txt",
        "c_binary.txt",
        "d_lines.jsonl:1",
        "d_lines.jsonl:2",
        "d_lines.jsonl:3",
    ]
    for name in ("a_good.txt", "d_lines.jsonl:1", "d_lines.jsonl:3"):
        assert got[name]["status"] == "ok", got[name]
        assert SCHEMA.errors(got[name]["summary"]) == []
    for name, fragment in [
        ("b_empty.txt", "file is empty"),
        ("c_binary.txt", "binary file"),
        ("d_lines.jsonl:2", "line is not valid JSON"),
    ]:
        r = got[name]
        assert (r["status"], r["summary"]) == ("failed", None)
        assert r["error"]["kind"] == "bad_input"
        assert r["error"]["message"].startswith(str(MIXED / name) + ": ")
        assert fragment in r["error"]["message"]
    assert "Traceback" not in result.output


def test_summary_table_reports_failures_by_kind() -> None:
    result = invoke("run", str(MIXED))
    assert result.exit_code == 1
    assert "failures by kind: bad_input: 3" in result.stderr


def test_too_long_article_fails_too_long(tmp_path: Path) -> None:
    from pipeline import extractive

    big = tmp_path / "big.txt"
    sentence = "The council met again on Monday to discuss the budget. "
    big.write_text(sentence * (extractive.MAX_ARTICLE_CHARS // len(sentence) + 5), "utf-8")
    result = invoke("run", str(big), "-q")
    assert result.exit_code == 1
    (r,) = records(result)
    assert r["error"]["kind"] == "too_long"
    assert "split the article" in r["error"]["message"]


@pytest.mark.parametrize(
    ("stdin", "sources"),
    [
        ("Heavy rain raised rivers across the county on Monday, officials said.\n", ["-"]),
        (
            '{"text": "Heavy rain raised rivers across the county on Monday, officials said."}\n'
            '{"text": "The library reopened on Saturday after a refurbishment costing 4m."}\n',
            ["-:1", "-:2"],
        ),
    ],
    ids=["text", "jsonl"],
)
def test_run_reads_stdin(stdin: str, sources: list[str]) -> None:
    result = invoke("run", "-", "-q", input=stdin)
    assert result.exit_code == 0, result.output
    got = records(result)
    assert [r["source"] for r in got] == sources
    assert all(r["status"] == "ok" for r in got)


def test_a_draft_prompt_runs_with_a_note(pdir: Path) -> None:
    add_draft(pdir)
    result = invoke("run", str(SEEDS / "007_bbc_sport_480.txt"), "-q")
    assert result.exit_code == 0, result.output
    assert "note: summarise@v3 is an unreleased draft" in result.stderr
    assert records(result)[0]["prompt_version"] == "v3"


# --- usage and configuration errors: exit 2, one line naming the fix ---------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "no/such/path"], ["summarise: error: no such file or folder: no/such/path"]),
        (
            ["run", str(SEEDS), "--prompt", "nope"],
            ["unknown prompt 'nope'", "known: ", "summarise prompts list"],
        ),
        (
            ["run", str(SEEDS), "--prompt", "summarise@v9"],
            ["unknown version summarise@v9", "known: v1, v2", "summarise prompts list"],
        ),
        (
            ["run", str(SEEDS), "--model", "gpt-4o-mini"],
            ["no API key", "OPENAI_API_KEY", "--model builtin"],
        ),
        (
            ["run", str(SEEDS), "--base-url", "https://llm.example.com/v1", "--model", "llama3"],
            ["no API key for https://llm.example.com/v1", "OPENAI_API_KEY"],
        ),
        (
            ["run", str(SEEDS), "--replay", "missing.yaml"],
            ["no cassette at missing.yaml", "--record missing.yaml"],
        ),
        (
            ["prompts", "show", "summarise@v7"],
            ["unknown version summarise@v7", "known: v1, v2"],
        ),
    ],
    ids=["path", "prompt", "version", "no-key", "no-key-base-url", "no-cassette", "show"],
)
def test_configuration_errors_exit_2_with_one_line(
    args: list[str], fragments: list[str], pdir: Path
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert line.startswith("summarise: error: ")
    for fragment in fragments:
        assert fragment in line


def test_no_records_are_written_before_a_configuration_error(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = invoke("run", str(SEEDS), "--model", "gpt-4o-mini", "--out", str(out))
    assert result.exit_code == 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--concurrency", "0"], "--concurrency"),
        (["--concurrency", "many"], "--concurrency"),
        (["--max-attempts", "0"], "--max-attempts"),
        (["--rpm", "0"], "--rpm"),
        (["--timeout", "-1"], "--timeout"),
        (["--no-such-flag"], "--no-such-flag"),
    ],
)
def test_bad_flags_exit_2(args: list[str], fragment: str) -> None:
    result = invoke("run", str(SEEDS), *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_edited_locked_prompt_exits_2_naming_the_fix(pdir: Path) -> None:
    v2 = pdir / "summarise" / "v2.yaml"
    v2.write_text(v2.read_text(encoding="utf-8").replace("careful", "thorough"), "utf-8")
    result = invoke("run", str(SEEDS))
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "was edited after summarise@v2 was released" in line
    assert "v3.yaml" in line and "summarise prompts lock" in line


# --- summarise prompts -------------------------------------------------------------------------


def test_prompts_list(pdir: Path) -> None:
    add_draft(pdir)
    v1 = pdir / "summarise" / "v1.yaml"
    v1.write_text(v1.read_text(encoding="utf-8") + "# edit\n", encoding="utf-8")
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["prompts", "list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if "summarise@" in line}
    assert list(rows) == ["summarise@v1", "summarise@v2", "summarise@v3"]
    assert "EDITED" in rows["summarise@v1"]
    assert "released" in rows["summarise@v2"]
    assert "draft" in rows["summarise@v3"]
    assert prompts.load_prompt("summarise@v2", pdir).sha256[:12] in rows["summarise@v2"]


def test_prompts_show(pdir: Path) -> None:
    result = invoke("prompts", "show", "summarise@v1")
    assert result.exit_code == 0
    assert result.stdout == (pdir / "summarise" / "v1.yaml").read_text(encoding="utf-8")


def test_prompts_diff(pdir: Path) -> None:
    result = invoke("prompts", "diff", "summarise@v1", "summarise@v2")
    assert result.exit_code == 0
    assert result.stdout.startswith("--- summarise@v1\n+++ summarise@v2\n")
    assert "-version: v1" in result.stdout and "+version: v2" in result.stdout


def test_prompts_lock_check_passes_on_the_released_files(pdir: Path) -> None:
    result = invoke("prompts", "lock", "--check")
    assert result.exit_code == 0, result.output
    # the two in the user's folder (copies of the built-in ones) and the four built-in ones
    assert "ok: 6 released version(s) match their lock" in result.stdout


def test_prompts_lock_check_reports_drafts_and_edits(pdir: Path) -> None:
    add_draft(pdir)
    v1 = pdir / "summarise" / "v1.yaml"
    v1.write_text(v1.read_text(encoding="utf-8") + "# edit\n", encoding="utf-8")
    before = (pdir / "lock").read_bytes()
    result = invoke("prompts", "lock", "--check")
    assert result.exit_code == 2
    assert "summarise@v3 is not released: run `summarise prompts lock`" in result.stderr
    assert "was edited after summarise@v1 was released" in result.stderr
    assert (pdir / "lock").read_bytes() == before


def test_prompts_lock_releases_drafts(pdir: Path) -> None:
    add_draft(pdir)
    result = invoke("prompts", "lock")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"released summarise@v3 in {pdir / 'lock'}\n"
    assert invoke("prompts", "lock", "--check").exit_code == 0
    assert "summarise@v3" in prompts.read_lock(pdir)


# --- the installed entry point -----------------------------------------------------------------


def test_python_dash_m_pipeline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["SUMMARISE_HOME"] = str(tmp_path / "home")
    article = "Heavy rain raised rivers across the county on Monday, officials said."
    ok = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "-", "-q"],
        input=article,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    (r,) = [json.loads(line) for line in ok.stdout.splitlines()]
    assert (r["source"], r["status"], r["model"]) == ("-", "ok", "builtin")

    missing = subprocess.run(
        [sys.executable, "-m", "pipeline", "run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.strip() == (
        "summarise: error: no such file or folder: seeds "
        "(the default is seeds/ in the project folder)"
    )


def test_a_reader_that_goes_away_ends_the_run_quietly(tmp_path: Path) -> None:
    """``summarise run seeds | head -1``: no traceback and no "unexpected" error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["SUMMARISE_HOME"] = str(tmp_path / "home")
    # two copies of the seeds: far more output than a pipe buffer holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(SEEDS), str(SEEDS), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert first["status"] == "ok"
    assert stderr == ""
