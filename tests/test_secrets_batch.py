"""Batch mode keeps the run's secrets out of the store and the records, as a live run does.

A Batch API answer that echoes the key (in a valid summary, and in one that breaks the schema
and is re-asked live) used to reach the JSONL and the attempts table: batch mode wrote to the
store without :class:`pipeline.secrets.ScrubbingStore`. The same end-to-end check as
``tests/test_secrets_run.py``, through ``summarise run --batch``.
"""

from __future__ import annotations

import json
from pathlib import Path

from batch_support import FAST
from test_secrets_run import PASSWORD, QUERY_KEY, cli, echoing, inputs, leaks, texts_of

from pipeline.server import BatchConfig, FakeOpenAIServer, ServerConfig

__all__ = ["inputs"]  # the fixture, shared with test_secrets_run


def test_an_echoed_key_in_batch_answers_reaches_no_record_store_or_terminal(
    inputs: Path, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite"
    out = tmp_path / "out.jsonl"
    config = ServerConfig(batch=BatchConfig(**FAST))
    with FakeOpenAIServer(config, responder=echoing) as srv:
        base = (
            srv.base_url.replace("http://", f"http://alice:{PASSWORD}@") + f"?api-key={QUERY_KEY}"
        )
        done = cli(
            "run",
            str(inputs),
            "--batch",
            "--poll-interval",
            "0.01",
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
        paths = {r.path for r in srv.stats.records()}
    assert done.returncode == 1, done.stderr
    assert "/v1/batches" in paths and "/v1/chat/completions" in paths  # a live re-ask too
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["status"] for r in records] == ["ok", "ok", "failed"]
    assert all(r["batch_id"] for r in records)
    # the answers really held the secrets
    assert "REDACTED" in records[0]["summary"]["summary"]
    assert "REDACTED" in (records[2]["error"]["last_output"] or "")
    assert leaks(out.read_text(encoding="utf-8")) == []
    assert leaks(texts_of(db)) == []
    assert leaks(done.stderr + done.stdout) == []
