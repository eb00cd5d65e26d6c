"""Offline faithfulness scoring: how much of a summary its source article supports.

No model call, no downloads, stdlib only, deterministic. :func:`score` compares a
summary (plain text or a ``summary.v1`` object) with its source and returns a
:class:`FaithfulnessResult`: one number in [0, 1] and the summary's spans that the
source does not support.

Casing and tokenisation do not count: before the checks, the source is detokenised and
each summary sentence is detokenised and truecased from the source (``_canonical``), so
"his team 's 0-0 draw with burnley ." scores as "his team's 0-0 draw with Burnley." does,
and the spans reported stay those of the text as written.

The checks, per unit of the summary (a sentence of ``headline``/``summary``/
``key_points`` or plain text; one ``figures``, ``quotes``, ``entities`` or ``dates``
item):

- **support**: the share of the sentence's content words found in the best
  source sentence or the best fusion of two (words lower-cased and lightly
  stemmed, numbers normalised; ``BIGRAM_WEIGHT`` can mix in bigram coverage, off
  by default because it punishes paraphrase and did not help on SummEval).
  Below ``LOW_SUPPORT`` the whole sentence is unsupported.
- **fusion**: the sentence is copied from the source in longest verbatim
  fragments; each time two adjacent fragments come from different source
  sentences (or run backwards within one) is a *jump*. Splicing clauses from
  different places is where summarisers swap who did what, and on SummEval the
  number of jumps is the strongest single predictor of the experts' consistency
  scores that this package found.
- **numbers**: every number, normalised ("3,000" = 3000, "4.2 million" = 4.2e6,
  "$1.13bn" = 1.13e9 dollars, "76%" = "76 per cent", "a dozen" = 12), must occur
  in the source with a compatible unit (rounded source figures such as
  4,213,000 support "4.2 million").
- **entities and dates**: capitalised names, places, months and weekdays must
  occur in the source.
- **negation**: a negation ("not", "no", "never", "denied", ...) added to, or
  dropped from, the source sentence that supports the claim.
- **attribution**: the subject of "X says"/"according to X" must be named near
  the source sentences that make the claim.
- **quotes**: quoted text must occur in the source word for word (case, spacing,
  quote marks and punctuation ignored) and its speaker must be named near it.

The formula. Every check is a risk that the summary says something the source
does not, and ``faithfulness`` is the chance that none of them is real, taking
them as independent::

    unit = FUSION ** jumps * product(PENALTY[kind] for each unsupported item)
    faithfulness = product(unit for every unit) ** min(1, REFERENCE_WORDS / words)

with ``FUSION = 0.95`` and ``PENALTY`` = sentence 0.5, number 0.5, negation 0.5,
quote 0.4, entity 0.6, attribution 0.6, speaker 0.6. A fully extractive summary
scores 1; one invented number halves the score; a faithful but heavily
paraphrased summary loses about 5% per splice (what a lexical check cannot
verify, it does not vouch for). Because it is a product, a summary with more
claims has more chances to go wrong; past ``REFERENCE_WORDS`` (60) words of
sentences the exponent scales the risks down to a 60-word summary's, so a long
summary object is judged by the density of its problems. ``unsupported`` lists each
unsupported number, entity, quote, negation or attribution span, and whole
sentences whose support is below ``LOW_SUPPORT`` (then not the spans inside).
Per-unit details (support, jumps, issues) are in ``FaithfulnessResult.units``.

Modules, in the order a score runs through them: ``_canonical`` (detokenising, truecasing
from the source, the map back to the text as written), ``_words`` (tokeniser, stemmer, word
lists), ``_numbers`` (:func:`parse_numbers`, number matching, the tokens with each number
as one key), ``_source`` (the source index, built once per source and cached:
``_analyse``), ``_summary`` (a summary cut into units; :func:`summary_text`),
``_support`` (support, negation flips, jumps between source sentences; ``BIGRAM_WEIGHT``),
``_names`` (entity spans, attribution subjects, names near a claim), ``_checks`` (the
check of each kind of unit; ``LOW_SUPPORT``), ``_results`` (:class:`FaithfulnessResult`,
:class:`UnitScore`, :class:`Issue`, and a unit's score from ``FUSION`` and ``PENALTY``),
``_score`` (:func:`score`; ``REFERENCE_WORDS``) and ``_jsonl`` (:func:`score_jsonl`).

Each weight is defined in the module that reads it, and this package only re-exports it:
to change one at run time (an ablation), set it on that module, e.g.
``pipeline.faithfulness._results.FUSION``; setting it here has no effect.
"""

from __future__ import annotations

from pipeline.faithfulness._checks import LOW_SUPPORT
from pipeline.faithfulness._jsonl import score_jsonl
from pipeline.faithfulness._numbers import Number as Number
from pipeline.faithfulness._numbers import parse_numbers
from pipeline.faithfulness._results import FUSION as FUSION
from pipeline.faithfulness._results import PENALTY as PENALTY
from pipeline.faithfulness._results import FaithfulnessResult, Issue, UnitScore
from pipeline.faithfulness._score import REFERENCE_WORDS as REFERENCE_WORDS
from pipeline.faithfulness._score import score
from pipeline.faithfulness._source import _analyse as _analyse
from pipeline.faithfulness._summary import summary_text
from pipeline.faithfulness._support import BIGRAM_WEIGHT as BIGRAM_WEIGHT
from pipeline.faithfulness._words import ATTRIBUTION_VERBS as ATTRIBUTION_VERBS
from pipeline.faithfulness._words import NEGATIONS as NEGATIONS
from pipeline.faithfulness._words import STOPWORDS as STOPWORDS

__all__ = [
    "LOW_SUPPORT",
    "FaithfulnessResult",
    "Issue",
    "UnitScore",
    "parse_numbers",
    "score",
    "score_jsonl",
    "summary_text",
]
