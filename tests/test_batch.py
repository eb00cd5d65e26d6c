"""Batch mode end to end: ``summarise run --batch``, ``--no-wait`` and ``summarise batch
...`` against the fake server's Batch API, through the real command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from batch_support import (
    MODEL,
    SEEDS,
    batch_server,
    input_lines,
    invoke,
    query,
    records,
    run_args,
    server_requests,
)


def home() -> Path:
    return Path(os.environ["SUMMARISE_HOME"])


def test_a_batch_run_gives_the_records_a_live_run_gives() -> None:
    with batch_server() as srv:
        live = invoke("run", str(SEEDS), "--base-url", srv.base_url, "--model", MODEL)
        live_bodies = [r.body for r in server_requests(srv, "POST", "/chat/completions")]
        os.environ["SUMMARISE_HOME"] = str(home() / "other")  # a fresh store
        batched = invoke(*run_args(srv))
        lines = input_lines(srv)
    assert live.exit_code == 0 and batched.exit_code == 0, batched.stderr
    a, b = records(live.stdout), records(batched.stdout)
    assert len(a) == len(b) == 21
    # the same inputs in the same order, the same validated summaries and checks
    assert [r["source"] for r in a] == [r["source"] for r in b]
    assert [r["summary"] for r in a] == [r["summary"] for r in b]
    assert [r["checks"] for r in a] == [r["checks"] for r in b]
    assert [r["usage"] for r in a] == [r["usage"] for r in b]
    assert all(r["status"] == "ok" and r["batch_id"] for r in b)
    assert all(r["batch_id"] is None for r in a)
    # the same tokens at the Batch API's price: half
    for x, y in zip(a, b, strict=True):
        assert x["cost_usd"] > 0 and y["cost_usd"] == pytest.approx(x["cost_usd"] / 2)
    origins = query(home(), "SELECT DISTINCT origin, purpose, status_code FROM attempts")
    assert origins == [("batch", "first", 200)]
    assert len({r["batch_id"] for r in b}) == 1
    # each line's body is exactly the request the live run sent for an article (the live
    # requests arrive in whatever order the concurrent run sends them)
    canon = [json.dumps(x, sort_keys=True) for x in (line["body"] for line in lines)]
    assert sorted(canon) == sorted(json.dumps(x, sort_keys=True) for x in live_bodies)
    assert [line["url"] for line in lines] == ["/v1/chat/completions"] * 21
    assert len({line["custom_id"] for line in lines}) == 21
    assert "collected batch" in batched.stderr


def test_a_second_run_is_served_from_the_store_and_submits_nothing() -> None:
    with batch_server() as srv:
        first = invoke(*run_args(srv))
        second = invoke(*run_args(srv))
        assert srv.batches.created == 1
    assert first.exit_code == second.exit_code == 0
    assert all(r["cached"] for r in records(second.stdout))
    assert [r["summary"] for r in records(first.stdout)] == [
        r["summary"] for r in records(second.stdout)
    ]


def test_no_wait_submits_then_batch_collect_writes_the_records(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with batch_server() as srv:
        sub = invoke(*run_args(srv, "--no-wait", "--out", str(out)))
        assert sub.exit_code == 0, sub.stderr
        batch_ids = sub.stdout.split()
        assert len(batch_ids) == 1 and batch_ids[0].startswith("batch_")
        assert f"summarise batch collect --base-url {srv.base_url} --out {out}" in sub.stderr
        assert not out.exists() or out.read_text() == ""
        listed = invoke("batch", "list")
        status = invoke("batch", "status", batch_ids[0], "--base-url", srv.base_url)
        col = invoke(
            "batch",
            "collect",
            "--base-url",
            srv.base_url,
            "--out",
            str(out),
            "--poll-interval",
            "0.01",
        )
        again = invoke("batch", "collect", "--base-url", srv.base_url)
    assert batch_ids[0] in listed.stdout and "summarise@v2" in listed.stdout
    assert status.exit_code == 0 and batch_ids[0] in status.stdout
    assert col.exit_code == 0, col.stderr
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 21 and all(r["batch_id"] == batch_ids[0] for r in recs)
    assert [r["source"] for r in recs] == sorted(r["source"] for r in recs)  # input order
    assert again.exit_code == 0 and "nothing to collect" in again.stderr


def test_batches_are_split_by_the_request_limit() -> None:
    with batch_server() as srv:
        result = invoke(*run_args(srv, "--batch-max-requests", "8"))
        sizes = [b.obj["request_counts"]["total"] for b in srv.batches._batches.values()]
    assert result.exit_code == 0
    assert sorted(sizes) == [5, 8, 8]
    recs = records(result.stdout)
    assert len(recs) == 21 and len({r["batch_id"] for r in recs}) == 3


def test_a_too_many_tasks_failure_is_split_and_the_limit_remembered() -> None:
    with batch_server(max_requests=10) as srv:
        result = invoke(*run_args(srv))
        statuses = sorted(b.obj["status"] for b in srv.batches._batches.values())
        learnt = query(home(), "SELECT name, value FROM batch_limits")
        again = invoke(*run_args(srv, "--force"))
        statuses_after = sorted(b.obj["status"] for b in srv.batches._batches.values())
    assert result.exit_code == 0, result.stderr
    assert statuses == ["completed", "completed", "completed", "failed"]
    assert learnt == [("max_requests", 10)]
    assert "max requests is 10" in result.stderr
    assert all(r["status"] == "ok" for r in records(result.stdout))
    # the next run knows: no batch fails again
    assert again.exit_code == 0 and statuses_after.count("failed") == 1


def test_the_enqueued_token_limit_is_learnt_and_batches_wait_for_room() -> None:
    with batch_server(enqueued_token_limit=12_000) as srv:
        result = invoke(*run_args(srv))
        batches = list(srv.batches._batches.values())
    assert result.exit_code == 0, result.stderr
    failed = [b for b in batches if b.obj["status"] == "failed"]
    assert len(failed) == 1 and failed[0].obj["errors"]["data"][0]["code"] == "token_limit_exceeded"
    assert all(b.tokens <= 12_000 for b in batches if b.obj["status"] == "completed")
    assert len(records(result.stdout)) == 21
    assert all(r["status"] == "ok" for r in records(result.stdout))
    assert query(home(), "SELECT name, value FROM batch_limits") == [("max_tokens", 12_000)]


def test_an_upload_refused_for_its_size_is_split() -> None:
    with batch_server(max_file_bytes=60_000) as srv:
        result = invoke(*run_args(srv))
        sizes = [f.bytes for f in srv.batches.files._files.values() if f.purpose == "batch"]
    assert result.exit_code == 0, result.stderr
    assert sizes and max(sizes) <= 60_000
    assert query(home(), "SELECT name, value FROM batch_limits") == [("max_bytes", 60_000)]
    assert all(r["status"] == "ok" for r in records(result.stdout))


def test_an_expired_batch_keeps_its_answers_and_resubmits_the_rest() -> None:
    with batch_server() as srv:
        srv.batches.next_batch(expire_after=5)
        result = invoke(*run_args(srv))
        ids = [b.obj["id"] for b in sorted(srv.batches._batches.values(), key=lambda b: b.order)]
    assert result.exit_code == 0, result.stderr
    recs = records(result.stdout)
    assert [r["batch_id"] for r in recs] == [ids[0]] * 5 + [ids[1]] * 16
    assert all(r["status"] == "ok" for r in recs)


def test_an_article_that_expires_in_every_batch_fails_with_its_reason() -> None:
    with batch_server() as srv:
        for _ in range(3):
            srv.batches.next_batch(expire_after=0)
        result = invoke(*run_args(srv, "--batch-max-requests", "50"))
        created = srv.batches.created
    assert result.exit_code == 1
    recs = records(result.stdout)
    assert created == 3 and len(recs) == 21
    assert {r["error"]["kind"] for r in recs} == {"timeout"}
    assert "gave up after 3 batches" in recs[0]["error"]["message"]


def test_error_rows_are_resubmitted_failed_or_re_asked_online() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir())}
    names = sorted(texts)
    marker = {n: texts[n].split("\n")[-2][:40] for n in names[1:4]}  # a line from each body
    with batch_server() as srv:
        srv.add_rule(marker[names[1]], "server_error", times=1)  # passing: another batch
        srv.add_rule(marker[names[2]], "bad_request")  # the provider refuses it: failed
        srv.add_rule(marker[names[3]], "schema_invalid", times=1)  # re-asked online
        result = invoke(*run_args(srv))
        chat = len(server_requests(srv, "POST", "/chat/completions"))
        created = srv.batches.created
    recs = {Path(r["source"]).name: r for r in records(result.stdout)}
    assert result.exit_code == 1
    assert created == 2
    assert (
        recs[names[1]]["status"] == "ok"
        and recs[names[1]]["batch_id"] != recs[names[0]]["batch_id"]
    )
    assert recs[names[2]]["status"] == "failed"
    assert recs[names[2]]["error"]["kind"] == "http_error"
    assert "HTTP 400" in recs[names[2]]["error"]["message"]
    assert recs[names[3]]["status"] == "ok" and recs[names[3]]["attempts"] == 2
    assert chat == 1  # the one re-ask went live
    reasked = query(
        home(),
        "SELECT origin, purpose, outcome FROM attempts WHERE article_id=? ORDER BY id",
        recs[names[3]]["article_id"],
    )
    assert reasked == [("batch", "first", "schema_invalid"), ("live", "reask", "ok")]
    assert sum(r["status"] == "ok" for r in recs.values()) == 20


def test_cancel_then_collect_fails_what_was_not_answered() -> None:
    with batch_server(request_s=50.0) as srv:
        sub = invoke(*run_args(srv, "--no-wait"))
        batch_id = sub.stdout.split()[0]
        srv.batches.advance_clock(60.0)  # validated, one request answered
        cancelled = invoke("batch", "cancel", batch_id, "--base-url", srv.base_url)
        col = invoke(
            "batch", "collect", batch_id, "--base-url", srv.base_url, "--poll-interval", "0.01"
        )
    assert cancelled.exit_code == 0 and "cancelling" in cancelled.stdout
    assert col.exit_code == 1
    recs = records(col.stdout)
    assert len(recs) == 21
    ok = [r for r in recs if r["status"] == "ok"]
    assert 1 <= len(ok) < 21
    failed = [r for r in recs if r["status"] == "failed"]
    assert all("was cancelled before this request ran" in r["error"]["message"] for r in failed)


def test_a_batch_failed_on_named_lines_fails_those_and_resubmits_the_rest() -> None:
    with batch_server() as srv:
        srv.batches.next_batch(
            fail=[{"code": "invalid_request", "message": "this line is odd", "line": 2}]
        )
        result = invoke(*run_args(srv))
    recs = records(result.stdout)
    assert result.exit_code == 1
    assert recs[1]["status"] == "failed" and "this line is odd" in recs[1]["error"]["message"]
    assert sum(r["status"] == "ok" for r in recs) == 20


def test_a_batch_failed_for_no_named_line_fails_every_article() -> None:
    with batch_server() as srv:
        srv.batches.next_batch(fail=[{"code": "model_not_found", "message": "no such model"}])
        result = invoke(*run_args(srv))
    recs = records(result.stdout)
    assert result.exit_code == 1 and len(recs) == 21
    assert all("model_not_found: no such model" in r["error"]["message"] for r in recs)


def test_a_provider_without_a_batch_api_is_a_clear_exit_2() -> None:
    with batch_server(enabled=False) as srv:
        result = invoke(*run_args(srv))
    assert result.exit_code == 2
    assert "has no Batch API" in result.stderr and "run without --batch" in result.stderr
    assert "Traceback" not in result.output
    open_jobs = query(home(), "SELECT COUNT(*) FROM batch_jobs WHERE state NOT IN ('abandoned')")
    assert open_jobs == [(0,)]


def test_the_builtin_model_has_no_batch_api() -> None:
    result = invoke("run", str(SEEDS), "--batch")
    assert result.exit_code == 2 and "built-in model has no Batch API" in result.stderr


def test_no_wait_needs_batch() -> None:
    result = invoke("run", str(SEEDS), "--no-wait")
    assert result.exit_code == 2 and "--no-wait needs --batch" in result.stderr


@pytest.mark.parametrize("fault", ["repeat", "stranger"])
def test_odd_output_lines_are_skipped_never_matched(fault: str) -> None:
    with batch_server() as srv:
        srv.batches.inject("GET", "/files/*/content", fault)
        result = invoke(*run_args(srv))
    recs = records(result.stdout)
    assert result.exit_code == 0 and len(recs) == 21
    assert all(r["status"] == "ok" for r in recs)
    assert "not the answer to use" not in result.stdout
    expected = "repeating a custom_id" if fault == "repeat" else "unknown custom_id"
    assert expected in result.stderr


def test_a_truncated_download_is_read_again() -> None:
    with batch_server() as srv:
        srv.batches.inject("GET", "/files/*/content", "truncate")
        result = invoke(*run_args(srv))
        downloads = len(server_requests(srv, "GET", "/files/"))
        created = srv.batches.created
    assert result.exit_code == 0, result.stderr
    assert created == 1 and downloads == 2
    assert len(records(result.stdout)) == 21 and "trying again" in result.stderr


def test_a_short_download_resubmits_what_it_lacks() -> None:
    with batch_server() as srv:
        srv.batches.inject("GET", "/files/*/content", "short")
        result = invoke(*run_args(srv))
        created = srv.batches.created
    recs = records(result.stdout)
    assert result.exit_code == 0 and created == 2
    assert len({r["batch_id"] for r in recs}) == 2 and all(r["status"] == "ok" for r in recs)


def test_status_requests_are_spaced_and_retry_after_is_honoured() -> None:
    with batch_server(time_scale=20.0) as srv:
        srv.batches.inject("GET", "/batches/*", "rate_limit", retry_after_s=1)
        result = invoke(*run_args(srv)[:-2], "--poll-interval", "0.2")
        polls = server_requests(srv, "GET", "/batches/")
    assert result.exit_code == 0
    gaps = [b.t - a.t for a, b in zip(polls, polls[1:], strict=False)]
    assert polls[0].status == 429
    assert gaps[0] >= 1.0  # the retry-after
    assert all(g >= 0.19 for g in gaps)  # never closer than --poll-interval


def test_compare_batch_submits_both_versions_before_waiting() -> None:
    with batch_server() as srv:
        result = invoke(
            "compare",
            "summarise@v1",
            "summarise@v2",
            str(SEEDS),
            "--batch",
            "--base-url",
            srv.base_url,
            "--model",
            MODEL,
            "--poll-interval",
            "0.01",
            "--format",
            "json",
        )
        calls = [(r.method, r.path) for r in srv.stats.records() if "/batches" in r.path]
    assert result.exit_code == 0, result.stderr
    creates = [i for i, c in enumerate(calls) if c == ("POST", "/v1/batches")]
    polls = [i for i, c in enumerate(calls) if c[0] == "GET"]
    assert len(creates) == 2 and max(creates) < min(polls)
    report = json.loads(result.stdout)
    assert report["baseline"] == "summarise@v1"
    assert [v["label"] for v in report["versions"]] == ["summarise@v1", "summarise@v2"]
    assert len(report["articles"]) == 21
