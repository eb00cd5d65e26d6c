"""Decoding: bytes to text (UTF-8, UTF-16 with a BOM, cp1252 for Western text, else
charset-normalizer), and spotting binary files."""

from __future__ import annotations

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
