"""``--new`` and near-duplicates with ``--batch``: the same selection and the same copies as a
live run (``tests/test_web_new_dedupe.py``), checked on what the fake server's Batch API was
sent and on the records written, through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import batch_server, input_lines, invoke, query, records, run_args
from test_batch_resume import finish, kill9, read, seen, spawn, until
from web_support import FeedEntry, Story, bbc_stories, copy_of, publish, rss

from pipeline.server import FakeOpenAIServer
from pipeline.web._site import LocalSite

T0 = 1_740_000_000.0


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


def sent(srv: FakeOpenAIServer) -> list[str]:
    """The body of every request line the server received in a batch file, as text."""
    return [json.dumps(line["body"], ensure_ascii=False) for line in input_lines(srv)]


def home() -> Path:
    return Path(os.environ["SUMMARISE_HOME"])


def batch_run(srv: FakeOpenAIServer, *urls: str, extra: tuple[str, ...] = ()) -> Any:
    return invoke(*run_args(srv, "--quiet", *extra, paths=urls))


# -- --new ---------------------------------------------------------------------------------------


def test_new_with_batch_submits_and_prints_only_the_new_stories(site: LocalSite) -> None:
    stories = bbc_stories()
    day1 = [
        FeedEntry(s.title, publish(site, f"/s{n}", s, "Wire"), T0 - n)
        for n, s in enumerate(stories[:3])
    ]
    site.add("/feed", rss(day1), content_type="application/rss+xml", conditional=True)
    with batch_server() as srv:
        first = batch_run(srv, site.url("/feed"), extra=("--new",))
        assert first.exit_code == 0, first.stderr
        assert [r["title"] for r in records(first.stdout)] == [s.title for s in stories[:3]]
        assert all(r["batch_id"] for r in records(first.stdout))
        assert (srv.batches.created, len(sent(srv))) == (1, 3)

        # the same feed again: nothing submitted, nothing printed, exit 0, no page fetched
        site.reset_counts()
        again = batch_run(srv, site.url("/feed"), extra=("--new",))
        assert (again.exit_code, records(again.stdout)) == (0, []), again.stderr
        assert srv.batches.created == 1
        assert not any(h.path.startswith("/s") for h in site.hits)

        # the next day: two new entries above the old ones (one old address with tracking
        # parameters: not new); only the new ones are sent and printed
        day2 = [
            FeedEntry(stories[3].title, publish(site, "/s3", stories[3], "Wire"), T0 + 2),
            FeedEntry(stories[4].title, publish(site, "/s4", stories[4], "Wire"), T0 + 1),
            FeedEntry(stories[0].title, site.url("/s0") + "?utm_source=rss", T0 + 0.5),
            *day1,
        ]
        site.add("/feed", rss(day2), content_type="application/rss+xml", conditional=True)
        third = batch_run(srv, site.url("/feed"), extra=("--new",))
        assert third.exit_code == 0, third.stderr
        assert [r["title"] for r in records(third.stdout)] == [stories[3].title, stories[4].title]
        assert (srv.batches.created, len(sent(srv))) == (2, 5)


def test_new_with_batch_knows_what_a_live_run_summarised(site: LocalSite) -> None:
    stories = bbc_stories()
    known = publish(site, "/known", stories[5], "Wire")
    fresh = publish(site, "/fresh", stories[6], "Wire")
    with batch_server() as srv:
        live = invoke(*[a for a in run_args(srv, paths=(known,)) if a != "--batch"])
        assert live.exit_code == 0, live.stderr
        moved = publish(site, "/moved", stories[5], "Wire")  # the same text at a new address
        result = batch_run(srv, known, moved, fresh, extra=("--new",))
        assert result.exit_code == 0, result.stderr
        assert [r["url"] for r in records(result.stdout)] == [fresh]
        assert len(sent(srv)) == 1 and stories[6].paragraphs[0][:60] in sent(srv)[0]


def test_new_with_batch_and_no_wait_then_collect(site: LocalSite) -> None:
    stories = bbc_stories()
    urls = [publish(site, f"/n{n}", s, "Wire") for n, s in enumerate(stories[:2])]
    with batch_server() as srv:
        sub = batch_run(srv, *urls, extra=("--new", "--no-wait"))
        assert sub.exit_code == 0, sub.stderr
        col = invoke("batch", "collect", "--base-url", srv.base_url, "--poll-interval", "0.01")
        assert col.exit_code == 0, col.stderr
        assert [r["url"] for r in records(col.stdout)] == urls
        # collected: nothing of it is new any more
        again = batch_run(srv, *urls, extra=("--new", "--no-wait"))
        assert again.exit_code == 0 and again.stdout.split() == []
        assert srv.batches.created == 1


# -- near-duplicates -------------------------------------------------------------------------------

#: fields a record's copy takes from the run, not from the story (they differ run to run)
RUN_FIELDS = ("batch_id", "created_at", "latency_ms", "cost_usd", "usage", "attempts")


def wire_and_copies(site: LocalSite, n: int = 0) -> list[str]:
    """A wire story, another story, and two outlets' copies of the wire story."""
    stories = bbc_stories()
    wire = stories[n]
    return [
        publish(site, "/wire", wire, "Wire"),
        publish(site, "/other", stories[n + 1], "Other"),
        publish(site, "/daily", copy_of(wire, outlet="Daily Example"), "Daily Example"),
        publish(site, "/evening", copy_of(wire, outlet="Evening Example"), "Evening Example"),
    ]


