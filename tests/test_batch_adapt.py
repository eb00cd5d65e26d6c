"""Batch rows refused for the shape of their request are adapted as a live run adapts: a row
refused for ``response_format`` falls back json_schema -> json_object -> prompt, a row refused
for one parameter (a reasoning model that takes ``max_completion_tokens``) has it renamed, and
the article goes into a new batch in the learnt shape; the user is told once per adaptation,
never once per article. What was learnt holds for the endpoint and model in later commands,
and each batch's answers are read in the mode its requests were sent in.

The refusals are OpenAI's own words (``tests/data/providers/openai__400_max_tokens_unsupported``;
the fake server's ``unsupported_response_format`` fault)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from batch_support import FAST, invoke, records, run_args, server_requests

from pipeline import builtin
from pipeline.server import BatchConfig, FakeOpenAIServer, ResponderError, ServerConfig

REPO = Path(__file__).resolve().parent.parent
#: a model no table knows: what it takes is learnt from its refusals
REASONER = "acme-reasoner-7"


def no_max_tokens(body: dict[str, Any]) -> dict[str, Any]:
    """A reasoning model's server: ``max_tokens`` refused as OpenAI refuses it."""
    if "max_tokens" in body:
        raise ResponderError(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            status=400,
            param="max_tokens",
            code="unsupported_parameter",
        )
    return builtin.chat_completion({**body, "max_tokens": body.get("max_completion_tokens")})


def server(**config: Any) -> FakeOpenAIServer:
    responder = config.pop("responder", None)
    return FakeOpenAIServer(ServerConfig(batch=BatchConfig(**FAST), **config), responder=responder)


def adaptation_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "learnt from batch rows" in line]


def test_a_batch_row_refused_for_json_schema_falls_back_to_json_object() -> None:
    # failed before the fix: every article failed http_error "response_format ... not supported"
    with server(reject_json_schema=True) as srv:
        done = invoke(*run_args(srv))
        assert done.exit_code == 0, done.output
        recs = records(done.output)
        assert [r["status"] for r in recs] == ["ok"] * 21
        assert {r["mode"] for r in recs} == {"json_object"}
        assert srv.batches.created == 2  # the refused batch, then one in the learnt mode
        assert srv.stats.chat_requests == 0  # nothing asked live
        lines = adaptation_lines(done.output)
        assert len(lines) == 1, lines  # one line for the adaptation, not one per article
        assert "json_schema" in lines[0] and "json_object" in lines[0]


def test_a_server_without_json_mode_gets_prompt_mode_batches() -> None:
    with server(reject_json_object=True) as srv:
        done = invoke(*run_args(srv))
        assert done.exit_code == 0, done.output
        recs = records(done.output)
        assert [r["status"] for r in recs] == ["ok"] * 21
        assert {r["mode"] for r in recs} == {"prompt"}
        assert srv.batches.created == 3
        assert len(adaptation_lines(done.output)) == 2


def test_a_reasoning_model_without_json_schema_learns_both_in_batch_rows() -> None:
    with server(reject_json_schema=True, responder=no_max_tokens) as srv:
        done = invoke(*run_args(srv, "--model", REASONER))
        assert done.exit_code == 0, done.output
        recs = records(done.output)
        assert [r["status"] for r in recs] == ["ok"] * 21
        lines = adaptation_lines(done.output)
        assert len(lines) == 2, lines
        assert any("max_completion_tokens" in line for line in lines)
        # the last batch carried both adaptations
        last = srv.batches.files
        bodies = [
            json.loads(line)["body"]
            for f in last._files.values()
            if f.purpose == "batch"
            for line in f.path.read_text().splitlines()
        ]
        final = bodies[-1]
        assert "max_completion_tokens" in final and "max_tokens" not in final
        assert final["response_format"]["type"] == "json_object"
        # and what was learnt holds for the next command on this endpoint and model
        created = srv.batches.created
        again = invoke(*run_args(srv, "--model", REASONER, "--force"))
        assert again.exit_code == 0, again.output
        assert srv.batches.created == created + 1  # no refused batch this time
        assert adaptation_lines(again.output) == []


def test_collect_in_a_new_process_reads_answers_in_the_mode_they_were_asked_in(
    tmp_path: Path,
) -> None:
    # the first command learns prompt mode and submits a batch in it, then is killed while it
    # downloads the answers; the collect that follows reads those (fenced) answers as
    # prompt-mode answers: no re-ask
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}  # one home
    with server(reject_json_object=True) as srv:
        srv.add_rule(lambda b: "response_format" not in b, "fenced_json")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *run_args(srv), "-q"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def wait_for(cond: Any) -> None:  # bounded by the run itself: it ends if cond never holds
            while not cond():
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.005)

        def second_answered() -> bool:  # the json_object batch: every row refused
            if srv.batches.created < 2:
                return False
            second = list(srv.batches._batches)[1]
            counts = srv.batches.batch(second)["request_counts"]
            return bool(counts["total"]) and counts["failed"] == counts["total"]

        wait_for(second_answered)
        srv.config.batch.request_s = 1e9  # the prompt-mode batch stays in progress
        wait_for(lambda: srv.batches.created == 3)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        srv.config.batch.request_s = 0.5
        srv.batches.advance_clock(1e4)  # well within its 24-hour window
        collected = invoke("batch", "collect", "--base-url", srv.base_url, "--poll-interval", "0")
        assert collected.exit_code == 0, collected.output
        recs = records(collected.output)
        assert [r["status"] for r in recs] == ["ok"] * 21, collected.output
        assert {r["mode"] for r in recs} == {"prompt"}
        assert all(r["attempts"] == 1 for r in recs)
        assert not server_requests(srv, "POST", "/chat/completions")  # no re-ask was needed
