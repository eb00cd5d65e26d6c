"""Normalisation (:func:`normalise_text`): characters, spaces and lines cleaned, page
furniture dropped, paragraphs joined. The rules are in the package docstring."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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
