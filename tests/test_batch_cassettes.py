"""A whole batch flow (upload, create, polls, download) recorded into a cassette and replayed
with no server, no key and no network: through ``--record`` / ``--replay``, and from the
shipped test cassette ``cassettes/tests/test_batch_cassettes/``.

Re-record the shipped one with
``pytest tests/test_batch_cassettes.py --record-mode=rewrite`` (it is recorded from the fake
server on 127.0.0.1, so recording needs no key either)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from batch_support import MODEL, SEEDS, batch_server, invoke, records

THREE = [str(p) for p in sorted(SEEDS.glob("*.txt"))[:3]]


def test_record_then_replay_a_batch_run(tmp_path: Path) -> None:
    cassette = tmp_path / "batch.yaml"
    with batch_server() as srv:
        recorded = invoke(
            "run",
            *THREE,
            "--batch",
            "--base-url",
            srv.base_url,
            "--model",
            MODEL,
            "--poll-interval",
            "0.01",
            "--record",
            str(cassette),
        )
    assert recorded.exit_code == 0, recorded.stderr
    paths = [
        i["request"]["uri"].split("/v1", 1)[1]
        for i in yaml.safe_load(cassette.read_text())["interactions"]
    ]
    assert "/files" in paths and "/batches" in paths
    assert any(p.endswith("/content") for p in paths)
    os.environ["SUMMARISE_HOME"] = str(tmp_path / "fresh")  # nothing stored: all from the tape
    replayed = invoke("run", *THREE, "--batch", "--model", MODEL, "--replay", str(cassette))
    assert replayed.exit_code == 0, replayed.stderr
    a, b = records(recorded.stdout), records(replayed.stdout)
    assert len(a) == len(b) == 3
    for x, y in zip(a, b, strict=True):
        assert (x["summary"], x["batch_id"], x["usage"]) == (
            y["summary"],
            y["batch_id"],
            y["usage"],
        )
        assert y["status"] == "ok" and not y["cached"]


class _StandIn:
    base_url = "http://127.0.0.1:9/v1"  # nothing listens: the cassette answers first


@pytest.fixture
def batch_recorded_server(cassette: Any) -> Iterator[Any]:
    if cassette.write_protected:
        yield _StandIn()
        return
    with batch_server() as srv:
        yield srv


def test_the_shipped_batch_cassette_replays(cassette: Any, batch_recorded_server: Any) -> None:
    result = invoke(
        "run",
        *THREE,
        "--batch",
        "--base-url",
        batch_recorded_server.base_url,
        "--model",
        MODEL,
        "--poll-interval",
        "0.01",
    )
    assert result.exit_code == 0, result.stderr
    recs = records(result.stdout)
    assert [Path(r["source"]).name for r in recs] == [Path(p).name for p in THREE]
    assert all(r["status"] == "ok" and r["batch_id"].startswith("batch_") for r in recs)
    assert len({r["batch_id"] for r in recs}) == 1
    body = json.dumps(recs)
    assert "sk-" not in body
