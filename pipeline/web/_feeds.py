"""Feeds: RSS 0.9x / 1.0 / 2.0 and Atom, parsed with feedparser, to the entries to read.

- A body is a feed when feedparser recognises its format or finds entries in it. A feed it
  could only partly parse (its ``bozo`` flag, e.g. malformed XML) still gives the entries it
  recovered; one that gives none is a bad input naming feedparser's complaint.
- Entries are chosen newest first (by published, else updated, date; undated entries after
  the dated ones, in feed order) and cut to ``limit`` when given.
- The same entry listed twice (same canonical link, or same id when it has no link) is read
  once: the first listing wins.
- An entry's own full text is used instead of fetching its link only when it is the whole
  article: at least :data:`WHOLE_WORDS` words, from the entry's content (not its summary),
  not ending in a "read more" / ellipsis cut. An entry without a link is read from its own
  text when it has any, else it is a bad input.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from dataclasses import dataclass
from typing import Any

from pipeline.web._urls import canonical_url

#: the fewest words an entry's own content needs to count as the whole article
WHOLE_WORDS = 150
_CUT = re.compile(
    r"(?:\[?(?:…|\.\.\.)\]?|\[\s*(?:…|\.\.\.)\s*\]|read more|continue reading|\(more…?\)"
    r"|keep reading|full story|more\s*»)\W*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_TAGS = re.compile(r"<[^>]+>")
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry, as much as the feed says about it."""

    position: int  # in the feed, from 1
    link: str | None
    id: str | None
    title: str | None
    published: str | None  # ISO 8601
    author: str | None
    content: str | None  # HTML of the entry's own full content, when the feed gives one
    summary: str | None  # HTML of its summary / description
    sort_key: float | None  # seconds since the epoch, for "newest first"

    @property
    def whole_content(self) -> str | None:
        """The entry's content when it is the whole article (see the module docstring)."""
        if not self.content:
            return None
        text = " ".join(_TAGS.sub(" ", self.content).split())
        if len(_WORD.findall(text)) < WHOLE_WORDS or _CUT.search(text):
            return None
        return self.content


@dataclass(frozen=True, slots=True)
class Feed:
    title: str | None
    link: str | None
    entries: list[Entry]  # all of them, in feed order, duplicates dropped
    listed: int  # entries the feed listed, duplicates included
    problem: str | None  # feedparser's complaint when it could only partly parse


def _iso(raw: str | None, parsed: Any) -> str | None:
    """An entry date as ISO 8601: as written when it is ISO already, else converted from
    RFC 822 (``Thu, 27 Mar 2025 09:30:00 +0900`` -> ``2025-03-27T09:30:00+09:00``)."""
    if raw:
        m = _ISO.match(raw.strip())
        if m:
            return m.group(0)
        try:
            return email.utils.parsedate_to_datetime(raw).isoformat()
        except (TypeError, ValueError, IndexError):
            pass
    if parsed:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)
    return None


def _author(entry: Any) -> str | None:
    detail = entry.get("author_detail") or {}
    name = detail.get("name") or entry.get("author")
    return " ".join(str(name).split()) or None if name else None


def _content(entry: Any) -> str | None:
    parts = [c.get("value") or "" for c in entry.get("content") or []]
    html = max(parts, key=len) if parts else ""
    return html or None


def looks_like_feed(content_type: str | None, body: bytes) -> bool:
    """Whether a body should be parsed as a feed rather than read as a page."""
    if (
        content_type
        and any(k in content_type for k in ("rss", "atom", "rdf", "/xml", "+xml"))
        and "xhtml" not in content_type
    ):
        return True
    head = body[:2048].lstrip().lower()
    return (
        head.startswith(b"<?xml")
        and (b"<rss" in head or b"<feed" in head or b"<rdf" in head)
        or (head.startswith((b"<rss", b"<feed", b"<rdf:rdf")))
    )


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> Feed | str:
    """The feed in ``body``, or why it is not one."""
    import feedparser

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    problem = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        problem = f"{type(exc).__name__}: {exc}" if exc is not None else "malformed"
    raw_entries = parsed.get("entries") or []
    if not raw_entries:
        if not parsed.get("version"):
            why = f" ({problem})" if problem else ""
            return f"not an RSS or Atom feed{why}"
        if problem:
            return f"the feed is malformed and no entry could be read ({problem})"
    entries: list[Entry] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_entries, start=1):
        link = (raw.get("link") or "").strip() or None
        ident = (raw.get("id") or "").strip() or None
        key = canonical_url(link) if link else f"id:{ident}" if ident else f"n:{n}"
        if key in seen:
            continue
        seen.add(key)
        stamp = raw.get("published_parsed") or raw.get("updated_parsed")
        entries.append(
            Entry(
                position=n,
                link=link,
                id=ident,
                title=" ".join((raw.get("title") or "").split()) or None,
                published=_iso(raw.get("published") or raw.get("updated"), stamp),
                author=_author(raw),
                content=_content(raw),
                summary=raw.get("summary") or None,
                sort_key=float(calendar.timegm(stamp)) if stamp else None,
            )
        )
    info = parsed.get("feed") or {}
    return Feed(
        title=" ".join((info.get("title") or "").split()) or None,
        link=info.get("link") or None,
        entries=entries,
        listed=len(raw_entries),
        problem=problem,
    )


def newest(entries: list[Entry], limit: int | None) -> list[Entry]:
    """Newest first (dated entries by date, then undated ones in feed order), cut to
    ``limit``."""
    ordered = sorted(
        entries,
        key=lambda e: (e.sort_key is None, -(e.sort_key or 0.0), e.position),
    )
    return ordered if limit is None else ordered[:limit]
