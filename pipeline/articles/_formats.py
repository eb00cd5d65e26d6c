"""Formats: one file's bytes to its items, by format: plain text, Markdown, HTML, JSON and
JSONL (streamed line by line)."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pipeline.articles._article import Item, _bad, _make_article
from pipeline.articles._decode import (
    _BINARY,
    _UTF16_BOMS,
    _decode,
    _looks_binary,
    _Undecodable,
)
from pipeline.articles._html import html_article
from pipeline.articles._normalise import _LINE_BREAKS
from pipeline.articles._safe import (
    MAX_ARTICLE_BYTES,
    BadJSON,
    Oversize,
    bounded_lines,
    lone_surrogate,
    parse_json,
    too_big,
)

TEXT_FIELDS = ("text", "article", "body", "content", "document")
_DATE_FIELDS = ("date", "published", "published_at")
_AUTHOR_FIELDS = ("author", "authors", "byline")
_SITE_FIELDS = ("site_name", "site", "publisher")
_USED_FIELDS = (
    *TEXT_FIELDS,
    "title",
    "headline",
    *_DATE_FIELDS,
    "url",
    "link",
    "id",
    *_AUTHOR_FIELDS,
    *_SITE_FIELDS,
)


# -- JSON and JSONL --------------------------------------------------------------------------------


def _str_field(obj: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = obj.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return None


def _names_field(obj: dict[str, Any], *names: str) -> str | None:
    """A string field, or a list of strings joined with "; " (``"authors": ["A", "B"]``)."""
    for name in names:
        value = obj.get(name)
        if isinstance(value, list):
            parts = [v.strip() for v in value if isinstance(v, str) and v.strip()]
            if parts:
                return "; ".join(parts)
        elif isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    kinds = {str: "a string", list: "a list", dict: "an object", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _from_object(source: str, obj: object, raw: bytes) -> Item:
    if not isinstance(obj, dict):
        return _bad(
            source,
            raw,
            f"expected a JSON object, got {_json_kind(obj)}; "
            'give each article as an object with a "text" field',
        )
    for name in _USED_FIELDS:
        bad = lone_surrogate(obj.get(name))
        if bad is not None:
            return _bad(
                source,
                raw,
                f'the "{name}" field holds a lone surrogate escape ({bad}), half of a '
                "character that no text can hold; fix the escape (emoji take two: "
                "\\ud83d\\ude00) or remove it",
            )
    text = None
    for name in TEXT_FIELDS:
        value = obj.get(name)
        if isinstance(value, str) and value.strip():
            text = value
            break
    if text is None:
        return _bad(
            source,
            raw,
            "no article text: none of the fields "
            + ", ".join(TEXT_FIELDS)
            + " holds a non-empty string; add one of them",
        )
    return _make_article(
        source,
        text,
        title=_str_field(obj, "title", "headline"),
        date=_str_field(obj, *_DATE_FIELDS),
        url=_str_field(obj, "url", "link"),
        external_id=_str_field(obj, "id"),
        author=_names_field(obj, *_AUTHOR_FIELDS),
        site_name=_names_field(obj, *_SITE_FIELDS),
    )


def _iter_json(source: str, raw: bytes) -> Iterator[Item]:
    try:
        text = _decode(raw)
    except _Undecodable as e:
        yield _bad(source, raw, e.problem)
        return
    if not text.strip():
        yield _bad(source, raw, "file is empty; add the article or remove the file")
        return
    try:
        data = parse_json(text)
    except BadJSON as e:
        yield _bad(source, raw, f"{e.problem}; fix the file")
        return
    if isinstance(data, list):
        if not data:
            yield _bad(source, raw, "the JSON list is empty; add article objects or remove it")
        for n, item in enumerate(data, start=1):
            item_raw = json.dumps(item, sort_keys=True, ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )
            yield _from_object(f"{source}#{n}", item, item_raw)
    elif isinstance(data, dict):
        yield _from_object(source, data, raw)
    else:
        yield _bad(
            source,
            raw,
            f"the JSON is {_json_kind(data)}, not an object "
            'or a list of objects; wrap the article in an object with a "text" field',
        )


def _jsonl_line(source: str, number: int, raw: bytes | Oversize) -> Item | None:
    """One JSONL line -> an item; None for a blank line."""
    where = f"{source}:{number}"
    if isinstance(raw, Oversize):
        problem = too_big(raw.size, MAX_ARTICLE_BYTES, "the line", "shorten it or remove it")
        return _too_long(where, problem)
    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as e:
        return _bad(where, raw, f"line is not valid UTF-8 ({e.reason}); fix the line or remove it")
    if not line.strip():
        return None
    try:
        obj = parse_json(line)
    except BadJSON as e:
        problem = re.sub(r": line 1 column (\d+)\)$", r": column \1)", e.problem)
        return _bad(where, raw, f"line is {problem}; fix the line or remove it")
    return _from_object(where, obj, raw)


def _too_long(source: str, problem: str) -> Item:
    bad = _bad(source, None, problem)
    return dataclasses.replace(bad, kind="too_long")


def _iter_jsonl_lines(
    source: str, stream: Iterable[bytes | Oversize], first: int = 1
) -> Iterator[Item]:
    seen = False
    for number, raw in enumerate(stream, start=first):
        item = _jsonl_line(source, number, raw)
        if item is not None:
            seen = True
            yield item
    if not seen and first == 1:
        yield _bad(source, None, "file is empty (no JSON lines); add articles or remove the file")


def _iter_jsonl(source: str, f: IO[bytes]) -> Iterator[Item]:
    """A JSONL file, streamed line by line (UTF-8, or UTF-16 with a BOM)."""
    head = f.read(8192)
    f.seek(0)
    if head.startswith(_UTF16_BOMS):
        yield from _iter_jsonl_lines(source, _utf16_lines(f))
        return
    if _looks_binary(head):
        yield _bad(source, head, _BINARY)
        return
    yield from _iter_jsonl_lines(source, bounded_lines(f))


def _utf16_lines(f: IO[bytes]) -> Iterator[bytes | Oversize]:
    """UTF-16 lines re-encoded as UTF-8 (a broken pair or a stray last byte becomes U+FFFD)."""
    text = io.TextIOWrapper(f, encoding="utf-16", errors="replace", newline="")
    try:
        yield from bounded_lines(_Utf8Lines(text), MAX_ARTICLE_BYTES)
    finally:
        text.detach()


class _Utf8Lines:
    """A text stream read as UTF-8 lines (``readline(limit)`` counts characters; close
    enough for a cap)."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text

    def readline(self, limit: int = -1, /) -> bytes:
        return self.text.readline(limit).encode("utf-8", "surrogatepass")