def test_a_copy_is_not_sent_and_gets_the_first_copys_summary(
    site: LocalSite, tmp_path: Path
) -> None:
    urls = wire_and_copies(site)
    with batch_server() as srv:
        result = batch_run(srv, *urls)
        lines = sent(srv)
        live = invoke(
            *[a for a in run_args(srv, paths=tuple(urls)) if a != "--batch"],
            "--db",
            str(tmp_path / "live.db"),
        )
    assert result.exit_code == 0 and live.exit_code == 0, result.stderr
    # two requests: the wire story and the other story; no copy reached the batch file
    assert len(lines) == 2 and srv.batches.created == 1
    assert not any("Example staff" in line for line in lines)
    recs = records(result.stdout)
    assert [r["url"] for r in recs] == urls  # one record per input, in input order
    first = recs[0]
    assert first["duplicate_of"] is None and first["batch_id"] and first["attempts"] == 1
    for copy in recs[2:]:
        assert copy["duplicate_of"] == first["article_id"] != copy["article_id"]
        assert copy["summary"] == first["summary"]
        assert (copy["attempts"], copy["usage"]["prompt_tokens"], copy["cost_usd"]) == (0, 0, 0)
        assert copy["cached"] is False and copy["site_name"] != first["site_name"]
    # the records a live run writes for the same inputs, but for what the run itself sets
    for b, a in zip(recs, records(live.stdout), strict=True):
        assert {k: v for k, v in b.items() if k not in RUN_FIELDS} == {
            k: v for k, v in a.items() if k not in RUN_FIELDS
        }
        assert (b["attempts"], b["cost_usd"] == 0) == (a["attempts"], a["cost_usd"] == 0)
    # a copy's record is stored as a live run stores it: under dup: + its own cache key
    keys = query(home(), "SELECT position, cache_key FROM results ORDER BY position")
    assert [k.startswith("dup:") for _, k in keys] == [False, False, True, True]


def test_no_dedupe_sends_every_copy(site: LocalSite) -> None:
    urls = wire_and_copies(site, 2)
    with batch_server() as srv:
        result = batch_run(srv, *urls, extra=("--no-dedupe",))
        lines = sent(srv)
    assert result.exit_code == 0, result.stderr
    assert len(lines) == 4 and sum("Example staff" in line for line in lines) == 2
    recs = records(result.stdout)
    assert [r["duplicate_of"] for r in recs] == [None] * 4
    assert all(r["attempts"] == 1 and r["batch_id"] for r in recs)


def test_no_wait_then_collect_writes_the_copies_records(site: LocalSite) -> None:
    urls = wire_and_copies(site, 4)
    with batch_server() as srv:
        sub = batch_run(srv, *urls, extra=("--no-wait",))
        assert sub.exit_code == 0, sub.stderr
        assert "2 later copies of a story" in sub.stderr
        col = invoke("batch", "collect", "--base-url", srv.base_url, "--poll-interval", "0.01")
        assert len(sent(srv)) == 2
    assert col.exit_code == 0, col.stderr
    recs = records(col.stdout)
    assert [r["url"] for r in recs] == urls
    assert [r["duplicate_of"] for r in recs] == [None, None] + [recs[0]["article_id"]] * 2
    assert recs[2]["summary"] == recs[3]["summary"] == recs[0]["summary"]


def refused_first(site: LocalSite, wire: Story) -> list[str]:
    """An outlet's copy of ``wire`` first (the provider refuses it: a marker only it has,
    see ``srv.add_rule``), then ``wire`` itself."""
    return [
        publish(site, "/refused", copy_of(wire, outlet="Refused Example"), "Refused"),
        publish(site, "/wire", wire, "Wire"),
    ]


