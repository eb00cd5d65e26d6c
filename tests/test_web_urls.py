"""Canonical URLs (what ``--new`` recognises an article's address by), URL-or-path, origins,
and the feed helpers' small rules."""

from __future__ import annotations

import pytest

from pipeline.web import canonical_url, is_url, origin
from pipeline.web._feeds import Entry, newest


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("https://News.Example.com/a/b", "https://news.example.com/a/b"),
        ("https://news.example.com:443/a", "https://news.example.com/a"),
        ("http://news.example.com:8080/a", "http://news.example.com:8080/a"),
        ("https://news.example.com", "https://news.example.com/"),
        ("https://news.example.com/a#comments", "https://news.example.com/a"),
        (
            "https://news.example.com/a?utm_source=rss&utm_medium=feed&id=7&fbclid=x",
            "https://news.example.com/a?id=7",
        ),
        ("https://news.example.com/a?b=2&a=1", "https://news.example.com/a?a=1&b=2"),
        (
            "https://news.example.com/a?gclid=1&at_medium=RSS&ns_source=x",
            "https://news.example.com/a",
        ),
        ("https://news.example.com/caf%c3%a9", "https://news.example.com/caf%C3%A9"),
        ("https://news.example.com/café", "https://news.example.com/caf%C3%A9"),
    ],
)
def test_canonical_url(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical
    assert canonical_url(canonical) == canonical  # idempotent


def test_what_stays_different() -> None:
    assert canonical_url("http://ex.com/a") != canonical_url("https://ex.com/a")
    assert canonical_url("https://www.ex.com/a") != canonical_url("https://ex.com/a")
    assert canonical_url("https://ex.com/a?page=2") != canonical_url("https://ex.com/a")
    assert canonical_url("https://ex.com/A") != canonical_url("https://ex.com/a")


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://ex.com/a", True),
        ("HTTP://ex.com", True),
        ("  https://ex.com/a ", True),
        ("ftp://ex.com/a", False),
        ("seeds/", False),
        ("ex.com/a", False),
        ("https://", False),
        ("-", False),
    ],
)
def test_is_url(text: str, url: bool) -> None:
    assert is_url(text) is url


def test_origin() -> None:
    assert origin("https://Ex.com:443/a?b") == "https://ex.com"
    assert origin("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"


def entry(position: int, stamp: float | None) -> Entry:
    return Entry(position, f"https://ex.com/{position}", None, None, None, None, None, None, stamp)


def test_newest_first_undated_last_in_feed_order() -> None:
    entries = [entry(1, None), entry(2, 100.0), entry(3, 300.0), entry(4, None), entry(5, 200.0)]
    assert [e.position for e in newest(entries, None)] == [3, 5, 2, 1, 4]
    assert [e.position for e in newest(entries, 2)] == [3, 5]


@pytest.mark.parametrize(
    ("content", "whole"),
    [
        ("<p>" + "word " * 200 + "</p>", True),
        ("<p>" + "word " * 100 + "</p>", False),  # too short to be the article
        ("<p>" + "word " * 200 + "[…]</p>", False),
        ("<p>" + "word " * 200 + "</p><p>Continue reading</p>", False),
        ("<p>" + "word " * 200 + "...</p>", False),
        (None, False),
    ],
)
def test_whole_content(content: str | None, whole: bool) -> None:
    e = Entry(1, "https://ex.com/1", None, None, None, None, content, "teaser", None)
    assert (e.whole_content is not None) is whole