# -- plain text and Markdown -----------------------------------------------------------------------


def _text_article(source: str, raw: bytes, text: str) -> Item:
    return _make_article(source, text)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?\n)---[ \t]*\n", re.DOTALL)
_MD_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.MULTILINE), r)
    for p, r in (
        (r"<!--.*?-->", ""),
        (r"^ {0,3}(?:```|~~~).*$", ""),
        (r"^ {0,3}\[[^\]]+\]:[ \t]*\S+.*$", ""),
        (r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]", ""),
        (r"\[([^\]]+)\]\([^)]*\)", r"\1"),
        (r"\[([^\]]+)\]\[[^\]]*\]", r"\1"),
        (r"<(https?://[^>\s]+)>", r"\1"),
        (r"^ {0,3}(?:[-*_][ \t]*){3,}$", ""),
        (r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", r"\1"),
        (r"^ {0,3}(?:=+|-+)[ \t]*$", ""),
        (r"^ {0,3}(?:> ?)+", ""),
        (r"^ {0,3}[-*+][ \t]+", ""),
        (r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2"),
        (r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1"),
        (r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])", r"\1"),
        (r"`+([^`\n]+)`+", r"\1"),
    )
)


def _markdown_article(source: str, raw: bytes, text: str) -> Item:
    meta: dict[str, str] = {}
    text = _LINE_BREAKS.sub("\n", text.lstrip("\ufeff"))
    m = _FRONT_MATTER.match(text)
    if m:
        for line in m.group("body").splitlines():
            key, sep, value = line.partition(":")
            if sep and value.strip():
                meta[key.strip().lower()] = value.strip().strip("\"'")
        text = text[m.end() :]
    title = meta.get("title")
    lines = text.split("\n")
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is not None and title is None:
        head = lines[first].strip()
        if re.match(r"#\s", head):
            title = head.lstrip("#").strip().rstrip("#").strip()
            lines = lines[first + 1 :]
        elif first + 1 < len(lines) and re.fullmatch(r" {0,3}=+\s*", lines[first + 1]):
            title = head
            lines = lines[first + 2 :]
    body = "\n".join(lines)
    for pattern, repl in _MD_RULES:
        body = pattern.sub(repl, body)
    if title:
        for pattern, repl in _MD_RULES:
            title = pattern.sub(repl, title)
    return _make_article(
        source,
        body,
        title=title or None,
        date=meta.get("date") or meta.get("published"),
        url=meta.get("url"),
        author=meta.get("author"),
        site_name=meta.get("site_name") or meta.get("site"),
        find_title=not title,
    )


# -- one file, any format --------------------------------------------------------------------------

_PARSERS = {
    ".md": _markdown_article,
    ".markdown": _markdown_article,
}
_HTML = (".html", ".htm")  # decoded by pipeline.articles._html itself: sniffing is its job


def load_article_text(source: str, raw: bytes, *, suffix: str = ".txt") -> Iterator[Item]:
    """Turn the bytes of one file (of the format ``suffix`` names) into its items.

    Handles every format except streamed JSONL files (JSONL bytes are split into lines here).
    """
    if not raw.strip():
        yield _bad(source, raw, "file is empty (or only whitespace); add the text or remove it")
        return
    suffix = suffix.lower()
    if suffix == ".json":
        yield from _iter_json(source, raw)
        return
    if suffix == ".jsonl":
        yield from _iter_jsonl(source, io.BytesIO(raw))
        return
    if suffix in _HTML:
        yield html_article(source, raw)
        return
    try:
        text = _decode(raw)
    except _Undecodable as e:
        yield _bad(source, raw, e.problem)
        return
    if not text.strip():
        yield _bad(source, raw, "file is empty (or only whitespace); add the text or remove it")
        return
    yield _PARSERS.get(suffix, _text_article)(source, raw, text)
