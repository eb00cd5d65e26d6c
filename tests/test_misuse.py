"""Misuse gets a one-line usage error (exit 2) that names the fix, never a wrong result: a prompt
used by the wrong command, an empty or malformed version, a prompt file the prompt-file schema
rejects, a YAML file that does not parse; and a local server needs no key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.client import is_local, resolve_endpoint
from pipeline.server import FakeOpenAIServer

REPO = Path(__file__).resolve().parent.parent
SEED = str(REPO / "seeds" / "000_8155cee7efb7811f.txt")
ARTICLE = "The council approved the budget on Monday, the mayor said. Schools get 4 percent more."


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert result.stdout == "" and "Traceback" not in result.output
    assert lines[0].startswith("summarise: error: ")
    return lines[0]


@pytest.fixture
def mine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's own prompt folder (SUMMARISE_PROMPTS), empty."""
    d = tmp_path / "mine"
    (d / "summarise").mkdir(parents=True)
    monkeypatch.setenv("SUMMARISE_PROMPTS", str(d))
    return d


def draft(mine: Path, old: str, new: str, *, name: str = "summarise") -> Path:
    text = (REPO / "prompts" / "summarise" / "v2.yaml").read_text(encoding="utf-8")
    text = text.replace("version: v2", "version: v3").replace("name: summarise", f"name: {name}")
    assert old in text, old
    path = mine / name / "v3.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- a prompt is for one command ------------------------------------------------------------


def test_run_refuses_a_judge_prompt_and_names_the_judge_command() -> None:
    line = one_line_error(invoke("run", SEED, "--prompt", "judge@v1"))
    assert "judge@v1 is a judge prompt" in line
    assert "`summarise judge FILE --prompt judge@v1`" in line


def test_compare_refuses_a_judge_prompt() -> None:
    line = one_line_error(invoke("compare", "summarise@v1", "judge@v1", SEED))
    assert "judge@v1 is a judge prompt" in line and "summarise judge" in line


def test_a_declared_kind_must_match_the_templates(mine: Path) -> None:
    path = draft(mine, "schema: summary.v1", "kind: judge\nschema: summary.v1")
    line = one_line_error(invoke("run", SEED, "--prompt", "summarise@v3"))
    assert str(path) in line and "a judge prompt must put the summary" in line


def test_an_unknown_template_slot_is_an_error(mine: Path) -> None:
    path = draft(mine, "Date: {{date}}", "Date: {{when}}")
    line = one_line_error(invoke("run", SEED, "--prompt", "summarise@v3"))
    assert str(path) in line and "unknown template slot(s) {{when}}" in line


def test_a_judge_prompt_of_the_users_own_is_taken_by_judge_only(mine: Path, tmp_path: Path) -> None:
    judge = (REPO / "prompts" / "judge" / "v2.yaml").read_text(encoding="utf-8")
    assert "kind: judge" in judge
    (mine / "strict-judge").mkdir()
    (mine / "strict-judge" / "v1.yaml").write_text(
        judge.replace("name: judge", "name: strict-judge").replace("version: v2", "version: v1"),
        encoding="utf-8",
    )
    line = one_line_error(invoke("run", SEED, "--prompt", "strict-judge@v1"))
    assert "strict-judge@v1 is a judge prompt" in line
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"source": ARTICLE, "summary": "The budget passed."}) + "\n")
    result = invoke("judge", str(pairs), "--prompt", "strict-judge@v1")
    assert result.exit_code == 0, result.output


# --- references -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "fragments"),
    [
        ("summarise@", ["no version after '@' in 'summarise@'", "summarise@v1", "leave out"]),
        ("summarise@2", ["bad version '2'", "written v1, v2"]),
        ("summarise@latest", ["bad version 'latest'"]),
        ("sum marise@v1", ["bad prompt name 'sum marise'", "NAME@VERSION"]),
    ],
)
def test_malformed_prompt_references_are_refused(ref: str, fragments: list[str]) -> None:
    line = one_line_error(invoke("run", SEED, "--prompt", ref))
    for fragment in fragments:
        assert fragment in line


