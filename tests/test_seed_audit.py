"""The seed audit (``benchmarks/seed_audit.py``): each rule flags the error it names, leaves
a correct field alone, and the built-in model stays within its audited error count."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "seed_audit", ROOT / "benchmarks" / "seed_audit.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["seed_audit"] = module
    spec.loader.exec_module(module)
    return module


ARTICLE = (
    "Royal Bank of Scotland lurched to a £446million loss, said Ross McEwan. "
    "Net profit was $186m (£98m; 143m euros) in the quarter. Louis Jordan, 37, took his "
    "35-foot sailboat out. US aircraft firm Boeing has unveiled its new 777 plane. "
    "'We are not going anywhere,' said Michael Scudamore. The singer was burgled on "
    "Monday, and the police were called on Monday night."
)


def _out(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "summary": "Royal Bank of Scotland lurched to a loss.",
        "key_points": ["Net profit was $186m."],
        "entities": [],
        "figures": [],
        "quotes": [],
        "dates": [],
    }
    base.update(fields)
    return base


def _classes(audit: ModuleType, out: dict[str, Any]) -> list[str]:
    flags = [
        *audit._figures("s", ARTICLE, out),
        *audit._quotes("s", ARTICLE, out),
        *audit._dates("s", ARTICLE, out),
        *audit._run_on("s", out),
    ]
    return sorted(f.cls for f in flags)


BAD = [
    (
        {"figures": [{"value": "37", "measure": "Louis Jordan", "source": None}]},
        "figure_not_quantity",
    ),
    (
        {"figures": [{"value": "777", "measure": "plane", "source": None}]},
        "figure_not_quantity",
    ),
    (
        {"figures": [{"value": "$186m", "measure": "Net profit was $186m ( £98m", "source": None}]},
        "measure_fragment",
    ),
    ({"figures": [{"value": "£98m", "measure": "coming", "source": None}]}, "measure_fragment"),
    (
        {"quotes": [{"text": "We are not going anywhere,", "speaker": "Michael Scudamore"}]},
        "quote_trailing_punct",
    ),
    ({"quotes": [{"text": "We are not going anywhere", "speaker": None}]}, "quote_speaker_missed"),
    (
        {
            "dates": [
                {"date": "Monday", "event": "the singer was burgled"},
                {"date": "Monday", "event": "the police were called"},
            ]
        },
        "date_duplicate",
    ),
    (
        {
            "dates": [
                {
                    "date": "Monday",
                    "event": "The singer was burgled on Monday, and the police were called on "
                    "Monday night.",
                }
            ]
        },
        "date_event_sentence",
    ),
    (
        {"summary": "Ms Sturgeon criticised the pledge on Europe The most popular policy won."},
        "summary_run_on",
    ),
]


@pytest.mark.parametrize(("fields", "cls"), BAD, ids=[c for _, c in BAD])
def test_each_rule_flags_its_error(audit: ModuleType, fields: dict[str, Any], cls: str) -> None:
    assert cls in _classes(audit, _out(**fields))


def test_correct_fields_are_not_flagged(audit: ModuleType) -> None:
    good = _out(
        figures=[
            {"value": "£446million", "measure": "loss", "source": "Ross McEwan"},
            {"value": "$186m (£98m; 143m euros)", "measure": "Net profit", "source": None},
        ],
        quotes=[{"text": "We are not going anywhere", "speaker": "Michael Scudamore"}],
        dates=[{"date": "Monday", "event": "The singer was burgled on Monday"}],
    )
    assert _classes(audit, good) == []


def test_money_missed_and_quote_missed(audit: ModuleType) -> None:
    # £446million, $186m and the £98m it converts to; the attributed quotation
    assert _classes(audit, _out()) == ["money_missed"] * 3 + ["quote_missed"]


def test_the_built_in_model_stays_within_its_audited_errors(audit: ModuleType) -> None:
    # The README's "after" column; lower it when a change fixes more, never raise it.
    counts = audit.counts(audit.audit())
    assert counts["entity_unlabelled"] == 0  # every name the model gives is labelled
    assert sum(counts[c] for c in audit.CLASSES) <= 18
