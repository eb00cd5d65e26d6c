"""Quotes: quotations with their speakers."""

from __future__ import annotations

import re
from typing import TypedDict

from pipeline.extractive._attribution import _CLAUSE_BREAK, _SAY_VERBS, _attribution, _clean_actor
from pipeline.extractive._sentences import _Sentence
from pipeline.text import split_sentences

_EVENT_MAX = 300


class Quote(TypedDict):
    text: str
    speaker: str | None


# -- quotes -----------------------------------------------------------------------------------

# Curly quotes pair unambiguously (a ’ between letters is an apostrophe); a straight quote
# opens only after a space or bracket and closes only before a space or punctuation, so
# '..." he said. "...' never pairs the text between two quotations. Single quotation
# marks, curly or straight, are the Daily Mail's and many British papers' style.
_QUOTE = re.compile(
    r"“([^“”]+)”"
    r"|(?:^|(?<=[\s(\[—–-]))\"(?=[^\s\"])([^\"]*?[^\s\"])\"(?=$|[\s.,;:!?)\]—–-])"
    r"|(?:^|(?<=[\s(\[—–-]))‘(?=\S)((?:[^‘’]|’(?=\w))*?[^\s‘])’(?!\w)"
    r"|(?:^|(?<=[\s(\[—–-]))'(?=[^\s'])((?:[^']|(?<=\w)'(?=\w))*?[^\s'])'(?=$|[\s.,;:!?)\]—–-])"
)
_SAY = (
    _SAY_VERBS + r"|continued|replied|recalled|joked|laughed|admitted|insisted|tweeted|asked|"
    r"added|explained|wrote"
)
_PRONOUN_AFTER = re.compile(rf"^\s*[,.]?\s*(?:he|she)\s+(?:{_SAY})\b")
_PRONOUN_BEFORE = re.compile(rf"\b(?:he|she|He|She)\s+(?:{_SAY})(?:\s+that)?\s*[:,]?\s*$")
_ATTRIBUTION_GAP = re.compile(
    rf"^\s*[,.]?\s*(?:(?:{_SAY})\s+[^.!?]{{0,60}}|[^.!?]{{0,60}}\s(?:{_SAY})\b[^.!?]{{0,40}})"
    r"[.!?]?\s*$"
)
_NEAR = 1200  # characters: how far back a "he said" may look for the speaker it means


def _quotes(text: str, sentences: list[_Sentence]) -> list[Quote]:
    """Up to 10 quotations of three words or more, each with its speaker.

    The speaker is the one the sentence names ("..., said Michael Scudamore", "Osbourne
    said: ..."). "He said" / "she said" means the last speaker named (within about 1,200
    characters), else the person the sentences before it name ("Todd Thiemann, ..., said
    ... '...,' he said"). A quotation that only continues one just attributed
    ('"...," Osbourne said. "In hindsight ..."') has that speaker. A trailing comma, semicolon
    or colon (the punctuation of "'...,' he said") is not part of the quote.
    """
    out: list[Quote] = []
    seen: set[str] = set()
    last: tuple[int, str] | None = None  # (offset in text, speaker) of the last named speaker
    base = 0
    for raw in re.split(r"(\n\s*\n|\n)", text):
        para = " ".join(raw.split())
        here = base
        base += len(raw)
        if not para:
            continue
        para_sents = split_sentences(para)
        offsets: list[tuple[int, int]] = []
        cursor = 0
        for ps in para_sents:
            at = para.find(ps, cursor)
            at = cursor if at < 0 else at
            offsets.append((at, at + len(ps)))
            cursor = at + len(ps)
        previous_end: int | None = None  # where the last quote of this paragraph ended
        previous_speaker: str | None = None
        for m in _QUOTE.finditer(para):
            quoted = next(g for g in m.groups() if g is not None).strip().rstrip(",;: ")
            if len(quoted.split()) < 3 or len(quoted) > 600 or quoted in seen:
                continue
            seen.add(quoted)
            # The sentence(s) the quote sits in, with the quote itself blanked out.
            lo = next((a for a, b in offsets if a <= m.start() < b), 0)
            hi = next((b for a, b in offsets if a < m.end() <= b), len(para))
            context = para[lo : m.start()] + " “QUOTE” " + para[m.end() : hi]
            speaker = _speaker(context)
            at = here + m.start()
            pronoun = _PRONOUN_AFTER.match(para[m.end() : hi]) or _PRONOUN_BEFORE.search(
                para[lo : m.start()]
            )
            if speaker is None and pronoun:
                named, spoke = _named_before(text[max(0, here + lo - 600) : here + lo])
                speaker = named
                if named is None and not spoke and last is not None and at - last[0] <= _NEAR:
                    speaker = last[1]
            if speaker is None and previous_end is not None and previous_speaker:
                gap = para[previous_end : m.start()]
                if not gap.strip() or _ATTRIBUTION_GAP.match(gap):
                    speaker = previous_speaker  # '"...," Osbourne said. "In hindsight ..."'
            if speaker is not None and _a_person(speaker):
                last = (at, speaker)
            previous_end, previous_speaker = m.end(), speaker
            out.append({"text": quoted, "speaker": speaker})
            if len(out) >= 10:
                return out
    return out