# --- prompt files are checked against their own schema ----------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        (
            "temperature: 0",
            "temperature: hot",
            ["parameters.temperature (line 16)", "'hot' is not of type 'number'"],
        ),
        (
            "max_output_tokens: 2500",
            "max_output_tokens: -1",
            ["parameters.max_output_tokens (line 17)", "-1 is less than the minimum of 1"],
        ),
        (
            "temperature: 0",
            "temperature: 0\n  top_k: 5",
            ["parameters.top_k (line 17)", "unknown key(s) top_k"],
        ),
        (
            "schema: summary.v1",
            "schema: summary.v1\ntone: warm",
            ["tone (line 15)", "unknown key(s) tone"],
        ),
        (
            "schema: summary.v1",
            "schema: summary.v1\nkind: headline",
            ["kind (line 15)", "'headline' is not one of summarise, judge"],
        ),
    ],
    ids=["temperature-hot", "negative-budget", "unknown-parameter", "unknown-key", "unknown-kind"],
)
def test_a_prompt_file_the_schema_rejects_is_exit_2_naming_file_line_and_field(
    mine: Path, old: str, new: str, fragments: list[str]
) -> None:
    path = draft(mine, old, new)
    line = one_line_error(invoke("run", SEED, "--prompt", "summarise@v3"))
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line
    # the same check guards prompts show and releasing
    assert invoke("prompts", "show", "summarise@v3").exit_code == 2
    assert invoke("prompts", "lock").exit_code == 2
    assert not (mine / "lock").exists()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "name: summarise\nversion: v3\n  bad: indent\n",
            ["line 3, column 6", "mapping values are not allowed here"],
        ),
        ("name: [unclosed\n", ["line 2, column 1"]),
        ("name: summarise\nuser: {{article}}\n", ["line 2, column 8", "found unhashable key"]),
    ],
)
def test_yaml_errors_are_one_line_naming_the_file_and_line(
    mine: Path, text: str, fragments: list[str]
) -> None:
    path = mine / "summarise" / "v3.yaml"
    path.write_text(text, encoding="utf-8")
    line = one_line_error(invoke("run", SEED, "--prompt", "summarise@v3"))
    assert f"{path}, line" in line and "not valid YAML" in line
    assert "<byte string>" not in line and "<unicode string>" not in line
    for fragment in fragments:
        assert fragment in line


def test_a_prices_file_yaml_error_is_one_line_naming_the_file(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  gpt-x: {input: 1, output: 2\n", encoding="utf-8")
    line = one_line_error(
        invoke("compare", "summarise@v1", "summarise@v2", SEED, "--prices", str(prices))
    )
    assert f"{prices}, line 3" in line and "<unicode string>" not in line


# --- a local server needs no key -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:11434/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://192.168.1.20:1234/v1", True),
        ("http://10.0.0.5/v1", True),
        ("http://172.16.3.4/v1", True),
        ("http://ollama.localhost/v1", True),
        ("https://api.openai.com/v1", False),
        ("https://8.8.8.8/v1", False),
        ("https://myresource.openai.azure.com/openai", False),
        ("http://172.32.0.1/v1", False),
    ],
)
def test_is_local(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_a_local_base_url_needs_no_key_and_a_remote_one_does() -> None:
    ep = resolve_endpoint(base_url="http://localhost:11434/v1", model="llama3", env={})
    assert (ep.model, ep.base_url, ep.api_key) == ("llama3", "http://localhost:11434/v1", None)
    ep = resolve_endpoint(env={"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"})
    assert ep.base_url == "http://127.0.0.1:8000/v1" and not ep.is_builtin
    line = one_line_error(invoke("run", SEED, "--base-url", "https://llm.example.com/v1"))
    assert "no API key for https://llm.example.com/v1" in line and "OPENAI_API_KEY" in line


def test_run_against_a_server_on_loopback_without_a_key() -> None:
    with FakeOpenAIServer() as server:
        result = invoke(
            "run", "-", "--base-url", server.base_url, "--model", "local-model", "-q", input=ARTICLE
        )
        seen = server.stats.snapshot()
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["status"], record["model"]) == ("ok", "local-model")
    assert seen["chat_requests"] >= 1


def test_a_broken_cassette_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    tape = tmp_path / "run.yaml"
    tape.write_text("interactions:\n- request: {body: '{}'\n  uri: x\n", encoding="utf-8")
    line = one_line_error(invoke("run", SEED, "--replay", str(tape)))
    assert f"cannot read cassette: {tape}, line" in line
    assert "<unicode string>" not in line and "<byte string>" not in line
