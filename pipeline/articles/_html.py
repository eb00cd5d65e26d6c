"""HTML pages to articles: the encoding sniffed (:func:`decode_html`), the main text and
metadata extracted with trafilatura, a fallback reader where trafilatura has nothing.

Extraction (measured in ``benchmarks/extraction.py``; each rule earns its place there):

- ``trafilatura.bare_extraction`` with reader comments and tables left out: comment threads
  are not the article (a reader comment must never become a summary sentence), and on the
  measured pages every table inside the extracted region was page layout (old table-built
  sites put the article and its site's notices in one table), never article data.
- The page's own headline, when it opens the text (exactly or with a site or section suffix
  such as ``| Opinion``), is the title, not text; an "About the author" section that ends the
  article is dropped.
- Where trafilatura returns nothing (a fragment such as ``<p>One line.</p>``), the fallback
  reader (:mod:`._html_fallback`) is used. On the measured pages that is the only case where
  the fallback wins: where trafilatura finds little (a brief, or its own flattened baseline
  dump), the fallback's text scored lower.

Metadata: the date as the page writes it (ISO 8601, from JSON-LD or ``<meta>``; else
trafilatura's date, a ``YYYY-MM-DD``), the author and title from trafilatura (else the page's
own declarations), the site name declared by the page (``og:site_name``, JSON-LD publisher),
and the canonical URL (``<link rel=canonical>``, ``og:url``, else the address it came from).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pipeline.articles._article import Item, _bad, _make_article
from pipeline.articles._decode import _Undecodable
from pipeline.articles._html_fallback import read_simple_html
from pipeline.articles._html_meta import decode_html, page_meta
from pipeline.articles._normalise import normalise_text

_WORDS = re.compile(r"\w+")
_ABOUT_AUTHOR = re.compile(r"\W*about the authors?\W*", re.IGNORECASE)

for _name in ("trafilatura", "htmldate", "courlan", "justext"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class Page:
    """What was extracted from one page."""

    text: str
    title: str | None = None
    published: str | None = None
    author: str | None = None
    site_name: str | None = None
    url: str | None = None
    extractor: str = "trafilatura"  # or "fallback"


def _key(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


_TITLE_SUFFIX = re.compile(r"\s+[|\-–—·:»]\s+[^|\-–—·:»]{2,60}$")


def _drop_headline(lines: list[str], title: str | None) -> list[str]:
    """Without the first non-blank line when it is the headline: exactly, with a short
    suffix (``| Opinion``, ``(latimes.com) 87``), cut short, or without the title's own
    site suffix (``... - Slashdot``)."""
    wanted = [k for k in {_key(title or ""), _key(_TITLE_SUFFIX.sub("", title or ""))} if k]
    if not wanted:
        return lines
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        got = _key(line)
        for key in wanted:
            extra = len(got.split()) - len(key.split())
            if (
                got == key
                or (got.startswith(key) and extra <= 4)
                or (key.startswith(got) and len(got) >= 0.6 * len(key))
            ):
                return lines[:n] + lines[n + 1 :]
        return lines
    return lines


def _drop_about_author(lines: list[str]) -> list[str]:
    for n, line in enumerate(lines):
        if n >= len(lines) / 2 and _ABOUT_AUTHOR.fullmatch(line):
            return lines[:n]
    return lines


def _only_links(tree: Any, text: str) -> bool:
    """Whether every word of a short extraction is the text of some link on the page: a
    navigation bar or a list of headlines, not an article."""
    if len(text) > 1000 or tree is None:
        return False
    rest = " ".join(text.split())
    anchors = {" ".join(a.text_content().split()) for a in tree.iter("a")}
    for anchor in sorted((a for a in anchors if a), key=len, reverse=True):
        rest = rest.replace(anchor, " ")
    return not _WORDS.search(rest)


def _site_name(value: str | None, title: str | None, url: str | None) -> str | None:
    """trafilatura's site name when it is a name: not a title it derived one from, not
    just the page's host name (that is not a name the site gives itself)."""
    if not value or len(value) > 60 or len(value.split()) > 6:
        return None
    if title and _key(value) == _key(title):
        return None
    parts = urlsplit(url or "")
    hosts = {(parts.hostname or "").removeprefix("www."), parts.netloc.lower().removeprefix("www.")}
    if value.lower().removeprefix("www.") in hosts - {""}:
        return None
    return value


def _trafilatura(tree: Any, url: str | None, *, search_date: bool) -> Any:
    """trafilatura's extraction; its date search through the text (slow: up to a third of a
    second a page in dateparser) only when the page declares no date of its own."""
    import trafilatura

    try:
        return trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            include_tables=False,
            with_metadata=True,
            date_extraction_params={"extensive_search": search_date, "original_date": True},
        )
    except Exception:  # a page that breaks the extractor gets the fallback, not a crash
        return None


def extract_page(html: str, *, url: str | None = None, date: str | None = None) -> Page:
    """The main text and metadata of a decoded page (see the module docstring); ``date`` is
    one the caller knows (a feed entry's), taken when the page declares none of its own."""
    from trafilatura.utils import load_html
    from trafilatura.xml import xmltotxt

    tree = load_html(html)
    meta = page_meta(tree, url) if tree is not None else None
    search_date = (meta is None or meta.published is None) and date is None
    doc = _trafilatura(tree, url, search_date=search_date) if tree is not None else None
    text = ""
    if doc is not None and doc.body is not None:
        text = xmltotxt(doc.body, False) or ""
    if _only_links(tree, text):
        text = ""
    title = (doc.title if doc is not None else None) or None
    extractor = "trafilatura"
    fallback = None
    if not text.strip():
        fallback = read_simple_html(html)
        if fallback.text.strip() and not _only_links(tree, fallback.text):
            text, extractor = fallback.text, "fallback"
            title = title or fallback.title
    if extractor == "trafilatura":
        lines = _drop_about_author(_drop_headline(text.split("\n"), title))
        text = "\n\n".join(lines)
    published = (
        (meta.published if meta else None) or date or (doc.date if doc is not None else None)
    )
    author = (doc.author if doc is not None else None) or (meta.author if meta else None)
    canonical = (meta.canonical if meta else None) or (doc.url if doc is not None else None)
    site = (meta.site_name if meta else None) or _site_name(
        doc.sitename if doc is not None else None, title, canonical or url
    )
    if fallback is not None:
        published = published or fallback.date
        canonical = canonical or fallback.url
    return Page(
        text=text,
        title=title,
        published=published,
        author=author,
        site_name=site,
        url=canonical or url,
        extractor=extractor,
    )


def html_article(
    source: str,
    raw: bytes,
    *,
    url: str | None = None,
    charset: str | None = None,
    date: str | None = None,
) -> Item:
    """One HTML page's bytes to its Article (or a BadInput); ``url`` is the address it came
    from (a base for relative links), ``charset`` the one its HTTP header declared, ``date``
    one the caller knows (used when the page declares no date of its own)."""
    try:
        html = decode_html(raw, charset)
    except _Undecodable as e:
        return _bad(source, raw, e.problem)
    if not html.strip():
        return _bad(source, raw, "the page is empty; check the address or the file")
    page = extract_page(html, url=url, date=date)
    if not normalise_text(page.text):
        return _bad(
            source,
            raw,
            "no article text in the page (only navigation and page furniture: a paywall, "
            "a page built by scripts, or not an article); pass the article's own page",
        )
    return _make_article(
        source,
        page.text,
        title=page.title,
        date=page.published,
        url=page.url,
        author=page.author,
        site_name=page.site_name,
        find_title=False,
    )
