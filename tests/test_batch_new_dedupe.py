"""``--new`` and near-duplicates with ``--batch``: the same selection and the same copies as a
live run (``tests/test_web_new_dedupe.py``), checked on what the fake server's Batch API was
sent and on the records written, through the real command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from batch_support import batch_server, input_lines, invoke, records, run_args
from web_support import FeedEntry, bbc_stories, publish, rss

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
