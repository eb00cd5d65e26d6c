"""The entry point: :func:`summarise` runs every stage over one article and returns a
``summary.v1`` object."""

from __future__ import annotations

from typing import Any

from pipeline.errors import ArticleError
from pipeline.extractive._caveats import _figure_caveats, _qualifier_caveats
from pipeline.extractive._dates import _dates
from pipeline.extractive._entities import _entities
from pipeline.extractive._figures import _figures
from pipeline.extractive._quotes import _quotes
from pipeline.extractive._ranking import (
    _SUMMARY_MAX,
    _SUSPECT_PENALTY,
    _build_summary,
    _headline,
    _key_points,
    _score,
)
from pipeline.extractive._sentences import _prepare
from pipeline.extractive._topics import _topics
from pipeline.extractive._words import _trim_words

#: The largest article (in characters) the built-in model accepts. 200,000
#: characters is about 50,000 tokens: several times the longest news feature
#: (long reads run to 30-40k characters), so no real article is refused, while
#: anything larger is almost surely not one article (a book, a site dump, a
#: loader bug). The bound also caps the summariser's time and memory; the work
#: is roughly linear in the text, and 200k characters take well under a second.
MAX_ARTICLE_CHARS = 200_000


def summarise(text: str, *, title: str | None = None, date: str | None = None) -> dict[str, Any]:
    """Summarise one article into a ``summary.v1`` object.

    ``title`` becomes the headline when given; ``date`` (the publication date) is
    accepted for interface parity and not otherwise used. Raises
    :class:`~pipeline.errors.ArticleError` (``too_long``) above
    :data:`MAX_ARTICLE_CHARS`, and (``bad_input``) when the text holds fewer than
    20 characters of words, which is too little to summarise.
    """
    if len(text) > MAX_ARTICLE_CHARS:
        raise ArticleError(
            f"article has {len(text):,} characters; the built-in model accepts at most "
            f"{MAX_ARTICLE_CHARS:,}",
            kind="too_long",
        )
    sentences = _prepare(text)
    if not sentences or len(" ".join(s.text for s in sentences)) < 20:
        raise ArticleError("article is empty or too short to summarise (under 20 characters)")
    qualifier_caveats, suspect = _qualifier_caveats(sentences, title)
    for s in sentences:
        if s.index in suspect:  # don't repeat a sentence we flag as a possible contradiction
            s.penalty += _SUSPECT_PENALTY
            s.flags.append("suspect")
    _score(sentences, title)
    summary = _build_summary(sentences)
    if len(summary) < 20:
        summary = _trim_words(" ".join(s.text for s in sentences), _SUMMARY_MAX)
    entities = _entities(sentences, text)
    caveats = (qualifier_caveats + _figure_caveats(sentences))[:5]
    return {
        "headline": _headline(title, sentences),
        "summary": summary,
        "key_points": _key_points(sentences),
        "entities": entities,
        "figures": _figures(sentences),
        "quotes": _quotes(text, sentences),
        "dates": _dates(sentences),
        "topics": _topics(sentences, entities, f"{title or ''} {summary}"),
        "caveats": caveats,
    }
