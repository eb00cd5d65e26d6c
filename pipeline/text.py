"""Plain-text helpers shared by every stage: sentence splitting, tokens, counts.

Nothing here downloads data: sentences are split by rules, tokens are estimated
from the text's length (about four characters a token for English prose, the
figure OpenAI documents for its tokenisers).
"""

from __future__ import annotations

import re
from functools import lru_cache

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep rev hon
    pres supt insp det cpl pte maj brig messrs mme mlle no nos vol vols fig figs
    inc ltd co corp plc llc bros dept univ assn est approx vs etc al jan feb mar apr jun jul aug
    sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun u.s u.k u.n e.g i.e
    a.m p.m""".split()
)

_SENT_END = re.compile(r"""([.!?…]+["'”’)\]]*)(\s+)(?=["'“‘(\[]?[A-Z0-9£$€])""")
# A closing curly quote with no stop before it, then a word that plainly opens a new
# sentence: '... “in keeping with the trend of modern warfare” On 27 March, ...'
# (a stop lost in the source). "The" is left out: '“appalling” The Times said'.
_QUOTE_END = re.compile(
    r"(?<=[a-z])(”)(\s+)(?=(?:On|In|At|It|He|She|They|We|This|That|These|But|And|However|"
    r"Meanwhile|Earlier|Later|Since|After|Before|A|An)\s)"
)
_WORD = re.compile(r"[\w’'][\w’'.\-]*", re.UNICODE)


def _start(m: re.Match[str]) -> int:
    return m.start()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences.

    Paragraph breaks always end a sentence. Inside a paragraph a sentence ends at
    ``.``, ``!``, ``?`` or ``…`` (with closing quotes or brackets) followed by
    space and a capital letter or digit, unless the word before the stop is a
    known abbreviation, a single initial ("J. Smith"), or a decimal. A closing
    curly quote with no stop before it also ends a sentence when the next word
    plainly starts one ("... modern warfare” On 27 March, ...").
    """
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\n(?=\S)", text):
        para = " ".join(para.split())
        if not para:
            continue
        start = 0
        stops = sorted([*_SENT_END.finditer(para), *_QUOTE_END.finditer(para)], key=_start)
        for m in stops:
            if m.start() < start:
                continue
            end = m.end(1)
            before = para[start : m.start(1)]
            last = before.rsplit(None, 1)[-1] if before.split() else ""
            token = last.lower().strip("\"'“‘(").rstrip(".")
            if m.group(1).startswith(".") and (
                token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
            ):
                continue
            sentence = para[start:end].strip()
            if sentence:
                out.append(sentence)
            start = m.end()
        tail = para[start:].strip()
        if tail:
            out.append(tail)
    return out


def words(text: str) -> list[str]:
    """Word tokens (letters, digits, inner apostrophes and hyphens)."""
    return [w.rstrip(".-") for w in _WORD.findall(text) if w.rstrip(".-")]


def estimate_tokens(text: str) -> int:
    """Estimate the token count of ``text`` without a tokeniser (about 4 characters a token)."""
    if not text:
        return 0
    return max(1, (len(text) + 3) // 4)


@lru_cache(maxsize=4096)
def normalise_word(word: str) -> str:
    """Lower-case a word and strip possessives, for overlap counting."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    return w
