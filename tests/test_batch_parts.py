"""Batch mode's parts: limits and what a refusal reveals, request lines and job files, the
claim that keeps an article out of two open batches, and the Batch API client's errors."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from batch_support import MODEL, SEEDS, batch_server, invoke, records, run_args

from pipeline.articles import Article
from pipeline.batch._api import BatchAPI, BatchInfo, NoBatchAPI
from pipeline.batch._limits import Limits, estimate_tokens, revealed_limit, size_code
from pipeline.batch._lines import JobWriter, custom_id, rebuild_file, request_line
from pipeline.batch._tables import Tables, article_from, article_json
from pipeline.client import Endpoint, make_client
from pipeline.prompts import load_prompt
from pipeline.store import Store


@pytest.mark.parametrize(
    ("code", "message", "current", "expected"),
    [
        (
            "token_limit_exceeded",
            "Enqueued token limit reached for gpt-4o in organization org-x. Limit: 90,000 "
            "enqueued tokens. Please try again once some in_progress batches have been "
            "completed.",
            200_000,
            90_000,
        ),
        (
            "too_many_tasks",
            "The batch has 60,000 requests; at most 50,000 requests.",
            60_000,
            50_000,
        ),
        ("file_too_large", "Files may be at most 100 MB.", 150_000_000, 100_000_000),
        ("file_too_large", "File is too large: 9000 bytes, at most 4096 bytes.", 9000, 4096),
        ("too_many_tasks", "Too many requests in this batch.", 999, 499),  # no number: halve
    ],
)
def test_a_refusal_reveals_its_limit(code: str, message: str, current: int, expected: int) -> None:
    assert revealed_limit(code, message, current=current) == expected


@pytest.mark.parametrize(
    ("errors", "code"),
    [
        ([{"code": "token_limit_exceeded", "message": "..."}], "token_limit_exceeded"),
        ([{"code": None, "message": "Enqueued token limit reached for m"}], "token_limit_exceeded"),
        ([{"code": "too_many_tasks", "message": "x"}], "too_many_tasks"),
        ([{"code": "invalid_json_line", "message": "x", "line": 3}], None),
        ([], None),
    ],
)
def test_size_failures_are_told_from_others(errors: list[dict[str, Any]], code: str | None) -> None:
    assert size_code(errors) == code


def test_limits_given_beat_learnt_beat_defaults() -> None:
    base = Limits()
    assert base.merged({}, {}) == Limits(50_000, 200 * 1024 * 1024, None)
    learnt = base.merged({"max_requests": 10, "max_tokens": 500}, {})
    assert (learnt.max_requests, learnt.max_tokens) == (10, 500)
    given = base.merged({"max_requests": 10}, {"max_requests": 20, "max_bytes": 4096})
    assert (given.max_requests, given.max_bytes) == (20, 4096)
    assert Limits(2, 4096, 100).fits(2, 4096, 100) and not Limits(2, 4096, 100).fits(3, 1, 1)


def test_request_lines_are_compact_json_with_a_stable_custom_id() -> None:
    cid = custom_id("3f2a9c0d1b7e4a55", "ab" * 32)
    assert cid == "3f2a9c0d1b7e4a55-abababababababab"
    data = request_line(cid, {"model": "m", "messages": [{"role": "user", "content": "é"}]})
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    line = json.loads(data)
    assert line == {
        "custom_id": cid,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": [{"role": "user", "content": "é"}]},
    }
    assert estimate_tokens(line["body"]) == 1


def test_an_article_survives_the_store() -> None:
    a = Article(id="x", source="s", text="t", title="T", date="2025-03-27", url="u")
    assert article_from(json.loads(article_json(a))) == a
    assert article_from({**json.loads(article_json(a)), "unknown_field": 1}) == a


def _writer(tables: Tables, folder: Path, limits: Limits, run_id: int) -> JobWriter:
    prompt = load_prompt("summarise")
    return JobWriter(
        tables,
        folder,
        limits,
        endpoint="http://x/v1",
        model=MODEL,
        prompt=prompt,
        run_id=run_id,
        first_request=lambda a: {"model": MODEL, "messages": [{"role": "user", "content": a.text}]},
    )


def _articles(n: int) -> list[Article]:
    return [Article(id=f"{i:016x}", source=f"a{i}", text=f"text {i} " * 20) for i in range(n)]


def test_the_writer_splits_jobs_at_each_limit_and_an_article_is_never_claimed_twice(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "s.db")
    tables = Tables(store)
    run_id = store.start_run("test")
    by_requests = _writer(tables, tmp_path, Limits(max_requests=4), run_id)
    for a in _articles(10):
        by_requests.add(a, "key-" + a.id)
    jobs = by_requests.close()
    assert [tables.job(j).n_requests for j in jobs] == [4, 4, 2]
    for j in jobs:
        job = tables.job(j)
        path = tmp_path / f"summarise-{job.token}.jsonl"
        assert path.stat().st_size == job.n_bytes
        assert sum(1 for _ in path.open()) == job.n_requests
        # the file can be built again, byte for byte, from what the store holds
        again = tmp_path / "again.jsonl"
        rebuild_file(tables, j, again, by_requests.first_request)
        assert again.read_bytes() == path.read_bytes()
    # the same articles again: every one is open in a batch already, nothing is claimed
    second = _writer(tables, tmp_path, Limits(), run_id)
    for a in _articles(10):
        second.add(a, "key-" + a.id)
    assert second.close() == [] and second.claimed_elsewhere == 10
    line_bytes = len(request_line("x" * 33, by_requests.first_request(_articles(1)[0])))
    by_bytes = _writer(tables, tmp_path, Limits(max_bytes=max(1024, 3 * line_bytes)), run_id)
    for a in _articles(20)[10:]:
        by_bytes.add(a, "key-" + a.id)
    assert [tables.job(j).n_requests for j in by_bytes.close()] == [3, 3, 3, 1]
    too_big = _writer(tables, tmp_path, Limits(max_tokens=5), run_id)
    too_big.add(_articles(21)[20], "key-big")
    assert too_big.close() == [] and len(too_big.too_big) == 1
    store.close()


DATA = Path(__file__).parent / "data" / "openai_batch"  # origins in its README


def test_batch_info_reads_the_documented_batch_object() -> None:
    from openai.types import Batch

    doc = json.loads((DATA / "batch_object.json").read_text())
    for obj in (doc, Batch.model_validate(doc)):
        info = BatchInfo.parse(obj)
        assert (info.status, info.total, info.completed, info.failed) == ("completed", 100, 95, 5)
        assert (info.output_file_id, info.error_file_id) == ("file-cvaTdG", "file-HOWS94")
        assert info.ended_at == 1711493163 and info.terminal
        assert info.metadata["batch_description"] == "Nightly eval job"


def test_a_quoted_real_refusal_reveals_the_enqueued_token_limit() -> None:
    message = (DATA / "token_limit_exceeded.txt").read_text()
    assert size_code([{"code": None, "message": message}]) == "token_limit_exceeded"
    assert revealed_limit("token_limit_exceeded", message, current=133_000) == 90_000


class _DocumentedFiles:
    """A Batch API whose output file holds the documented request-output line."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    async def lines(self, file_id: str) -> Any:
        for line in self._lines:
            yield line


