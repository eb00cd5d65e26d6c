"""HTML pages: bytes to text (the charset sniffed as a browser would, then checked), and the
metadata a page declares about itself (publication date as written, author, site name,
canonical URL)."""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from pipeline.articles._decode import _BINARY, _looks_binary, _Undecodable

# -- decoding --------------------------------------------------------------------------------

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,100}encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
# Labels a page declares but means something wider by (WHATWG Encoding Standard): a page
# "in gb2312" uses GBK/GB18030 characters, one "in iso-8859-1" uses cp1252 punctuation.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
    "big5": "big5hkscs",
}
# A page declared in an ISO code page whose bytes use 0x80-0x9F (C1 controls there, printable
# in the Windows code page) was written in the Windows code page.
_WINDOWS_OF = {"iso8859-2": "cp1250", "iso8859-5": "cp1251", "iso8859-7": "cp1253"}
_C1 = re.compile("[\x80-\x9f]")
_SNIFF_BYTES = 32_768


def _codec(label: str) -> str | None:
    name = label.strip().strip("\"'").lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charsets(raw: bytes, transport: str | None = None) -> list[str]:
    """Codec names a page declares, in order: the HTTP header's, the XML declaration's, then
    each ``<meta charset>`` / ``http-equiv`` in the first 32 KiB (unknown labels skipped)."""
    labels: list[str] = [transport] if transport else []
    head = raw[:_SNIFF_BYTES]
    m = _XML_ENCODING.match(head)
    if m:
        labels.append(m.group(1).decode("ascii", "replace"))
    labels += [x.decode("ascii", "replace") for x in _META_CHARSET.findall(head)]
    out: list[str] = []
    for label in labels:
        codec = _codec(label)
        if codec is not None and codec not in out:
            out.append(codec)
    return out


def decode_html(raw: bytes, transport_charset: str | None = None) -> str:
    """Decode a page's bytes; raise :class:`_Undecodable` for a binary body.

    1. A byte-order mark decides (UTF-8, UTF-16).
    2. Bytes that are valid UTF-8 are UTF-8, whatever is declared: a page that declares
       another charset and is valid UTF-8 beyond ASCII is mis-declared far more often than
       it is a coincidence.
    3. Else the declared charsets (HTTP header, XML declaration, ``<meta>``), each widened to
       what the label means in practice (gb2312 -> GB18030, iso-8859-1 -> cp1252; an ISO page
       with bytes in 0x80-0x9F -> its Windows code page), the first that decodes cleanly.
    4. Else charset-normalizer's guess; else the first declared charset (or cp1252), with
       undecodable bytes replaced.
    """
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(codec, "replace")
    if raw.startswith(codecs.BOM_UTF16_BE):
        return raw.decode("utf-16", "replace")
    if _looks_binary(raw):
        raise _Undecodable(_BINARY.replace("file", "body"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = [c for c in declared_charsets(raw, transport_charset) if c != "utf-8"]
    for codec in declared:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        wider = _WINDOWS_OF.get(codec)
        if wider and _C1.search(text):
            try:
                return raw.decode(wider)
            except UnicodeDecodeError:
                pass
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    if best is not None and best.encoding:
        codec = _codec(best.encoding) or best.encoding
        return raw.decode(codec, "replace")
    return raw.decode(declared[0] if declared else "cp1252", "replace")


# -- metadata --------------------------------------------------------------------------------

_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_DATE_METAS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publication_date",
    "sailthru.date",
    "parsely-pub-date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.created",
    "date",
)
_AUTHOR_METAS = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_SITE_METAS = ("og:site_name", "application-name", "publisher", "dc.publisher")
_ARTICLE_TYPES = re.compile(r"(?:News|Blog|Scholarly|Tech|Report)?Article|Posting|Report", re.I)


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What a page says about itself; each field None when the page does not say."""

    published: str | None = None
    author: str | None = None
    site_name: str | None = None
    canonical: str | None = None


def _iso(value: object) -> str | None:
    """``value`` when it is an ISO 8601 date or date-time (as written, trimmed), else None."""
    if not isinstance(value, str):
        return None
    m = _ISO_DATE.match(value.strip())
    return m.group(0) if m else None


def _short(value: object, limit: int = 120) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(html.unescape(value).split())
    if not text or len(text) > limit or text.startswith(("http://", "https://", "{")):
        return None
    return text


def _names(value: Any) -> list[str]:
    """Person or organisation names from a JSON-LD value (string, object or list)."""
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    if isinstance(value, dict):
        name = _short(value.get("name"))
        return [name] if name else []
    name = _short(value)
    return [name] if name else []


def _json_ld(tree: Any) -> Iterator[dict[str, Any]]:
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content() or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            node = stack.pop(0)
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                yield node
                graph = node.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)


def _meta_values(tree: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content and key not in found:
            found[key] = content.strip()
    return found


def page_meta(tree: Any, base_url: str | None = None) -> PageMeta:
    """The publication date (as the page writes it, when ISO 8601), author, site name and
    canonical URL declared by a parsed page (an lxml HTML tree).

    Sources, first found wins: JSON-LD (an Article's ``datePublished``, ``author``,
    ``publisher``), then ``<meta>`` (``article:published_time`` and kin, ``author``,
    ``og:site_name``), then ``<time datetime>`` for the date; ``<link rel=canonical>`` then
    ``og:url`` for the URL, made absolute against ``base_url``.
    """
    published = author = site = None
    for node in _json_ld(tree):
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(isinstance(k, str) and _ARTICLE_TYPES.fullmatch(k) for k in kinds):
            continue
        published = published or _iso(node.get("datePublished")) or _iso(node.get("dateCreated"))
        authors = _names(node.get("author"))
        author = author or ("; ".join(dict.fromkeys(authors)) if authors else None)
        publishers = _names(node.get("publisher"))
        site = site or (publishers[0] if publishers else None)
    metas = _meta_values(tree)
    for key in _DATE_METAS:
        published = published or _iso(metas.get(key))
    if published is None:
        for node in tree.xpath("//time[@datetime]"):
            published = _iso(node.get("datetime"))
            if published:
                break
    for key in _AUTHOR_METAS:
        author = author or _short(metas.get(key))
    for key in _SITE_METAS:
        site = site or _short(metas.get(key), 80)
    canonical = None
    for href in tree.xpath('//link[@rel="canonical"]/@href') + [metas.get("og:url") or ""]:
        absolute = urljoin(base_url or "", str(href).strip()) if str(href).strip() else ""
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        if parts.path in ("", "/") and urlsplit(base_url or "").path not in ("", "/"):
            continue  # a canonical link to the home page is a template's mistake
        canonical = absolute
        break
    return PageMeta(published=published, author=author, site_name=site, canonical=canonical)
