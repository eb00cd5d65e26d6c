"""The summariser's default faithfulness scorer and pricer: each imports its module
(:mod:`pipeline.faithfulness`, :mod:`pipeline.prices`) inside the function, when a
summariser is built without one, and is None when that import fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.store import Attempt

#: the cost in USD of one attempt of a model, or None when the model has no price
Pricer = Callable[[str, "Attempt"], "float | None"]


def _default_scorer() -> Callable[[str, dict[str, Any]], dict[str, Any]] | None:
    try:
        from pipeline import faithfulness
    except ImportError:
        return None

    def score(source: str, summary: dict[str, Any]) -> dict[str, Any]:
        r = faithfulness.score(source, summary)
        return {"faithfulness": round(r.faithfulness, 4), "unsupported": list(r.unsupported)}

    return score


def _default_pricer() -> Pricer | None:
    try:
        from pipeline import prices
    except ImportError:
        return None
    table = prices.load_prices(None)

    def price(model: str, attempt: Attempt) -> float | None:
        return prices.cost_usd(
            table,
            model,
            attempt.prompt_tokens,
            attempt.completion_tokens,
            cached_tokens=attempt.cached_tokens,
            tier="batch" if attempt.origin == "batch" else "standard",
        )

    return price