def test_the_documented_output_line_goes_through_the_collect_path(tmp_path: Path) -> None:
    from pipeline.batch import BatchSettings
    from pipeline.batch._collect import Collector
    from pipeline.batch._context import Context
    from pipeline.batch._submit import Submitter
    from pipeline.engine import Summariser, cache_key

    row = json.loads((DATA / "request_output.jsonl").read_text())
    seed = sorted(SEEDS.glob("*.txt"))[1]
    article = Article(id="3f2a9c0d1b7e4a55", source=str(seed), text=seed.read_text(), title="A")
    keys: list[str] = []
    store = Store(tmp_path / "s.db")
    tables = Tables(store)
    prompt = load_prompt("summarise")
    with batch_server() as srv:
        endpoint = Endpoint(model=MODEL, base_url=srv.base_url, api_key="test")

        async def go() -> None:
            client = make_client(endpoint)
            summariser = Summariser(prompt, endpoint, client=client)
            key = cache_key(article.id, prompt, summariser.schema, MODEL)
            keys.append(key)
            run_id = store.start_run("test", prompt=prompt, model=MODEL)
            row["custom_id"] = custom_id(article.id, key)  # the one change: our request's id
            ctx = Context(
                tables,
                _DocumentedFiles([json.dumps(row)]),  # type: ignore[arg-type]
                BatchSettings(),
                tmp_path,
                endpoint.label,
                summarisers={(prompt.ref, MODEL): summariser},
            )
            tables.add_waits(run_id, [(0, key, article.source, article.title)])
            writer = ctx.writer(summariser, run_id)
            writer.add(article, key)
            (job_id,) = writer.close()
            info = BatchInfo(
                "batch_abc123", "completed", 1711471533, None, 1711493163, 1, 1, 0, "file-cvaTdG"
            )
            try:
                await Collector(ctx, Submitter(ctx)).collect(tables.job(job_id), info)
            finally:
                await client.close()

        asyncio.run(go())
        chat = [r for r in srv.stats.records() if r.path.endswith("/chat/completions")]
    (record,) = list(tables.iter_records(1))
    attempts = store.attempts_for(keys[0])
    # the documented answer is read as the first attempt: its text, its usage, the batch price
    assert attempts[0]["raw_output"] == "2 + 2 equals 4."
    assert (attempts[0]["prompt_tokens"], attempts[0]["completion_tokens"]) == (24, 15)
    assert (attempts[0]["origin"], attempts[0]["outcome"]) == ("batch", "schema_invalid")
    # it is not a summary: re-asked live, once, within the budget
    assert len(chat) == 1 and attempts[1]["purpose"] == "reask"
    assert record.status == "ok" and record.attempts == 2 and record.batch_id == "batch_abc123"
    # the batch's turnaround (created to completed) is the first answer's latency
    assert record.latency_ms >= (1711493163 - 1711471533) * 1000
    store.close()


