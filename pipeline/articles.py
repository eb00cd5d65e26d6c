"""Load articles from files, folders, JSON, JSONL and stdin, and normalise their text.

Every input gives exactly one item: an :class:`Article`, or a :class:`BadInput` that says
what is wrong and how to fix it. Only a path that does not exist raises
(:class:`~pipeline.errors.ConfigError`), and it does so when :func:`iter_articles` is
called, before anything is read.

Inputs
------
- ``-`` is stdin (bytes). If its first non-blank line is a JSON object it is read as JSONL
  (streamed; sources ``-:LINE``); else the whole input is one article (source ``-``), or,
  when the whole input is a JSON object or list, it is read like a ``.json`` file.
- A folder is walked recursively in sorted path order. Hidden files and folders, and files
  whose extension is not one of ``.txt .md .markdown .html .htm .json .jsonl``, are skipped.
- A file named explicitly is read whatever its extension (unknown ones as plain text).
- ``.jsonl``: one object per line, streamed line by line; blank lines are skipped; source is
  ``path:LINE`` (1-based). ``.json``: an object is one article; a list gives one article per
  item, with source ``path#N`` (1-based). Text comes from the first of the fields ``text``,
  ``article``, ``body``, ``content``, ``document`` that holds a non-empty string; also
  ``title``, ``url``, ``date`` (or ``published``, ``published_at``) and ``id``.
- ``.md``: YAML-style front matter (``title:``, ``date:``, ``url:``) is read and dropped; a
  leading ``# Title`` (or setext ``Title`` / ``=====``) is the title; images ``![..](..)`` and
  reference definitions are dropped; ``[text](url)`` keeps ``text``; heading marks, emphasis,
  inline code ticks, block-quote marks, bullets and rules are removed.
- ``.html``/``.htm``: parsed with BeautifulSoup's stdlib ``html.parser``. Title from the
  ``<h1>`` (preferring one inside ``<article>``/``<main>``) else ``<title>``; date from
  ``<time datetime>`` else ``meta[property=article:published_time]``; url from
  ``link[rel=canonical]`` else ``og:url``. Dropped: script, style, nav, header, footer, aside,
  form, noscript, template, iframe, svg, button, and ``<figcaption>`` elements that are
  photo credits. Content comes from the largest ``<article>``, else ``<main>``, else
  ``<body>``; block elements become paragraphs.

Decoding
--------
UTF-8 (a BOM is dropped; UTF-16 with a BOM is read too). Bytes that are not UTF-8 are
read as cp1252 when that gives plausible Western text (at most 20 % of the letters
non-ASCII, 90 % of those Latin-1 letters or typographic marks: detectors misjudge short
Latin-1 / cp1252 texts), else as whatever charset-normalizer detects. A NUL byte, or more than 10 %
control bytes in the first 8 KiB, means a binary file.

Normalisation (:func:`normalise_text`; idempotent)
--------------------------------------------------
Unicode NFC (not NFKC: curly quotes, dashes and the like are kept); CR/CRLF, form feeds and
Unicode line separators become newlines; non-breaking and other odd spaces and tabs become
spaces; zero-width characters, soft hyphens, bidi marks and control characters are dropped;
runs of spaces collapse; each line is stripped; at most one blank line separates paragraphs.
Then page furniture is removed, line by line, and only when the WHOLE line matches one of
``_FURNITURE`` (e.g. "Support us on Patreon", "Share this article", "Subscribe to our
newsletter", "Follow us on Twitter", "Advertisement", "Image copyright ...", "Image caption
...", "Getty Images", "Photo: ...", "Read more: ...", "Click here to ...", cookie notices), or
when one of the distinctive, capitalised phrases in ``_GLUED`` ends a short line (<= 160
chars) after other text: the phrase is cut and the rest of the line kept. Lines that merely
contain such words ("Shares rose 5%", "she would support the bill") are never touched.

Header (plain text, Markdown, and JSON text without a ``title`` field)
---------------------------------------------------------------------
1. Leading lines that are dates ("date 2025-03-27", "Published: 27 March 2025",
   "27/03/2025") or furniture are dropped; the first date is kept as ``date`` (ISO when
   the form is unambiguous, else as written).
2. The first block (lines up to the first blank line, at most 6 of them, with more text
   after it) is examined: its date lines, furniture lines and photo-credit lines ("Source:
   Name", or "Caption. Source: Name") are set aside. If the last remaining line is
   headline-like (<= 120 chars, at least two words, one sentence, not ending in ``.``,
   ``:``, ``,`` or ``;``; a trailing ellipsis is allowed) it is the title, and the
   set-aside lines are dropped. The other lines above the headline are kept, except
   pull-quotes: lines of 6+ words of which at least 80 % occur in the body (dropping them
   loses nothing). If no headline is found the
   block is left as it was. This gives the BBC convention "Title\\n\\nBody" and handles
   scraped pages whose headline comes after a teaser, a date and a lead-photo caption.
   "Source:" credits are only recognised here, above a headline: in the body a "Source:"
   line may be a data attribution and is kept.

The title is not part of ``text``. ``Article.id`` is the first 16 hex digits of the SHA-256
of the normalised text (UTF-8); :func:`article_id` normalises before hashing, so
``article_id(a.text) == a.id``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.errors import ConfigError
from pipeline.text import normalise_word, split_sentences, words

__all__ = [
    "TEXT_FIELDS",
    "Article",
    "BadInput",
    "article_id",
    "iter_articles",
    "load_article_text",
    "normalise_text",
]

TEXT_FIELDS = ("text", "article", "body", "content", "document")
_DATE_FIELDS = ("date", "published", "published_at")
_FOLDER_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})


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


@dataclass(frozen=True, slots=True)
class BadInput:
    """One input that cannot be used as an article; it becomes a failed record."""

    id: str
    source: str
    message: str
    kind: str = "bad_input"


Item = Article | BadInput


def _names(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


def _hash16(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def article_id(text: str) -> str:
    """First 16 hex digits of the SHA-256 of the normalised text (UTF-8)."""
    return _hash16(normalise_text(text).encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Normalisation

_LINE_BREAKS = re.compile(r"\r\n?|[\f\v\x85\u2028\u2029]")
_ODD_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Invisible (zero-width, soft hyphen, bidi marks, BOM) and control characters: dropped.
_INVISIBLE = re.compile(
    r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    r"\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_SPACES = re.compile(r" {2,}")

_CREDIT_WORD = r"(?:photo|photograph|picture|pic|image|credit|photo credit|image credit)s?"

# Whole-line page furniture (case-insensitive; optional trailing punctuation is allowed).
_FURNITURE = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            r"support us on (?:patreon|ko-?fi|substack)",
            r"(?:please )?support (?:our|independent) journalism",
            r"(?:share|tweet|email|print) (?:this|the) (?:article|story|page|post)"
            r"(?: on (?:facebook|twitter|x|whatsapp|linkedin|email))?",
            r"share (?:on|via) (?:facebook|twitter|x|whatsapp|linkedin|email|reddit)",
            r"(?:subscribe|sign up) (?:now )?(?:to|for) (?:our|the) (?:\w+ )?newsletters?",
            r"follow us on (?:twitter|x|facebook|instagram|tiktok|threads|bluesky|youtube|linkedin)"
            r"(?:(?:,| and| or) (?:twitter|x|facebook|instagram|tiktok|threads|bluesky|youtube"
            r"|linkedin))*",
            r"advertisement|advert|sponsored(?: content)?",
            r"(?:image|media) (?:copyright|caption|source)\b.{0,150}",
            r"getty images(?: ?/ ?\w+)?",
            _CREDIT_WORD + r" ?:.{1,100}",
            r"(?:photo|picture|image)s? (?:by|courtesy of) [^.]{1,80}",
            r"read more ?:.{0,150}|read more|related ?:.{0,150}",
            r"click here to .{1,100}",
            r"this (?:web)?site uses cookies.{0,250}",
            r"we use cookies\b(?=.*\b(?:site|website|experience|browsing|browser|consent|privacy"
            r"|policy|settings|accept|agree|continu\w*|personali[sz]\w*|analytics|advertising)\b)"
            r".{0,250}",
            r"(?:accept|reject|manage)(?: all)? cookies|cookie (?:settings|policy|preferences)",
            r"skip to (?:main )?content|jump to (?:main )?content",
            r"(?:copyright )?(?:©|\(c\)) ?\d{4}.{0,80}",
        )
    ),
    re.IGNORECASE,
)
_FURNITURE_MAX = 300  # no furniture line is longer than this
_TRAILING_PUNCT = " .!:|-–—»›>"

# Distinctive phrases cut when glued to the end of a short line ("date 2025-03-27 Support us
# on Patreon"). Case-sensitive first letter: a capitalised phrase mid-line is not prose.
_GLUED = re.compile(
    r"(?<=\S)\s+(?:Support us on (?:Patreon|Ko-?fi|Substack)|Share this (?:article|story)"
    r"|Subscribe to our newsletter|Sign up (?:to|for) our newsletter"
    r"|Follow us on (?:Twitter|X|Facebook|Instagram))[\s.!]*$"
)


def _clean_line(line: str) -> str:
    line = _INVISIBLE.sub("", line)
    line = _ODD_SPACES.sub(" ", line)
    return _SPACES.sub(" ", line).strip()


def _clean_lines(text: str) -> list[str]:
    """Character-level cleaning: NFC, line breaks, spaces, invisible and control chars."""
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS.sub("\n", text)
    return [_clean_line(line) for line in text.split("\n")]


def _is_furniture(line: str) -> bool:
    if len(line) > _FURNITURE_MAX:
        return False
    core = line.rstrip(_TRAILING_PUNCT) or line
    return _FURNITURE.fullmatch(core) is not None


def _strip_glued(line: str) -> str:
    if len(line) > 160:
        return line
    return _GLUED.sub("", line)


def _join_paragraphs(lines: Iterable[str]) -> str:
    out: list[str] = []
    blank = False
    for line in lines:
        if not line:
            blank = bool(out)
            continue
        if blank:
            out.append("")
            blank = False
        out.append(line)
    return "\n".join(out)


def normalise_text(text: str) -> str:
    """Normalise article text; see the module docstring for the rules. Idempotent."""
    lines = []
    for line in _clean_lines(text):
        line = _strip_glued(line)
        if line and _is_furniture(line):
            continue
        lines.append(line)
    return _join_paragraphs(lines)


# ---------------------------------------------------------------------------------------------
# Header: title and date

_MONTH_NAMES = (
    "january jan|february feb|march mar|april apr|may|june jun|july jul|august aug"
    "|september sep sept|october oct|november nov|december dec"
)
_MONTHS = {
    name: number
    for number, group in enumerate(_MONTH_NAMES.split("|"), start=1)
    for name in group.split()
}
_MONTH = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?,?\s+)?"
_TIME = r"(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?(?:\s+[A-Z]{2,5})?)?"
_DATE_FORMS = (
    r"(?P<iso>\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    r"(?P<d1>\d{1,2})[/.](?P<d2>\d{1,2})[/.](?P<y>\d{4})" + _TIME,
    _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<y>\d{4})" + _TIME,
    _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})" + _TIME,
)
_DATE_LABEL = r"(?:date[d:]?|published(?: on)?|posted(?: on)?|updated|last updated|first published)"
_DATE_LINES = tuple(
    re.compile(r"(?:" + _DATE_LABEL + r"\s*:?\s*)?" + form + r"\s*", re.IGNORECASE)
    for form in _DATE_FORMS
)
_LABELLED_DATE = re.compile(_DATE_LABEL + r"\s*:\s*(?P<raw>.{4,60})", re.IGNORECASE)


def _date_from_line(line: str) -> str | None:
    """The date of a line that is only a date (optionally labelled), else None."""
    for pattern in _DATE_LINES:
        m = pattern.fullmatch(line)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("iso"):
            return str(groups["iso"])
        year = int(groups["y"])
        if groups.get("mon"):
            return f"{year:04d}-{_MONTHS[groups['mon'].lower()]:02d}-{int(groups['day']):02d}"
        a, b = int(groups["d1"]), int(groups["d2"])
        if a > 12 >= b:
            return f"{year:04d}-{b:02d}-{a:02d}"
        if b > 12 >= a:
            return f"{year:04d}-{a:02d}-{b:02d}"
        return line.split(":", 1)[-1].strip() if ":" in line else line
    m = _LABELLED_DATE.fullmatch(line)
    if m and any(ch.isdigit() for ch in m.group("raw")):
        return m.group("raw").strip()
    return None


_CREDIT_NAME = r"[A-Z][\w'’&.-]*(?:[ /][A-Z&][\w'’&.-]*|\s(?:via|de|van|von|al|bin)){0,5}"
_HEADER_CREDIT = re.compile(
    r"(?:.{0,200}?(?<=[.!?”\"])\s+)?(?:source|"
    + _CREDIT_WORD
    + r")\s?:\s?(?-i:"
    + _CREDIT_NAME
    + ")",
    re.IGNORECASE,
)


def _is_header_credit(line: str) -> bool:
    """A lead-photo caption credit: "Source: Name" or "Caption. Source: Name"."""
    if len(line) > 250 or line.endswith("."):
        return False
    m = _HEADER_CREDIT.fullmatch(line)
    if not m:
        return False
    name = line.rsplit(":", 1)[-1].strip()
    return bool(name) and name[0].isupper() and not any(ch.isdigit() for ch in name)


def _is_headline(line: str) -> bool:
    bare = line.rstrip("”’\"')")
    if bare.endswith(("...", "…")):  # a trailing ellipsis is headline style, not a full stop
        bare = bare.rstrip(".…") or "."
    if not bare or len(line) > 120 or bare[-1] in ".:,;" or len(words(line)) < 2:
        return False
    if re.match(r"(?:https?://|www\.)", line):
        return False
    return len(split_sentences(line)) == 1


def _is_pull_quote(line: str, body: str) -> bool:
    """A line of 6+ words, at least 80 % of which occur in the body."""
    line_words = {normalise_word(w) for w in words(line)}
    if len(line_words) < 6:
        return False
    body_words = {normalise_word(w) for w in words(body)}
    return len(line_words & body_words) >= 0.8 * len(line_words)


@dataclass(slots=True)
class _Header:
    title: str | None
    date: str | None
    lines: list[str]


def _split_header(lines: list[str], *, find_title: bool = True) -> _Header:
    """Take the title and date from the leading lines (see "Header" in the module docstring)."""
    date: str | None = None
    i = 0
    # 1. Leading date and furniture lines.
    while i < len(lines):
        line = _strip_glued(lines[i])
        if not line:
            i += 1
            continue
        found = _date_from_line(line)
        if found is not None:
            date = date or found
        elif not _is_furniture(line):
            break
        i += 1
    rest = lines[i:]
    if not find_title:
        return _Header(None, date, rest)
    # 2. The first block, if a headline ends it.
    end = rest.index("") if "" in rest else len(rest)
    after = rest[end:]
    if end == 0 or end > 6 or not any(after):
        return _Header(None, date, rest)
    kept: list[tuple[str, str | None]] = []
    for line in rest[:end]:
        line = _strip_glued(line)
        if _is_furniture(line) or _is_header_credit(line):
            continue
        kept.append((line, _date_from_line(line)))
    content = [line for line, found in kept if found is None]
    if not content or not _is_headline(content[-1]):
        return _Header(None, date, rest)
    title = content[-1]
    date = date or next((found for _, found in kept if found is not None), None)
    body = "\n".join(after)
    above = [line for line in content[:-1] if not _is_pull_quote(line, body)]
    return _Header(title, date, [*above, "", *after] if above else after)


def _make_article(
    source: str,
    text: str,
    *,
    title: str | None = None,
    date: str | None = None,
    url: str | None = None,
    external_id: str | None = None,
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
    )


def _bad(source: str, raw: bytes | None, problem: str) -> BadInput:
    ident = _hash16(raw if raw else source.encode("utf-8"))
    return BadInput(id=ident, source=source, message=f"{source}: {problem}")


# ---------------------------------------------------------------------------------------------
# Decoding

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_WESTERN = frozenset(
    "£€¥¢©®°±×÷½¼¾²³µ§¶·«»‹›‘’‚“”„–—…•†‡‰™¿¡ªº´¨ˆ˜ŒœŠšŽžŸƒ\u00a0"
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ"
)


class _Undecodable(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


_BINARY = "looks like a binary file, not text; pass a .txt, .md, .html, .json or .jsonl file"


def _looks_binary(raw: bytes) -> bool:
    head = raw[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in b"\t\n\r\f\v\x1b")
    return bool(head) and controls > 0.1 * len(head)


def _decode(raw: bytes) -> str:
    """Decode bytes as described in the module docstring; raise _Undecodable if we cannot."""
    if raw.startswith(_UTF16_BOMS):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise _Undecodable("cannot decode the UTF-16 text; save it as UTF-8") from None
    if _looks_binary(raw):
        raise _Undecodable(_BINARY)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        # Western text has few non-ASCII characters, nearly all of them Latin-1 letters and
        # typographic marks; text in another single-byte code page (Cyrillic, Greek...) has many.
        high = [ch for ch in text if ord(ch) > 127]
        letters = sum(ch.isalpha() for ch in text)
        western = sum(ch in _WESTERN for ch in high)
        if western >= 0.9 * len(high) and len(high) <= 0.2 * max(letters, 1):
            return text
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise _Undecodable(
            "cannot decode the text (not UTF-8, and no other encoding detected); save it as UTF-8"
        )
    return str(best)


# ---------------------------------------------------------------------------------------------
# Formats


def _str_field(obj: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = obj.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
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
        data = json.loads(text)
    except json.JSONDecodeError as e:
        yield _bad(
            source,
            raw,
            f"not valid JSON ({e.msg}: line {e.lineno} column {e.colno}); fix the file",
        )
        return
    if isinstance(data, list):
        if not data:
            yield _bad(source, raw, "the JSON list is empty; add article objects or remove it")
        for n, item in enumerate(data, start=1):
            item_raw = json.dumps(item, sort_keys=True, ensure_ascii=False).encode("utf-8")
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


def _jsonl_line(source: str, number: int, raw: bytes) -> Item | None:
    """One JSONL line -> an item; None for a blank line."""
    where = f"{source}:{number}"
    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as e:
        return _bad(where, raw, f"line is not valid UTF-8 ({e.reason}); fix the line or remove it")
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return _bad(
            where,
            raw,
            f"line is not valid JSON ({e.msg}: column {e.colno}); fix the line or remove it",
        )
    return _from_object(where, obj, raw)


def _iter_jsonl_lines(source: str, stream: Iterable[bytes], first: int = 1) -> Iterator[Item]:
    seen = False
    for number, raw in enumerate(stream, start=first):
        item = _jsonl_line(source, number, raw)
        if item is not None:
            seen = True
            yield item
    if not seen and first == 1:
        yield _bad(source, None, "file is empty (no JSON lines); add articles or remove the file")


def _iter_jsonl(source: str, path: Path) -> Iterator[Item]:
    with path.open("rb") as f:
        head = f.read(8192)
        if _looks_binary(head):
            yield _bad(source, head, _BINARY)
            return
        f.seek(0)
        yield from _iter_jsonl_lines(source, f)


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
        find_title=not title,
    )


_HTML_DROP = tuple(
    _names("script style nav header footer aside form noscript template iframe svg button")
)
_HTML_BLOCKS = _names(
    "address article blockquote dd div dl dt figcaption figure h1 h2 h3 h4 h5 h6 hr li main ol p "
    "pre section table tbody td th thead tr ul"
)


def _html_article(source: str, raw: bytes, text: str) -> Item:
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
    return _make_article(source, "".join(parts), title=title, date=date, url=url, find_title=False)


def _is_credit_text(text: str) -> bool:
    return not text or _is_furniture(text) or _is_header_credit(text)


_PARSERS = {
    ".md": _markdown_article,
    ".markdown": _markdown_article,
    ".html": _html_article,
    ".htm": _html_article,
}


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
        if _looks_binary(raw):
            yield _bad(source, raw, _BINARY)
            return
        yield from _iter_jsonl_lines(source, io.BytesIO(raw))
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


# ---------------------------------------------------------------------------------------------
# Paths and stdin


def _read_file(source: str, path: Path) -> Iterator[Item]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            yield from _iter_jsonl(source, path)
            return
        raw = path.read_bytes()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        yield _bad(source, None, f"cannot read the file ({reason}); check that it is readable")
        return
    yield from load_article_text(source, raw, suffix=suffix)


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or Path(name).suffix.lower() not in _FOLDER_EXTENSIONS:
                continue
            found.append(Path(root, name))
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _read_stdin(stream: IO[bytes]) -> Iterator[Item]:
    lines = iter(stream.readline, b"")
    consumed: list[bytes] = []
    first: bytes | None = None
    for line in lines:
        consumed.append(line)
        if line.strip():
            first = line
            break
    if first is not None and first.lstrip(b"\xef\xbb\xbf \t").startswith(b"{"):
        try:
            obj = json.loads(first.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            obj = None
        if isinstance(obj, dict):
            number = len(consumed)
            yield _from_object(f"-:{number}", obj, first)
            yield from _iter_jsonl_lines("-", lines, first=number + 1)
            return
    raw = b"".join(consumed) + b"".join(lines)
    if raw.strip()[:1] in (b"{", b"["):
        try:
            json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass
        else:
            yield from _iter_json("-", raw)
            return
    yield from load_article_text("-", raw, suffix=".txt")


def _check_paths(paths: Sequence[str | Path]) -> list[str | Path]:
    checked = list(paths)
    for p in checked:
        if str(p) != "-" and not Path(p).exists():
            raise ConfigError(f"no such file or folder: {p} (check the path; default is seeds/)")
    return checked


def _iter_paths(paths: list[str | Path], stdin: IO[bytes] | None) -> Iterator[Item]:
    for p in paths:
        if str(p) == "-":
            yield from _read_stdin(stdin if stdin is not None else sys.stdin.buffer)
            continue
        path = Path(p)
        if path.is_dir():
            for file in _walk(path):
                yield from _read_file(str(file), file)
        else:
            yield from _read_file(str(p), path)


def iter_articles(
    paths: Sequence[str | Path], *, stdin: IO[bytes] | None = None
) -> Iterator[Article | BadInput]:
    """Yield one Article or BadInput per input, in order, streaming (see the module docstring).

    Raises ConfigError at once (before anything is read) if a path does not exist.
    """
    return _iter_paths(_check_paths(paths), stdin)
