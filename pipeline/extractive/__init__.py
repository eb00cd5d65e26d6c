"""The built-in offline model: a deterministic extractive summariser.

It is a baseline, not a language model. Every string it returns is copied from
the article (sentences, quotes, numbers, names, date phrases; a too-long one is
cut at a word and marked with "…") or is a short, fixed-form caveat built from
the article's own words; nothing is invented.

The public entry point is :func:`summarise`, which returns an object valid
against ``schemas/summary.v1.json``. The output depends only on the input
(no clocks, no randomness, no set-ordering), so the same article always gives
byte-identical JSON.

How the summary is chosen:

1. The text is split into sentences (:func:`pipeline.text.split_sentences`), and
   each is cut again where a web page glued captions, labels or furniture into it
   with no stop (``_seams``); page furniture, captions, datelines, bare dates,
   questions, colon-ended lead-ins and quote-only fragments are marked as unsuitable.
2. Each sentence is scored by position (news puts the main facts first),
   centrality (weighted overlap of its content words with the rest of the
   article), overlap with the title, and a length sanity term.
3. The best sentences are picked greedily, skipping near-duplicates and any
   sentence a caveat flags as a possible contradiction: at least two, then more
   (up to four) while the summary is short (under 65 words, staying within 85),
   listed in article order within the schema's 1,200 characters.

The other fields (figures, entities, quotes, dates, topics, caveats) are found
by small, documented rules, one module each:

- ``_model``: :func:`summarise`, which runs every stage below;
- ``_words``: word lists, stemming, content terms, trimming at a word;
- ``_seams``: caption seams inside a sentence, initialisms the splitter cut after;
- ``_sentences``: splitting and judging sentences (step 1);
- ``_ranking``: scoring and picking them: summary, headline, key points (2-3);
- ``_attribution``: who a sentence or clause attributes its claim to;
- ``_entities`` (name runs, merging), ``_typing`` (word lists, the type of a name) and
  ``_cues`` (what the article's wording says a name is);
- ``_figures``, with ``_numbers`` (what is a quantity) and ``_measures`` (what it counts);
- ``_quotes``, ``_dates``, ``_topics``, ``_caveats``: the other fields.
"""

from __future__ import annotations

from pipeline.extractive._model import MAX_ARTICLE_CHARS, summarise

__all__ = ["MAX_ARTICLE_CHARS", "summarise"]