def test_the_client_names_a_missing_batch_api() -> None:
    with batch_server(enabled=False) as srv:
        endpoint = Endpoint(model=MODEL, base_url=srv.base_url, api_key="test")

        async def go() -> None:
            client = make_client(endpoint)
            try:
                api = BatchAPI(client, endpoint)
                with pytest.raises(NoBatchAPI, match="has no Batch API"):
                    await api.create("file-x", "tok")
            finally:
                await client.close()

        asyncio.run(go())


def test_an_upload_refused_for_its_format_fails_every_article_with_the_reason() -> None:
    with batch_server() as srv:
        srv.batches.inject("POST", "/files", "bad_request")
        result = invoke(*run_args(srv))
    recs = records(result.stdout)
    assert result.exit_code == 1 and len(recs) == 21
    assert all(r["error"]["kind"] == "http_error" for r in recs)
    assert all("the batch file was refused" in r["error"]["message"] for r in recs)


def test_a_bad_key_stops_the_run_with_a_record_for_every_input() -> None:
    with batch_server() as srv:
        srv.batches.inject("POST", "/files", "unauthorized")
        result = invoke(*run_args(srv))
        again = invoke(*run_args(srv))  # the key fixed: the same command resumes
    assert result.exit_code == 2
    recs = records(result.stdout)
    assert len(recs) == 21 and {r["error"]["kind"] for r in recs} == {"auth"}
    assert again.exit_code == 0 and all(r["status"] == "ok" for r in records(again.stdout))


