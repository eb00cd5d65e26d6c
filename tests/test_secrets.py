"""No secret reaches a file, a log or a report.

A run is recorded through the real command line with canary secrets everywhere they can come
from: the key (``OPENAI_API_KEY``), the organisation and project ids (``OPENAI_ORG_ID`` /
``OPENAI_PROJECT_ID``, which the SDK sends as headers), and a server that answers with them in
response headers (``openai-organization``, ``openai-project``, ``set-cookie``, an account
header) and names the organisation in a 429 body. Then no canary may appear in the cassette,
the SQLite files (raw bytes, ``-wal`` and ``-shm`` too), the JSONL output, stdout/stderr or a
``summarise compare`` report. A second check scans every shipped cassette for anything
key-like.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.cassettes import find_secrets
from pipeline.server import FakeOpenAIServer, Fault, ServerConfig

REPO = Path(__file__).resolve().parent.parent
CANARY = "CANARY"  # every canary holds it, so even a partial leak is caught
KEY = "sk-CANARYkey0123456789abcdefghij"
WRONG_KEY = "sk-CANARYwrong0123456789abcdefgh"
ORG = "org-CANARYorg0123456789abcdefg"
PROJECT = "proj_CANARYproj0123456789abcdef"
SERVER_CANARIES = {
    "openai-organization": ORG,
    "openai-project": PROJECT,
    "set-cookie": "__cf_bm=CANARYcookie0123456789; path=/; HttpOnly",
    "x-account-id": "acct_CANARYaccount0123456789",
}
ARTICLE = (
    "Flood barriers were raised along the River Severn on Tuesday after two days of heavy "
    "rain, the Environment Agency said. The agency issued 14 flood warnings for towns between "
    "Shrewsbury and Gloucester and urged residents to move valuables upstairs. Water levels at "
    "Bewdley reached 4.2 metres by midday, close to the record set in 2000, according to the "
    "agency's gauges. Local councils opened three rest centres for people leaving their homes. "
    "'We expect the river to peak on Wednesday morning,' said Sarah Jones, a flood duty manager."
)


def _articles(folder: Path, n: int = 3) -> Path:
    folder.mkdir()
    for i, day in enumerate(["Tuesday", "Monday", "Friday", "Sunday"][:n]):
        text = ARTICLE.replace("Tuesday", day)
        (folder / f"{i}.txt").write_text(f"Severn floods on {day}\n\n{text}\n", encoding="utf-8")
    return folder


def _summarise(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real entry point, in its own process: its stdout and stderr are the log."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _bodies(cassette: Path) -> str:
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    return "\n".join(str(it["response"]["body"]["string"]) for it in data["interactions"])


def _leaks(name: str, data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace")
    found = [f"{name}: holds {CANARY!r}"] if CANARY.encode() in data else []
    found += [f"{name}: key-like {s!r}" for s in find_secrets(text)]
    return found


@pytest.fixture
def canary_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(
        SUMMARISE_HOME=str(tmp_path / "home"),
        OPENAI_API_KEY=KEY,
        OPENAI_ORG_ID=ORG,
        OPENAI_PROJECT_ID=PROJECT,
        PYTHONPATH=str(REPO),
    )
    return env


def test_no_canary_reaches_a_cassette_the_store_the_output_the_log_or_a_report(
    tmp_path: Path, canary_env: dict[str, str]
) -> None:
    folder = _articles(tmp_path / "articles")
    db = tmp_path / "store" / "summarise.db"
    artefacts: dict[str, bytes] = {}
    config = ServerConfig(require_api_key=KEY, canary_headers=SERVER_CANARIES)
    with FakeOpenAIServer(config) as server:
        common = ["--prompt", "summarise@v2", "--model", "builtin", "--base-url", server.base_url]
        # 1. a recorded run: a 429 naming the organisation, retried, then every article ok
        server.enqueue(Fault("rate_limit", retry_after_s=0.05))
        ran = _summarise(
            ["run", str(folder), *common, "--db", str(db), "--concurrency", "1"]
            + ["--record", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "run.jsonl")],
            canary_env,
            tmp_path,
        )
        assert ran.returncode == 0, ran.stderr
        assert server.stats.by_status[429] == 1
        # 2. a wrong key: 401 (OpenAI's body shows the key masked), the run stops
        bad = _summarise(
            ["run", str(folder), *common, "--db", str(db), "--force"]
            + ["--record", str(tmp_path / "401.yaml"), "--out", str(tmp_path / "401.jsonl")],
            {**canary_env, "OPENAI_API_KEY": WRONG_KEY},
            tmp_path,
        )
        assert bad.returncode == 2, bad.stderr
        stopped = [json.loads(x) for x in (tmp_path / "401.jsonl").read_text().splitlines()]
        assert {r["error"]["kind"] for r in stopped} == {"auth"}
        # 3. a comparison report, with one article failing on an error that names the org
        server.add_rule(
            "Monday", Fault("bad_request", message=f"Request refused for organization {ORG}.")
        )
        report = tmp_path / "report.html"
        compared = _summarise(
            ["compare", "summarise@v1", "summarise@v2", str(folder), "--db", str(db)]
            + ["--model", "builtin", "--base-url", server.base_url, "--force"]
            + ["--format", "html", "--out", str(report)],
            canary_env,
            tmp_path,
        )
        assert compared.returncode == 0, compared.stderr
        # the canaries were really on the wire, both ways
        sent = [r.headers for r in server.stats.records() if r.path.endswith("/completions")]
        assert all(h.get("openai-organization") == ORG for h in sent)
        assert all(h.get("openai-project") == PROJECT for h in sent)
        assert {h.get("authorization") for h in sent} == {f"Bearer {KEY}", f"Bearer {WRONG_KEY}"}
    for proc, name in ((ran, "run"), (bad, "401 run"), (compared, "compare")):
        artefacts[f"{name} stdout"] = proc.stdout.encode()
        artefacts[f"{name} stderr"] = proc.stderr.encode()
    assert "in organization org-REDACTED on requests" in _bodies(tmp_path / "run.yaml")
    assert "Incorrect API key provided: sk-REDACTED." in _bodies(tmp_path / "401.yaml")
    files = ["run.yaml", "401.yaml", "run.jsonl", "401.jsonl", "report.html"]
    files += [f"store/summarise.db{suffix}" for suffix in ("", "-wal", "-shm")]
    for name in files:
        if (tmp_path / name).exists():
            artefacts[name] = (tmp_path / name).read_bytes()
    assert {"run.yaml", "401.yaml", "store/summarise.db", "report.html"} <= set(artefacts)
    store = b"".join(v for k, v in artefacts.items() if k.startswith("store/"))
    assert b"Request refused for organization org-REDACTED" in store  # kept, redacted
    assert b"in organization org-REDACTED on requests" in store
    leaks = [leak for name, data in artefacts.items() for leak in _leaks(name, data)]
    assert leaks == []


# --- every cassette in the repository ------------------------------------------------------------


def _body_text(body: Any, headers: dict[str, Any]) -> str:
    """A recorded body as text: base64 (``!!binary``) and gzip undone, as a replay would."""
    raw = body.get("string") if isinstance(body, dict) else body
    if raw is None:
        return ""
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    encoding = {k.lower(): v for k, v in (headers or {}).items()}.get("content-encoding")
    if encoding and "gzip" in str(encoding):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _interactions(path: Path) -> list[dict[str, Any]]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader) or {}
    return list(data.get("interactions") or [])


def _cassettes(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.yaml"))


SHIPPED = _cassettes(REPO / "cassettes")
COPIED = _cassettes(REPO / "tests" / "data" / "openai")
#: dummy credentials the copied cassettes' own projects used (see tests/data/openai/README.md)
PLACEHOLDERS = {"Bearer test_openai_api_key"}


def test_the_repository_holds_cassettes_to_check() -> None:
    assert any(p.parent.name == "runs" for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED + COPIED, ids=lambda p: str(p.relative_to(REPO)))
def test_no_cassette_holds_anything_key_like(path: Path) -> None:
    """Raw text, then every header and every decoded body (gzip and base64 undone)."""
    texts = [path.read_text(encoding="utf-8")]
    for it in _interactions(path):
        for side in ("request", "response"):
            part = it.get(side) or {}
            headers = part.get("headers") or {}
            texts.append(json.dumps(headers))
            body = part.get("body", part.get("content"))
            texts.append(_body_text(body, headers))
            if side == "request":
                texts.append(str(part.get("uri", "")))
    found = sorted({s for text in texts for s in find_secrets(text)} - PLACEHOLDERS)
    assert found == [], f"{path.relative_to(REPO)} holds key-like strings: {found}"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (REPO / "cassettes").rglob("*") if p.is_file() and p.suffix != ".yaml"),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_nothing_else_under_cassettes_holds_anything_key_like(path: Path) -> None:
    """The folder's README and any other file: even a documented dummy key must not look real."""
    found = find_secrets(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.relative_to(REPO)} holds key-like strings: {found}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_cassettes_keep_no_identifying_headers(path: Path) -> None:
    for it in _interactions(path):
        request = {k.lower() for k in (it["request"].get("headers") or {})}
        response = {k.lower() for k in (it["response"].get("headers") or {})}
        assert request <= {"content-type", "accept", "accept-encoding"}
        assert not response & {
            "openai-organization",
            "openai-project",
            "set-cookie",
            "content-encoding",
        }


def test_the_key_scan_would_catch_a_leak() -> None:
    b64 = base64.b64encode(gzip.compress(f"token {KEY}".encode())).decode()
    body = {"string": base64.b64decode(b64)}
    assert find_secrets(_body_text(body, {"Content-Encoding": ["gzip"]})) == [KEY]
