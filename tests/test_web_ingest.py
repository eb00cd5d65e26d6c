"""Pages and feeds from a local web site (127.0.0.1 only) to items and records: fetching,
robots.txt, the per-host limit, conditional GET, redirects, feeds and every bad input of
issue 12, through :class:`pipeline.web.WebSource` and ``summarise run``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner
from web_support import FeedEntry, article_page, atom, bbc_stories, real_page, rss

from pipeline.articles import Article, BadInput
from pipeline.cli import cli
from pipeline.web import USER_AGENT, WebOptions, WebSource
from pipeline.web._site import LocalSite

FAST = WebOptions(backoff_s=0.0, timeout_s=5.0)
T0 = 1_740_000_000.0  # entry dates, seconds


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


def items(*inputs: str, db: Path, options: WebOptions = FAST, **kw: object) -> list:
    return list(WebSource(list(inputs), options=options, db=db, **kw))  # type: ignore[arg-type]


def one(url: str, db: Path, options: WebOptions = FAST) -> Article | BadInput:
    got = items(url, db=db, options=options)
    assert len(got) == 1, got
    return got[0]


def bad(url: str, db: Path, options: WebOptions = FAST) -> str:
    item = one(url, db, options)
    assert isinstance(item, BadInput), item
    assert item.source in item.message
    return item.message


# -- pages ---------------------------------------------------------------------------------------


def test_a_page_is_one_article_with_its_metadata(site: LocalSite, tmp_path: Path) -> None:
    url = site.add("/story", real_page("slashdot-comments"), encoding="gzip")
    a = one(url, tmp_path / "s.db")
    assert isinstance(a, Article)
    assert a.source == url
    assert a.text.startswith("Elite computer science degrees are no longer")
    assert "(Score:" not in a.text
    assert a.url is not None and a.url.startswith("https://developers.slashdot.org/story/25/12/19")
    assert (a.author, a.site_name) == ("BeauHD", "Slashdot")
    (hit,) = site.requests_for("/story")
    assert hit.headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("summarise/")
    assert "br" in hit.headers["accept-encoding"] and "gzip" in hit.headers["accept-encoding"]


def test_brotli_bodies_are_decoded(site: LocalSite, tmp_path: Path) -> None:
    story = bbc_stories()[0]
    url = site.add("/br", article_page(story), encoding="br")
    a = one(url, tmp_path / "s.db")
    assert isinstance(a, Article) and a.text == story.text


@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html; charset=gbk", False),  # declared by the HTTP header only
        ("text/html", False),  # declared nowhere
        ("text/html", True),  # declared in the page (gb2312)
    ],
)
def test_pages_in_other_encodings(
    site: LocalSite, tmp_path: Path, content_type: str, meta: bool
) -> None:
    raw = real_page("sohu-gb2312")
    if not meta:
        raw = raw.replace(b"charset=gb2312", b"")
    url = site.add("/gb", raw, content_type=content_type)
    a = one(url, tmp_path / "s.db")
    assert isinstance(a, Article)
    assert "宝洁集团公关总监裴逸群显得颇为惊讶" in a.text


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"%PDF-1.7\n" + bytes(range(256)) * 8, "application/pdf", "content type application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "text/html", "binary"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, None, "binary"),
        (b'{"a": 1}', "application/json", "content type application/json"),
        (
            b"<html><body><nav><a href='/'>Home</a> <a href='/x'>News</a></nav>"
            b"<div class='paywall'><a href='/subscribe'>Subscribe to read</a></div></body></html>",
            "text/html",
            "no article text",
        ),
        (b"<?xml version='1.0'?><note><to>A</to></note>", "application/xml", "not an RSS or Atom"),
    ],
)
def test_what_is_not_an_article_page(
    site: LocalSite, tmp_path: Path, body: bytes, content_type: str | None, reason: str
) -> None:
    url = site.add("/x", body, content_type=content_type)
    assert reason in bad(url, tmp_path / "s.db")


def test_plain_text_is_read_as_a_text_file(site: LocalSite, tmp_path: Path) -> None:
    story = bbc_stories()[1]
    url = site.add("/t.txt", story.title + "\n\n" + story.text, content_type="text/plain")
    a = one(url, tmp_path / "s.db")
    assert isinstance(a, Article) and (a.title, a.text) == (story.title, story.text)


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "HTTP 404"), (410, "HTTP 410"), (403, "HTTP 403"), (401, "HTTP 401")],
)
def test_client_errors_fail_at_once(
    site: LocalSite, tmp_path: Path, status: int, reason: str
) -> None:
    url = site.add("/e", b"no", status=status)
    assert reason in bad(url, tmp_path / "s.db")
    assert len(site.requests_for("/e")) == 1  # never retried


def test_server_errors_are_retried_then_fail(site: LocalSite, tmp_path: Path) -> None:
    url = site.add("/down", b"busy", status=503)
    message = bad(url, tmp_path / "s.db", WebOptions(attempts=3, backoff_s=0.0))
    assert "HTTP 503" in message and "after 3 attempts" in message
    assert len(site.requests_for("/down")) == 3


def test_timeouts(site: LocalSite, tmp_path: Path) -> None:
    url = site.add("/slow", b"<p>late</p>", latency_s=1.0)
    message = bad(url, tmp_path / "s.db", WebOptions(timeout_s=0.1, attempts=1))
    assert "timed out" in message


def test_refused_connection(tmp_path: Path) -> None:
    with LocalSite() as gone:
        url = gone.url("/a")  # the port is free once the site has stopped
    assert "refused" in bad(url, tmp_path / "s.db", WebOptions(attempts=1))


def test_unresolvable_host(tmp_path: Path) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("[Errno -2] Name or service not known", request=request)

    source = WebSource(
        ["https://no-such-host.example/a"],
        options=FAST,
        db=tmp_path / "s.db",
        transport=httpx2.MockTransport(handler),
    )
    (item,) = list(source)
    assert isinstance(item, BadInput) and "cannot resolve the host name" in item.message


def test_size_cap_counts_decoded_bytes(site: LocalSite, tmp_path: Path) -> None:
    big = b"<html><body>" + b"<p>" + b"a" * 200_000 + b"</p></body></html>"
    plain = site.add("/big", big)
    bomb = site.add("/bomb", big, encoding="gzip")  # 200 KB that compresses to a few hundred
    options = WebOptions(max_bytes=100_000, attempts=1)
    assert "larger than" in bad(plain, tmp_path / "s.db", options)
    assert "larger than" in bad(bomb, tmp_path / "s.db", options)


# -- redirects -----------------------------------------------------------------------------------


def test_redirects_within_and_across_hosts(tmp_path: Path) -> None:
    story = bbc_stories()[2]
    with LocalSite() as a, LocalSite() as b:
        final = b.add("/story", article_page(story))
        a.redirect("/short", final, status=301)  # to another host (another port: origin)
        got = one(a.url("/short"), tmp_path / "s.db")
        assert isinstance(got, Article) and got.text == story.text
        assert got.source == a.url("/short") and got.url == final
        assert [h.path for h in b.hits] == ["/robots.txt", "/story"]  # b's robots.txt asked


def test_a_redirect_to_a_host_whose_robots_txt_disallows_is_not_followed(tmp_path: Path) -> None:
    with LocalSite() as a, LocalSite() as b:
        b.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        b.add("/private/story", article_page(bbc_stories()[0]))
        a.redirect("/go", b.url("/private/story"))
        message = bad(a.url("/go"), tmp_path / "s.db")
        assert "robots.txt" in message
        assert b.requests_for("/private/story") == []


def test_redirect_loops_and_other_schemes(site: LocalSite, tmp_path: Path) -> None:
    site.redirect("/loop1", "/loop2")
    site.redirect("/loop2", "/loop1")
    site.redirect("/ftp", "ftp://files.example/a.txt", status=302)
    assert "redirects" in bad(site.url("/loop1"), tmp_path / "s.db")
    assert "http(s) address" in bad(site.url("/ftp"), tmp_path / "s.db")


# -- robots.txt ----------------------------------------------------------------------------------


def test_robots_txt_disallow(site: LocalSite, tmp_path: Path) -> None:
    site.add(
        "/robots.txt",
        "User-agent: summarise\nDisallow: /news/\n\nUser-agent: *\nAllow: /\n",
        content_type="text/plain",
    )
    site.add("/news/a", article_page(bbc_stories()[0]))
    site.add("/blog/b", article_page(bbc_stories()[1]))
    got = items(site.url("/news/a"), site.url("/blog/b"), db=tmp_path / "s.db")
    assert isinstance(got[0], BadInput) and "disallowed by" in got[0].message
    assert isinstance(got[1], Article)
    assert site.requests_for("/news/a") == []
    assert len(site.requests_for("/robots.txt")) == 1  # once a run


def test_unreadable_robots_txt_means_nothing_is_fetched(site: LocalSite, tmp_path: Path) -> None:
    site.add("/robots.txt", b"down", status=500)
    site.add("/a", article_page(bbc_stories()[0]))
    message = bad(site.url("/a"), tmp_path / "s.db", WebOptions(attempts=2, backoff_s=0.0))
    assert "robots.txt could not be read" in message
    assert site.requests_for("/a") == []


def test_robots_txt_forbidden_disallows_all(site: LocalSite, tmp_path: Path) -> None:
    site.add("/robots.txt", b"no", status=403)
    site.add("/a", article_page(bbc_stories()[0]))
    assert "disallowed by" in bad(site.url("/a"), tmp_path / "s.db")


# -- the per-host limit --------------------------------------------------------------------------


@pytest.mark.parametrize("per_host", [4, 2])
def test_at_most_per_host_requests_at_once(tmp_path: Path, per_host: int) -> None:
    stories = bbc_stories()
    # the site holds each request until `per_host` are in flight: a client that allowed more
    # would reach more, one that allowed fewer would not reach `per_host`
    with (
        LocalSite(gate=per_host, gate_prefix="/s", gate_timeout_s=2.0) as site,
        LocalSite() as other,
    ):
        site.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        urls = [site.add(f"/s{i}", article_page(stories[i % 10])) for i in range(12)]
        urls += [other.add(f"/o{i}", article_page(stories[i % 10])) for i in range(4)]
        got = items(*urls, db=tmp_path / "s.db", options=WebOptions(per_host=per_host))
        assert all(isinstance(i, Article) for i in got)
        assert site.max_in_flight == per_host
        assert len([h for h in site.hits if h.path.startswith("/s")]) == 12


# -- conditional GET -----------------------------------------------------------------------------


def test_a_304_costs_nothing(site: LocalSite, tmp_path: Path) -> None:
    story = bbc_stories()[3]
    url = site.add("/a", article_page(story), conditional=True)
    db = tmp_path / "s.db"
    first = WebSource([url], options=FAST, db=db)
    (a,) = list(first)
    second = WebSource([url], options=FAST, db=db)
    (b,) = list(second)
    assert isinstance(a, Article) and isinstance(b, Article) and a == b
    sent = site.requests_for("/a")[1].headers
    assert sent["if-none-match"] == site.routes["/a"].etag
    assert sent["if-modified-since"] == site.routes["/a"].last_modified
    assert [h.status for h in site.requests_for("/a")] == [200, 304]
    assert (first.stats.pages, second.stats.pages) == (1, 0)  # nothing extracted the 2nd time
    assert second.stats.not_modified == 1


def test_a_changed_page_is_fetched_again(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()
    url = site.add("/a", article_page(stories[0]), conditional=True)
    db = tmp_path / "s.db"
    (a,) = items(url, db=db)
    site.add("/a", article_page(stories[1]), conditional=True)  # a new ETag
    (b,) = items(url, db=db)
    assert isinstance(b, Article) and b.text == stories[1].text and a != b


def test_the_cli_twice_on_a_feed_second_time_all_cached_with_no_page_body(
    site: LocalSite, tmp_path: Path
) -> None:
    stories = bbc_stories()[:3]
    for n, story in enumerate(stories):
        site.add(f"/s{n}", article_page(story), conditional=True)
    feed = rss([FeedEntry(s.title, site.url(f"/s{n}"), T0 - n) for n, s in enumerate(stories)])
    site.add("/feed.xml", feed, content_type="application/rss+xml", conditional=True)
    args = ["run", site.url("/feed.xml"), "--db", str(tmp_path / "s.db"), "--quiet"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    site.reset_counts()
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    records = [json.loads(line) for line in second.stdout.splitlines()]
    assert [r["title"] for r in records] == [s.title for s in stories]
    assert all(r["cached"] for r in records)
    assert {h.status for h in site.hits if h.path != "/robots.txt"} == {304}


# -- feeds ---------------------------------------------------------------------------------------


def test_a_feed_is_one_article_per_entry_with_metadata(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()[:3]
    entries = []
    for n, story in enumerate(stories):
        url = site.add(f"/s{n}", article_page(story, published=None, author=None))
        entries.append(FeedEntry(story.title, url + "?utm_source=rss&utm_medium=feed", T0 - n))
    site.add("/feed", rss(entries, title="Example Wire"), content_type="application/rss+xml")
    got = items(site.url("/feed"), db=tmp_path / "s.db")
    assert [a.text for a in got] == [s.text for s in stories]
    first = got[0]
    assert isinstance(first, Article)
    assert first.date == "2025-02-19T21:20:00+00:00"  # the entry's RFC 822 date, as ISO 8601
    assert first.site_name == "Example News"  # the page's own og:site_name wins
    assert first.source.endswith("?utm_source=rss&utm_medium=feed")


def test_atom_feeds(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()[:2]
    entries = [
        FeedEntry(s.title, site.add(f"/a{n}", article_page(s)), T0 + n)
        for n, s in enumerate(stories)
    ]
    site.add("/atom", atom(entries), content_type="application/atom+xml")
    got = items(site.url("/atom"), db=tmp_path / "s.db")
    assert [a.text for a in got] == [stories[1].text, stories[0].text]  # newest first


def test_thousands_of_entries_bounded_by_limit_newest_first(
    site: LocalSite, tmp_path: Path
) -> None:
    story = bbc_stories()[0]
    for n in range(5):
        site.add(f"/p{n}", article_page(story, published=None))
    # 3,000 entries in shuffled date order; the five newest are /p0../p4, newest first
    order = list(range(3000))
    order = order[1::2] + order[::2]
    entries = [
        FeedEntry(f"Story {n}", site.url(f"/p{n}" if n < 5 else f"/old{n}"), T0 - n * 60)
        for n in order
    ]
    site.add("/big", rss(entries), content_type="application/rss+xml")
    got = items(site.url("/big"), db=tmp_path / "s.db", options=WebOptions(limit=5))
    assert [a.source for a in got] == [site.url(f"/p{n}") for n in range(5)]
    assert not any(h.path.startswith("/old") for h in site.hits)  # only those five fetched


def test_limit_on_the_command_line(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()[:4]
    entries = [
        FeedEntry(s.title, site.add(f"/s{n}", article_page(s)), T0 - n)
        for n, s in enumerate(stories)
    ]
    site.add("/feed", rss(entries), content_type="application/rss+xml")
    result = CliRunner().invoke(
        cli, ["run", site.url("/feed"), "--limit", "2", "--quiet", "--db", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 0, result.output
    titles = [json.loads(line)["title"] for line in result.stdout.splitlines()]
    assert titles == [stories[0].title, stories[1].title]


def test_duplicate_entries_are_read_once(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()[:2]
    a = site.add("/a", article_page(stories[0]))
    b = site.add("/b", article_page(stories[1]))
    feed = rss(
        [
            FeedEntry(stories[0].title, a, T0),
            FeedEntry(stories[1].title, b, T0 - 1),
            FeedEntry(stories[0].title + " (updated)", a + "?utm_campaign=x", T0 - 2),
            FeedEntry("no link, same id", None, T0 - 3, guid="g1", content="<p>x</p>"),
            FeedEntry("no link, same id again", None, T0 - 4, guid="g1", content="<p>y</p>"),
        ]
    )
    site.add("/feed", feed, content_type="application/rss+xml")
    got = items(site.url("/feed"), db=tmp_path / "s.db")
    assert [i.source for i in got] == [a, b, site.url("/feed") + "#g1"]
    assert len(site.requests_for("/a")) == 1


def test_entries_without_links(site: LocalSite, tmp_path: Path) -> None:
    story = bbc_stories()[4]
    whole = "".join(f"<p>{p}</p>" for p in story.paragraphs)
    feed = rss(
        [
            FeedEntry(story.title, None, T0, guid="full", content=whole),
            FeedEntry("Nothing here", None, T0 - 1, guid="empty"),
        ]
    )
    site.add("/feed", feed, content_type="application/rss+xml")
    first, second = items(site.url("/feed"), db=tmp_path / "s.db")
    assert isinstance(first, Article) and first.text == story.text
    assert first.title == story.title and first.site_name == "Example News"
    assert isinstance(second, BadInput) and "neither a link nor any text" in second.message


def test_an_entry_holding_the_whole_article_is_not_fetched(site: LocalSite, tmp_path: Path) -> None:
    story = max(bbc_stories(), key=lambda s: len(s.text))
    assert len(story.text.split()) >= 150
    whole = "".join(f"<p>{p}</p>" for p in story.paragraphs)
    page = site.add("/s", article_page(story))
    teaser = story.paragraphs[0][:200] + " […]"
    feed = rss(
        [
            FeedEntry(story.title, page, T0, content=whole),  # the whole article: not fetched
            FeedEntry(story.title + " 2", page + "?v=2", T0 - 1, content=f"<p>{teaser}</p>"),
        ]
    )
    site.add("/feed", feed, content_type="application/rss+xml")
    first, second = items(site.url("/feed"), db=tmp_path / "s.db")
    assert isinstance(first, Article) and first.text == story.text
    assert isinstance(second, Article) and second.text == story.text  # fetched: a teaser
    assert [h.path for h in site.requests_for("/s?v=2")] == ["/s?v=2"]
    assert site.requests_for("/s") == []


def test_malformed_feeds(site: LocalSite, tmp_path: Path) -> None:
    story = bbc_stories()[0]
    page = site.add("/s", article_page(story))
    rss_type = "application/rss+xml"
    # a stray tag: feedparser sets its bozo flag and recovers the entry
    recoverable = rss([FeedEntry(story.title, page, T0)]).replace("</channel>", "<oops></channel>")
    site.add("/partly", recoverable, content_type=rss_type)
    # an undefined entity and a cut-off tag before any entry: nothing to recover
    site.add(
        "/broken",
        "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>&bogus; <",
        content_type=rss_type,
    )
    # cut off inside an entry: the entry is recovered without its link or text
    site.add("/cut", "<?xml version='1.0'?><rss><channel><item><title>x</ti", content_type=rss_type)
    ok = items(site.url("/partly"), db=tmp_path / "s.db")
    assert [a.text for a in ok] == [story.text]
    message = bad(site.url("/broken"), tmp_path / "s.db")
    assert "malformed" in message and "undefined entity" in message
    assert "neither a link nor any text" in bad(site.url("/cut"), tmp_path / "s.db")


def test_an_entry_linking_to_a_feed(site: LocalSite, tmp_path: Path) -> None:
    inner = site.add("/inner", rss([]), content_type="application/rss+xml")
    site.add("/feed", rss([FeedEntry("a feed", inner, T0)]), content_type="application/rss+xml")
    message = bad(site.url("/feed"), tmp_path / "s.db")
    assert "links to a feed" in message


def test_an_empty_feed_prints_nothing_and_exits_0(site: LocalSite, tmp_path: Path) -> None:
    site.add("/feed", rss([]), content_type="application/rss+xml")
    result = CliRunner().invoke(cli, ["run", site.url("/feed"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


# -- the command line ----------------------------------------------------------------------------


def test_urls_file_and_paths_in_order(site: LocalSite, tmp_path: Path) -> None:
    stories = bbc_stories()[:3]
    a = site.add("/a", article_page(stories[0]))
    b = site.add("/b", article_page(stories[1]))
    missing = site.url("/missing")
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# today's pages\n{b}\n\nnot a url\n{missing}\n", encoding="utf-8")
    local = tmp_path / "c.txt"
    local.write_text(stories[2].title + "\n\n" + stories[2].text, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["run", a, str(local), "--urls", str(listing), "--quiet", "--db", str(tmp_path / "s.db")],
    )
    assert result.exit_code == 1, result.output  # two inputs failed
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"] for r in records] == [a, str(local), b, f"{listing}:4", missing]
    assert [r["status"] for r in records] == ["ok", "ok", "ok", "failed", "failed"]
    assert "not an http(s) URL" in records[3]["error"]["message"]
    assert records[4]["error"]["kind"] == "bad_input" and records[4]["url"] == missing
    assert "HTTP 404" in records[4]["error"]["message"]


def test_record_and_replay_hold_model_traffic_only(site: LocalSite, tmp_path: Path) -> None:
    url = site.add("/a", article_page(bbc_stories()[5]))
    cassette = tmp_path / "run.yaml"
    recorded = CliRunner().invoke(cli, ["run", url, "--record", str(cassette), "--quiet"])
    assert recorded.exit_code == 0, recorded.output
    text = cassette.read_text(encoding="utf-8")
    assert "/chat/completions" in text and site.url("/a") not in text.split("uri:")[-1]
    assert "127.0.0.1" not in "".join(
        line for line in text.splitlines() if line.strip().startswith("uri:")
    )
    replayed = CliRunner().invoke(
        cli, ["run", url, "--replay", str(cassette), "--quiet", "--db", str(tmp_path / "r.db")]
    )
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["status"] == "ok"
    assert len(site.requests_for("/a")) == 2  # fetched live both times


def test_compare_accepts_urls(site: LocalSite, tmp_path: Path) -> None:
    url = site.add("/a", article_page(bbc_stories()[6]))
    result = CliRunner().invoke(
        cli, ["compare", "summarise@v1", "summarise@v2", url, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [v["articles"] for v in data["versions"]] == [1, 1]
    assert [a["source"] for a in data["articles"]] == [url]


def test_async_and_plain_iteration_agree(site: LocalSite, tmp_path: Path) -> None:
    import asyncio

    stories = bbc_stories()[:4]
    urls = [site.add(f"/s{n}", article_page(s)) for n, s in enumerate(stories)]

    async def collect() -> list:
        return [i async for i in WebSource(urls, options=FAST, db=tmp_path / "a.db")]

    assert asyncio.run(collect()) == items(*urls, db=tmp_path / "b.db")


# -- the test site itself ------------------------------------------------------------------------


def test_the_site_is_quiet_about_clients_that_hang_up(
    site: LocalSite, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client dropping its connection is no error of the site's: socketserver would print
    its traceback to sys.stderr, where a test capturing a command's stderr finds it (seen as
    a rare failure of tests that expect an empty stderr). Other errors are still printed."""
    server = site._server
    assert server is not None
    for error in (ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe")):
        try:
            raise error
        except ConnectionError:
            server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""
    try:
        raise ValueError("a bug in the site")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert "a bug in the site" in capsys.readouterr().err
