"""What the batch-mode tests share: a fake server whose Batch API runs on a fast simulated
clock, the CLI invoked through its real entry point, and reading the store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.server import BatchConfig, FakeOpenAIServer, ServerConfig

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
MODEL = "gpt-4o-mini"
#: fast enough that a 21-article batch ends in a few hundred milliseconds of real time
FAST = {"time_scale": 200.0, "validating_s": 2.0, "request_s": 0.5, "finalizing_s": 2.0}


@contextmanager
def batch_server(**batch: Any) -> Iterator[FakeOpenAIServer]:
    cfg = ServerConfig(batch=BatchConfig(**{**FAST, **batch}))
    with FakeOpenAIServer(cfg) as srv:
        yield srv


def run_args(
    srv: FakeOpenAIServer, *extra: str, paths: tuple[str, ...] = (str(SEEDS),)
) -> list[str]:
    return [
        "run",
        *paths,
        "--batch",
        "--base-url",
        srv.base_url,
        "--model",
        MODEL,
        "--poll-interval",
        "0.01",
        *extra,
    ]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def db_path(home: Path) -> Path:
    return home / "summarise.db"


def query(home: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(db_path(home))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def server_requests(srv: FakeOpenAIServer, method: str, prefix: str) -> list[Any]:
    return [
        r for r in srv.stats.records() if r.method == method and r.path.startswith("/v1" + prefix)
    ]


def input_lines(srv: FakeOpenAIServer) -> list[dict[str, Any]]:
    """Every request line the server received in batch input files, in order."""
    out = []
    for f in sorted(srv.batches.files._files.values(), key=lambda f: f.id):
        if f.purpose == "batch":
            out += [json.loads(x) for x in f.path.read_text().splitlines() if x]
    return out
