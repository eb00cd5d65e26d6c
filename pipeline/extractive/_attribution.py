"""Attribution: who a sentence (or one side of a contrast) attributes its claim to:
"according to X", "X said", "..., said X", "X's estimate"."""

from __future__ import annotations

import re

from pipeline.extractive._words import _wordset

_SAY_VERBS = (
    r"said|says|say|reported|reports|report|estimated|estimates|claimed|claims|told|noted|"
    r"added|announced|stated|states|wrote|writes|confirmed|confirms|warned|warns|insisted|"
    r"explained|believes|believed|revealed|revealing"
)
_SUBJECT_BEFORE = re.compile(rf"\b(?:{_SAY_VERBS})\b")
_GENERIC_ACTORS = re.compile(
    r"(?i)\b(officials?|police|analysts?|experts?|researchers?|spokes(?:person|man|woman)|"
    r"ministry|government|military|army|authorities|sources?|scientists?|doctors?|"
    r"prosecutors?|investigators?|witnesses|residents)\b"
)
_PRONOUNS = _wordset("he she they it we i you this that there who which")
_STOP_AFTER_SOURCE = re.compile(
    r"(?i)\s(?:released|published|issued|on|in|at|from|that|which|who|as|when|to|"
    r"and|but|while|after|before|during|last|this|earlier|for)\b.*$"
)
_CLAUSE_BREAK = re.compile(r"[,;:()“”\"]|\bthat\b|\bwhile\b|\band\b|\bbut\b|—|–| - ")


def _clean_actor(text: str) -> str | None:
    actor = text.strip(" ,;:-–—\"“”'’(").strip().rstrip(".")
    actor = re.sub(r"^(?i:and|but|while|as|previously|meanwhile|also|then)\s+", "", actor)
    actor = re.sub(r"\s+(?:also|previously|later|earlier|has|had|have|had|was|is)$", "", actor)
    if not actor or actor.lower() in _PRONOUNS or len(actor) > 200:
        return None
    n_words = len(actor.split())
    if n_words > 10:
        return None
    determiner = re.match(r"(?i)(?:the|a|an)\s", actor) is not None and n_words <= 4
    if not re.search(r"[A-Z]", actor) and not _GENERIC_ACTORS.search(actor) and not determiner:
        return None
    return actor


def _attribution(sentence: str) -> str | None:
    """Who the sentence attributes its claim to, or ``None``.

    Recognises "according to X", "reported by X", "X said/says/reported ...",
    "..., said X" and "X's estimate".
    """
    m = re.search(r"\b(?:according to|reported by|cited by|quoted by)\s+([^,;:.!?]+)", sentence)
    if m:
        actor = _clean_actor(_STOP_AFTER_SOURCE.sub("", m.group(1)))
        if actor:
            return actor
    for v in _SUBJECT_BEFORE.finditer(sentence):
        before = sentence[: v.start()].rstrip()
        # "..., said Mr Smith" / "said the ministry"
        after = sentence[v.end() :]
        inverted = re.match(
            r"\s+((?:the\s+)?[A-Z][\w’'.&-]*(?:\s+(?:of\s+)?[A-Z][\w’'.&-]*)*)", after
        )
        if before.endswith((",", "”", '"', "’")) and inverted:
            actor = _clean_actor(inverted.group(1))
            if actor:
                return actor
        pieces = _CLAUSE_BREAK.split(before)
        subject = pieces[-1] if pieces else before
        if not subject.strip() and len(pieces) >= 2 and before.endswith(")"):
            # "the Joint Chiefs of Staff (JCS) said": keep the bracketed acronym
            subject = before[before.rfind(",") + 1 :] if "," in before else before
        actor = _clean_actor(subject)
        if actor:
            return actor
    m = re.search(
        r"\b((?:[A-Z][\w-]*\s+){0,3}[A-Z][\w-]*)[’']s\s+(?:estimate|figures?|data|count|tally)\b",
        sentence,
    )
    if m:
        return _clean_actor(m.group(1))
    return None


_CONTRAST = re.compile(r"\b(?:while|whereas|but|however|compared with)\b")


def _possessive_actor(text: str) -> str | None:
    m = re.search(
        r"\b((?:the\s+)?(?:[A-Z][\w-]*\s+){0,3}[\w-]+)[’']s\s+(?:[a-z]+\s+)?"
        r"(?:estimate|figure|count|tally|number)",
        text,
    )
    return m.group(1) if m else None
