"""Words: the shared word lists (stopwords, sentence starters, month and weekday names),
a tiny stemmer, content terms, and cutting text at a word boundary."""

from __future__ import annotations

from pipeline.text import normalise_word, words


def _wordset(text: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words of ``text`` (for long word lists)."""
    return frozenset(text.split())


_STOPWORDS = _wordset(
    """a about above after again against all almost also although am among an and any are
    around as at away back be became because been before being below between both but by
    can could did do does doing done down during each either else even ever every few for
    from further get gets got had has have having he her here hers herself him himself his
    how however i if in into is it its itself just least less like made make makes many
    may me might more most much must my myself near neither never new no nor not now of
    off often on once one only onto or other others our ours ourselves out over own per
    perhaps put quite rather really said same say says see seen several shall she should
    since so some still such than that the their theirs them themselves then there these
    they this those though through thus to too two under until up upon us very via was we
    well were what whatever when where whether which while who whom whose why will with
    within without would yet you your yours yourself mr mrs ms dr told according added
    including include includes been being year years time times week weeks day days month
    months last next first second third three four five six seven eight nine ten another
    because cent percent per already among lot lots way ways thing things going want wants
    took take takes taken make made come came comes go goes went left right us uk"""
)

_SENTENCE_STARTERS = _wordset(
    """a an the this that these those it its he she they we i you his her their our my
    in on at by for from with after before as if when while but and or so yet however
    although though since because during despite there here what which who how why where
    some many most all both each every no not one two three four five six seven eight
    nine ten more other another such meanwhile also last next earlier later today
    yesterday tomorrow now previously alongside until unless whether once of to up
    according officials police instead indeed perhaps still then thus overall finally
    everything everyone everybody nothing nobody something someone anything anyone"""
)

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_FULL_MONTHS = _MONTHS.split("|Jan|")[0]
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"


def _stem(word: str) -> str:
    """A tiny suffix stripper so "troops"/"troop" and "deployed"/"deploy" match."""
    w = normalise_word(word)
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith("ss"):
                return w
            return w[: len(w) - len(suffix)] + keep
    return w


def _content_terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` (stopwords and short tokens dropped)."""
    out: list[str] = []
    for w in words(text):
        lw = normalise_word(w)
        if len(lw) < 3 or lw in _STOPWORDS or not any(c.isalpha() for c in lw):
            continue
        out.append(_stem(lw))
    return out


def _trim_words(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"