def test_a_copy_whose_first_copy_fails_is_asked_on_its_own(site: LocalSite) -> None:
    # the first in input order is an outlet's copy, which the provider refuses (a marker only
    # it has); the wire story after it is then asked itself, as a live run asks it
    urls = refused_first(site, bbc_stories()[6])
    with batch_server() as srv:
        srv.add_rule("By Refused Example staff", "bad_request")
        result = batch_run(srv, *urls)
        lines = sent(srv)
        created = srv.batches.created
    assert result.exit_code == 1, result.stderr
    recs = records(result.stdout)
    assert [r["url"] for r in recs] == urls
    assert [r["status"] for r in recs] == ["failed", "ok"]
    assert recs[1]["duplicate_of"] is None and recs[1]["batch_id"] != recs[0]["batch_id"]
    # the copy went in a batch of its own once the first had failed, not with it
    assert created == 2 and len(lines) == 2 and "Refused Example" not in lines[1]


def test_collecting_a_named_batch_sends_and_waits_for_the_copy_asked_on_its_own(
    site: LocalSite,
) -> None:
    # as above, submitted with --no-wait; `batch collect BATCH_ID` collects the refused first
    # copy, then sends the copy in a follow-up batch and waits for it, as plain collect does
    urls = refused_first(site, bbc_stories()[7])
    with batch_server() as srv:
        srv.add_rule("By Refused Example staff", "bad_request")
        sub = batch_run(srv, *urls, extra=("--no-wait",))
        assert sub.exit_code == 0, sub.stderr
        (batch_id,) = sub.stdout.split()
        col = invoke(
            "batch", "collect", batch_id, "--base-url", srv.base_url, "--poll-interval", "0.01"
        )
        created = srv.batches.created
        left = invoke("batch", "collect", "--base-url", srv.base_url, "--poll-interval", "0.01")
    assert col.exit_code == 1, col.stderr
    assert "still waits" not in col.stderr
    recs = records(col.stdout)
    assert [r["url"] for r in recs] == urls
    assert [r["status"] for r in recs] == ["failed", "ok"]
    assert recs[1]["duplicate_of"] is None and recs[1]["batch_id"] != batch_id
    assert created == 2
    # nothing was left for plain collect
    assert (left.exit_code, records(left.stdout)) == (0, []), left.stderr
    assert "nothing to collect" in left.stderr


def test_a_copy_of_a_stored_story_is_not_sent_and_not_new(site: LocalSite) -> None:
    wire = bbc_stories()[8]
    with batch_server() as srv:
        first = batch_run(srv, publish(site, "/a", wire, "Wire"))
        later_url = publish(site, "/b", copy_of(wire, outlet="Later Example"), "Later")
        later = batch_run(srv, later_url)
        newer = batch_run(
            srv,
            publish(site, "/c", copy_of(wire, outlet="Third Example"), "Third"),
            extra=("--new",),
        )
        assert srv.batches.created == 1 and len(sent(srv)) == 1
    assert first.exit_code == later.exit_code == newer.exit_code == 0, later.stderr
    (a,), (b,) = records(first.stdout), records(later.stdout)
    assert b["duplicate_of"] == a["article_id"] and b["summary"] == a["summary"]
    assert b["url"] == later_url and b["attempts"] == 0
    assert records(newer.stdout) == []  # yesterday's story at another outlet is not new


@pytest.mark.parametrize("resume", ["the same command", "batch collect"])
def test_killed_while_polling_the_copies_are_not_lost(
    site: LocalSite, tmp_path: Path, resume: str
) -> None:
    urls = wire_and_copies(site, 3)
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    with batch_server(request_s=10_000.0) as srv:  # stays in progress until the clock jumps
        proc = spawn(srv, home, out, *urls)
        until(seen(srv, "GET", "/batches/", 2), proc, "two polls")
        kill9(proc)
        srv.config.batch.request_s = 0.5
        if resume == "the same command":
            code, err = finish(srv, home, out, *urls)
        else:  # a new process that never saw the inputs: the store alone knows the copies
            env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
            env["SUMMARISE_HOME"] = str(home)
            args = ["batch", "collect", "--base-url", srv.base_url, "--out", str(out)]
            done = subprocess.run(
                [sys.executable, "-c", "from pipeline.cli import main; main()", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            code, err = done.returncode, done.stderr
        assert code == 0, err
        assert srv.batches.created == 1 and len(sent(srv)) == 2
    recs = read(out)
    assert [r["url"] for r in recs] == urls  # one record per input, in input order
    assert [r["duplicate_of"] for r in recs] == [None, None] + [recs[0]["article_id"]] * 2
    assert all(r["status"] == "ok" for r in recs)
