"""The run's own secrets never reach the JSONL, the store, a cassette, a report or the
terminal, even when a server echoes them inside its answers; a base URL's credentials and
query are handled; server text cannot drive the terminal (issue 11, items 5 and 11).

The key is deliberately not key-shaped (no ``sk-``): only knowing the run's own secrets, not
a pattern, can catch it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline import builtin
from pipeline.secrets import Secrets, terminal_safe, url_secrets
from pipeline.server import FakeOpenAIServer, Fault

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
KEY = "canary-Zq8x7Vb2Lm4Np6Rt"
PASSWORD = "pw-Hq3Jt9Wc5Xy"
QUERY_KEY = "qkey-Mb7Ns2Kd8Lf"


def echoing(body: dict[str, Any]) -> dict[str, Any]:
    """The built-in model's answer with the key spliced into its text; an article holding
    FAIL-ME gets an answer that breaks the schema and quotes the key (last_output)."""
    completion = builtin.chat_completion(body)
    message = completion["choices"][0]["message"]
    if any("FAIL-ME" in str(m.get("content")) for m in body["messages"]):
        message["content"] = json.dumps({"oops": f"my key is {KEY} and {PASSWORD}"})
        return completion
    data = json.loads(message["content"])
    data["summary"] += f" (Authorization: Bearer {KEY}; basic {PASSWORD}; q {QUERY_KEY})"
    data["key_points"][0] += f" {KEY}"
    message["content"] = json.dumps(data)
    return completion


def texts_of(db: Path) -> str:
    """Every text value in every table of the store."""
    out = []
    with contextlib.closing(sqlite3.connect(db)) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for row in con.execute(f"SELECT * FROM {t}"):  # noqa: S608 - our own table names
                out.extend(str(v) for v in row if v is not None)
    return "\n".join(out)


def leaks(text: str) -> list[str]:
    b64 = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    return [s for s in (KEY, PASSWORD, QUERY_KEY, b64) if s in text]


def cli(*args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    if key:
        env["OPENAI_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for s in sorted(SEEDS.glob("*.txt"))[:2]:
        (folder / s.name).write_text(s.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "z.txt").write_text(
        "FAIL-ME. The river rose by two metres overnight after heavy rain, officials said.",
        encoding="utf-8",
    )
    return folder


def test_an_echoed_key_reaches_no_record_store_report_or_terminal(
    inputs: Path, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite"
    out = tmp_path / "out.jsonl"
    with FakeOpenAIServer(responder=echoing) as srv:
        base = (
            srv.base_url.replace("http://", f"http://alice:{PASSWORD}@") + f"?api-key={QUERY_KEY}"
        )
        run = cli(
            "run",
            str(inputs),
            "--model",
            "m",
            "--base-url",
            base,
            "--db",
            str(db),
            "--out",
            str(out),
            "--max-attempts",
            "2",
        )
        reports = {}
        for fmt in ("html", "md", "json"):
            path = tmp_path / f"report.{fmt}"
            done = cli(
                "compare",
                "summarise@v1",
                "summarise@v2",
                str(inputs),
                "--model",
                "m",
                "--base-url",
                base,
                "--db",
                str(db),
                "--format",
                fmt,
                "--out",
                str(path),
                "--max-attempts",
                "2",
            )
            assert done.returncode in (0, 1), done.stderr
            reports[fmt] = path.read_text(encoding="utf-8") + done.stderr + done.stdout
        seen = srv.stats.records()
    assert run.returncode == 1, run.stderr
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["status"] for r in records] == ["ok", "ok", "failed"]
    assert "REDACTED" in records[0]["summary"]["summary"]
    assert "REDACTED" in (records[2]["error"]["last_output"] or "")
    # the answers really held the secrets, and the request path worked with the query moved
    assert {r.path for r in seen} == {"/v1/chat/completions"}
    assert all(r.headers.get(":query") == f"api-key={QUERY_KEY}" for r in seen)
    assert leaks(out.read_text(encoding="utf-8")) == []
    assert leaks(texts_of(db)) == []
    assert leaks(run.stderr + run.stdout) == []
    for fmt, text in reports.items():
        assert leaks(text) == [], fmt


def test_url_credentials_never_reach_a_cassette(inputs: Path, tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    with FakeOpenAIServer(responder=echoing) as srv:
        base = srv.base_url.replace("http://", f"http://alice:{PASSWORD}@")
        done = cli(
            "run",
            str(inputs),
            "--model",
            "m",
            "--base-url",
            base,
            "--db",
            str(tmp_path / "db.sqlite"),
            "--record",
            str(cassette),
            "--max-attempts",
            "1",
        )
    assert done.returncode == 1, done.stderr
    text = cassette.read_text(encoding="utf-8")
    assert "chat/completions" in text and leaks(text.replace(QUERY_KEY, "")) == []


@pytest.mark.parametrize(
    "url", ["http://localhost:99999/v1", "http://[::1", "ftp://example.com/v1", "localhost:8000"]
)
def test_a_bad_base_url_is_a_usage_error(url: str) -> None:
    done = cli("run", str(SEEDS), "--model", "m", "--base-url", url, key="k" * 10)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--base-url" in lines[0] and "unexpected" not in lines[0]


def test_server_text_cannot_drive_the_terminal(inputs: Path, tmp_path: Path) -> None:
    evil = (
        f"\x1b[2J\x1b[31mbad key {KEY}\x1b[0m\r\nsummarise: done, all ok\x07 "
        "\x1b]0;title\x07\u202eevil"
    )
    with FakeOpenAIServer() as srv:
        srv.add_rule(None, Fault("unauthorized", message=evil))
        done = cli(
            "run",
            str(inputs),
            "--model",
            "m",
            "--base-url",
            srv.base_url,
            "--db",
            str(tmp_path / "db.sqlite"),
        )
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr and "\u202e" not in done.stderr
    assert not any(line.startswith("summarise: done") for line in done.stderr.splitlines()), (
        done.stderr
    )
    assert KEY not in done.stderr and "bad key" in done.stderr


def test_secrets_api() -> None:
    from pipeline.client import Endpoint

    endpoint = Endpoint(
        model="m", base_url=f"https://bob:{PASSWORD}@h.example/v1?api-key={QUERY_KEY}", api_key=KEY
    )
    s = Secrets.from_endpoint(endpoint, env={})
    b64 = base64.b64encode(f"bob:{PASSWORD}".encode()).decode()
    text = f"{KEY} {PASSWORD} {QUERY_KEY} {b64} bob:{PASSWORD}"
    assert leaks(s.scrub(text)) == [] and PASSWORD not in s.scrub(text)
    assert s.scrub_data({"a": [KEY, {"b": KEY}]}) == {"a": ["REDACTED", {"b": "REDACTED"}]}
    assert url_secrets("https://h/v1?api-version=2024-10-21") == ()  # not a secret
    assert terminal_safe("a\x1b[31mb\r\nc\x00d") == "ab cd"