def test_collect_takes_the_endpoint_from_the_environment_and_the_store_from_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "elsewhere" / "s.db"
    with batch_server() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        sub = invoke("run", str(SEEDS), "--batch", "--no-wait", "--model", MODEL, "--db", str(db))
        assert sub.exit_code == 0, sub.stderr
        assert f"--db {db}" in sub.stderr
        nothing = invoke("batch", "collect", "--poll-interval", "0.01")  # the default store
        col = invoke("batch", "collect", "--db", str(db), "--poll-interval", "0.01")
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        wrong = invoke("batch", "collect", sub.stdout.split()[0], "--db", str(db))
    assert "nothing to collect" in nothing.stderr
    assert col.exit_code == 0 and len(records(col.stdout)) == 21
    assert wrong.exit_code == 2 and f"--base-url {srv.base_url}" in wrong.stderr
    assert not os.path.exists(Path(os.environ["SUMMARISE_HOME"]) / "batches")


def test_the_progress_display_shows_every_open_batch() -> None:
    import io

    from rich.console import Console

    from pipeline.batch import BatchEvent
    from pipeline.cli._batch import BatchProgress

    def job(i: int) -> Any:
        from pipeline.batch._tables import Job

        return Job(
            i,
            "t",
            "e",
            MODEL,
            "summarise",
            "v2",
            "s",
            1,
            "submitted",
            None,
            f"batch_{i}",
            None,
            10,
            1,
            1,
            None,
            None,
            "2026-01-01T00:00:00Z",
            None,
            None,
            None,
        )

    def info(i: int, status: str, done: int) -> BatchInfo:
        return BatchInfo(f"batch_{i}", status, 1_700_000_000, 1_700_086_400, None, 10, done, 1)

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with BatchProgress(console) as progress:
        progress(BatchEvent("status", "in_progress", job(1), info(1, "in_progress", 4)))
        progress(BatchEvent("status", "validating", job(2), info(2, "validating", 0)))
        table = progress._table()
    text = io.StringIO()
    Console(file=text, width=120).print(table)
    shown = text.getvalue()
    assert "batch_1" in shown and "in_progress" in shown and "4 / 1 / 10" in shown
    assert "batch_2" in shown and "validating" in shown
    assert "2023-11-15 22:13 UTC" in shown  # expires at
    plain = io.StringIO()
    lines = BatchProgress(Console(file=plain, width=200))
    lines(BatchEvent("status", "in_progress", job(1), info(1, "in_progress", 4)))
    lines(BatchEvent("status", "in_progress", job(1), info(1, "in_progress", 4)))  # unchanged
    lines(BatchEvent("status", "completed", job(1), info(1, "completed", 9)))
    assert plain.getvalue().splitlines() == [
        "batch batch_1: in_progress, 4 / 1 / 10 completed / failed / total",
        "batch batch_1: completed, 9 / 1 / 10 completed / failed / total",
    ]


def test_articles_waiting_on_another_endpoints_batch_name_that_endpoint() -> None:
    with batch_server() as a, batch_server() as b:
        sub = invoke(*run_args(a, "--no-wait"))
        other = invoke(*run_args(b))
        assert b.batches.created == 0  # nothing submitted twice
        done = invoke(*run_args(a))
    assert sub.exit_code == 0
    assert other.exit_code == 2 and f"pass --base-url {a.base_url}" in other.stderr
    assert done.exit_code == 0 and len(records(done.stdout)) == 21


def test_no_key_reaches_a_record_or_the_store_when_a_row_echoes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.cassettes import find_secrets
    from pipeline.server import Fault

    canary = "sk-proj-CANARYcanary0123456789abcdefABCDEF"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    texts = sorted(SEEDS.glob("*.txt"))
    marker = texts[2].read_text(encoding="utf-8").split("\n")[-2][:40]
    with batch_server() as srv:
        # a row whose 401 quotes the key whole (worse than OpenAI, which masks it)
        srv.add_rule(marker, Fault("unauthorized", message=f"Incorrect API key: {canary}"))
        result = invoke(*run_args(srv))
    failed = [r for r in records(result.stdout) if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"]["kind"] == "auth"
    assert "Incorrect API key: " in failed[0]["error"]["message"]
    assert find_secrets(result.stdout + result.stderr) == []
    db = (Path(os.environ["SUMMARISE_HOME"]) / "summarise.db").read_bytes()
    assert b"CANARY" not in db and not find_secrets(db.decode("utf-8", "replace"))