_SUBJECT_VERB = re.compile(
    rf"([A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*){{0,3}})\s+(?:{_SAY}|thinks|believes|feels)\b"
)
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Sir|Dame|Lord|Lady|Prof)\.?\s+[A-Z][\w’'-]+")


def _named_before(before: str) -> tuple[str | None, bool]:
    """The person the two sentences before a "he said" quotation name ("Former cabinet
    colleague Lord Hattersley said ...", "Federer admitted he was ..."), by title and name
    when it has one; and whether those sentences report speech by someone not named as a
    person (then an earlier speaker is not assumed)."""
    spoke = False
    for sentence in reversed(split_sentences(before)[-2:]):
        actor = _attribution(sentence)
        if actor is None:
            m = _SUBJECT_VERB.search(sentence)
            actor = m.group(1) if m else None
        if not actor or actor.split()[0] in ("He", "She", "They", "It", "The", "A", "he", "she"):
            continue
        at = sentence.find(actor)
        before_actor = sentence[:at].split()[-1:] if at > 0 else []
        if before_actor and before_actor[0].lower() in ("and", "of", "for", "the", "at", "from"):
            spoke = True  # "A spokesman for the Association of ... and Clearing Services said"
            continue
        titled = _TITLED.search(actor)
        if titled:
            return titled.group(0), True
        if _a_person(actor) and not re.fullmatch(r"[A-Z]{2,}", actor):
            return actor, True
        spoke = True  # "A spokesman for the ... said", "EA said": not who "he" is
    return None, spoke


def _a_person(speaker: str) -> bool:
    """Whether a speaker can be what a later "he said" means: a name or a titled name,
    not a description ("a Capital Economics statement", "Last month the Brit Awards")."""
    words = speaker.split()
    names = [w for w in words if w not in ("of", "for", "and", "de", "van", "von")]
    return all(w[:1].isupper() for w in names) and words[0] not in ("Last", "The", "A", "This")


def _speaker(context: str) -> str | None:
    after = context.split("“QUOTE”", 1)[1] if "“QUOTE”" in context else ""
    before = context.split("“QUOTE”", 1)[0]
    # ', X said' / ', said X' after the quote.
    m = re.match(rf"\s*[,.]?\s*((?:[A-Z][\w’'.-]*\s*){{1,5}})\s+(?:{_SAY})\b", after)
    if m:
        actor = _clean_actor(m.group(1))
        if actor:
            return actor
    m = re.match(
        rf"\s*[,.]?\s*(?:{_SAY})\s+((?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)",
        after,
    )
    if m:
        actor = _clean_actor(m.group(1))
        if actor:
            return actor
    # 'X said: “...”' / 'X noted that “...”' before the quote.
    m = re.search(rf"([^,;.“”\"]+?)\s+(?:{_SAY})(?:\s+that)?\s*[:,]?\s*$", before)
    if m:
        actor = _clean_actor(_CLAUSE_BREAK.split(m.group(1))[-1] or m.group(1))
        if actor:
            return actor
        # "... in 2012 Chief executive Ross McEwan said:": the name just before the verb
        run = re.search(r"((?:[A-Z][\w’'.-]*\s+){0,3}[A-Z][\w’'.-]*)\s*$", m.group(1))
        if run and _clean_actor(run.group(1)) is not None:
            return _clean_actor(run.group(1))
    # "Jonathan Isaby, of the TaxPayers’ Alliance, said: ‘...’": the name before the apposition
    m = re.search(
        rf"((?:[A-Z][\w’'.-]*\s+){{0,3}}[A-Z][\w’'.-]*),[^,]{{1,80}},\s*(?:{_SAY})\s*[:,]?\s*$",
        before,
    )
    if m:
        actor = _clean_actor(m.group(1))
        if actor:
            return actor
    return _attribution(before) or _attribution(re.split(r"(?<=[.!?])\s", after, maxsplit=1)[0])
