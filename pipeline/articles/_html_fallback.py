"""The fallback HTML reader (BeautifulSoup, stdlib parser): used where trafilatura returns
nothing or gives up on a page too small for its main extractor (see :mod:`._html`).

Title from the ``<h1>`` (preferring one inside ``<article>``/``<main>``) else ``<title>``;
date from ``<time datetime>`` else ``meta[property=article:published_time]``; url from
``link[rel=canonical]`` else ``og:url``. Dropped: script, style, nav, header, footer, aside,
form, noscript, template, iframe, svg, button, and ``<figcaption>`` elements that are photo
credits. Content comes from the largest ``<article>``, else ``<main>``, else ``<body>``; block
elements become paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.articles._header import _is_header_credit
from pipeline.articles._normalise import _clean_line, _is_furniture


def _names(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


_HTML_DROP = tuple(
    _names("script style nav header footer aside form noscript template iframe svg button")
)
_HTML_BLOCKS = _names(
    "address article blockquote dd div dl dt figcaption figure h1 h2 h3 h4 h5 h6 hr li main ol p "
    "pre section table tbody td th thead tr ul"
)


@dataclass(frozen=True, slots=True)
class FallbackPage:
    text: str
    title: str | None
    date: str | None
    url: str | None


def read_simple_html(text: str) -> FallbackPage:
    """The text, title, date and url of a page by the rules in the module docstring."""
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, Tag

    soup = BeautifulSoup(text, "html.parser")

    def attr(tag: Tag | None, name: str) -> str | None:
        if tag is None:
            return None
        value = tag.get(name)
        if isinstance(value, list):
            value = " ".join(value)
        return value.strip() or None if isinstance(value, str) else None

    def meta(key: str) -> str | None:
        found = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
        return attr(found if isinstance(found, Tag) else None, "content")

    articles = [t for t in soup.find_all("article") if isinstance(t, Tag)]
    root: Tag | None = None
    if articles:
        root = max(articles, key=lambda t: len(t.get_text()))
    if root is None:
        found = soup.find("main") or soup.find("body")
        root = found if isinstance(found, Tag) else None

    h1 = (root.find("h1") if root is not None else None) or soup.find("h1")
    title_tag = soup.find("title")
    title = None
    if isinstance(h1, Tag):
        title = _clean_line(h1.get_text(" ")) or None
    if title is None and isinstance(title_tag, Tag):
        title = _clean_line(title_tag.get_text(" ")) or None

    time_tag = (root.find("time", attrs={"datetime": True}) if root is not None else None) or (
        soup.find("time", attrs={"datetime": True})
    )
    date = attr(time_tag if isinstance(time_tag, Tag) else None, "datetime") or meta(
        "article:published_time"
    )
    canonical = soup.find("link", attrs={"rel": "canonical"})
    url = attr(canonical if isinstance(canonical, Tag) else None, "href") or meta("og:url")

    container: Tag = root if root is not None else soup
    for tag in container.find_all(_HTML_DROP):
        if isinstance(tag, Tag):
            tag.decompose()
    for tag in container.find_all("figcaption"):
        if isinstance(tag, Tag) and _is_credit_text(_clean_line(tag.get_text(" "))):
            tag.decompose()
    if isinstance(h1, Tag) and h1.parent is not None and title is not None:
        h1.decompose()
    # A dateline on its own (not inside a sentence) is metadata, not text.
    inline = ("p", "li", "span", "a", "em", "strong", "b", "i")
    if (
        isinstance(time_tag, Tag)
        and time_tag.parent is not None
        and time_tag.parent.name not in inline
    ):
        time_tag.decompose()

    parts: list[str] = []

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                if child.name == "br":
                    parts.append("\n")
                elif child.name in _HTML_BLOCKS:
                    parts.append("\n\n")
                    walk(child)
                    parts.append("\n\n")
                else:
                    walk(child)
            elif type(child) is NavigableString:
                parts.append(re.sub(r"\s+", " ", str(child)))

    walk(container)
    return FallbackPage(text="".join(parts), title=title, date=date, url=url)


def _is_credit_text(text: str) -> bool:
    return not text or _is_furniture(text) or _is_header_credit(text)
