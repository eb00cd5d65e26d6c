"""What loading yields: an :class:`Article` or a :class:`BadInput`, their ids, and
``_make_article``, which turns raw text into an Article (normalised, header read)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipeline.articles._header import _split_header
from pipeline.articles._normalise import _clean_line, _clean_lines, normalise_text


@dataclass(frozen=True, slots=True)
class Article:
    """One article, its text normalised."""

    id: str
    source: str
    text: str
    title: str | None = None
    date: str | None = None
    url: str | None = None
    external_id: str | None = None
    author: str | None = None
    site_name: str | None = None


@dataclass(frozen=True, slots=True)
class BadInput:
    """One input that cannot be used as an article; it becomes a failed record."""

    id: str
    source: str
    message: str
    kind: str = "bad_input"
    url: str | None = None  # the address, for an input from the web


Item = Article | BadInput


def _hash16(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def article_id(text: str) -> str:
    """First 16 hex digits of the SHA-256 of the normalised text (UTF-8)."""
    return _hash16(normalise_text(text).encode("utf-8"))


def _make_article(
    source: str,
    text: str,
    *,
    title: str | None = None,
    date: str | None = None,
    url: str | None = None,
    external_id: str | None = None,
    author: str | None = None,
    site_name: str | None = None,
    find_title: bool = True,
) -> Item:
    """Normalise ``text``, read its header, and build the Article (or a BadInput if empty)."""
    lines = _clean_lines(text)
    if title is not None:
        title = _clean_line(title) or None
    if title is not None:
        # A text that repeats its known title as the first line (BBC files) loses that line.
        first = next((n for n, line in enumerate(lines) if line), None)
        if first is not None and lines[first].casefold() == title.casefold():
            lines = lines[first + 1 :]
    header = _split_header(lines, find_title=find_title and title is None)
    body = normalise_text("\n".join(header.lines))
    if not body:
        return _bad(
            source,
            text.encode("utf-8", "replace"),
            "no article text (empty, or only page furniture); add the article text",
        )
    return Article(
        id=_hash16(body.encode("utf-8")),
        source=source,
        text=body,
        title=title or header.title,
        date=date or header.date,
        url=url,
        external_id=external_id,
        author=author,
        site_name=site_name,
    )


def _bad(source: str, raw: bytes | None, problem: str) -> BadInput:
    ident = _hash16(raw if raw else source.encode("utf-8"))
    return BadInput(id=ident, source=source, message=f"{source}: {problem}")
