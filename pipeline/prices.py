"""Model prices, to turn token usage into US dollars.

A :class:`PriceTable` maps a model name to its price in **USD per million tokens**, separately
for input (prompt) tokens, cached input tokens (a prompt prefix the provider served from its
prompt cache, ``usage.prompt_tokens_details.cached_tokens``) and output (completion) tokens.
The default table below is a copy of OpenAI's public list prices, standard tier, taken from
:data:`DEFAULT_SOURCE` on the date in :data:`DEFAULT_TAKEN`. Two tiers: ``standard`` and
``batch`` (the Batch API, :data:`BATCH_DISCOUNT` of standard on every kind of token). Prices
change: this table is meant to be edited, and a user can override or extend it without
touching the code::

    summarise compare ... --prices prices.json      # or prices.yaml

The file is JSON or YAML, either a bare mapping or one under ``models``::

    {"taken": "2026-01-10", "note": "our Azure contract",
     "models": {"gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
                "my-local-llama": {"input": 0, "output": 0}}}

``cached_input`` is optional (without it cached tokens cost the input price).

Entries in the file replace the default entry of the same model; other defaults are kept.

Lookup (:meth:`PriceTable.price_for`): the exact model name first, then the name without a
provider prefix (``openai/gpt-4o`` -> ``gpt-4o``), then the name without a dated snapshot
suffix (``gpt-4o-mini-2024-07-18`` -> ``gpt-4o-mini``). The built-in offline model
(``builtin``) always costs 0. Any other model with no entry has no price: :func:`cost_usd`
returns None and reports say "n/a", never a made-up number; :func:`missing_price_note` gives
the one-line note to show once per model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipeline.errors import ConfigError
from pipeline.yamlfile import YamlFileError, load_yaml

DEFAULT_TAKEN = "2025-08"
DEFAULT_SOURCE = "openai.com/api/pricing"
DEFAULT_NOTE = (
    f"OpenAI list prices, standard tier, USD per 1M tokens, taken {DEFAULT_TAKEN} from "
    f"{DEFAULT_SOURCE}; editable: pass --prices FILE to override"
)
TIERS = ("standard", "batch")
#: the Batch API's price as a share of the standard tier (OpenAI: 50% on input, cached
#: input and output tokens)
BATCH_DISCOUNT = 0.5

#: USD per million tokens: (input, cached input, output). Edit freely; keep the date above
#: in step.
DEFAULT_PRICES: dict[str, tuple[float, float, float]] = {
    "gpt-5": (1.25, 0.125, 10.00),
    "gpt-5-mini": (0.25, 0.025, 2.00),
    "gpt-5-nano": (0.05, 0.005, 0.40),
    "gpt-4.1": (2.00, 0.50, 8.00),
    "gpt-4.1-mini": (0.40, 0.10, 1.60),
    "gpt-4.1-nano": (0.10, 0.025, 0.40),
    "gpt-4o": (2.50, 1.25, 10.00),
    "gpt-4o-mini": (0.15, 0.075, 0.60),
    "o3": (2.00, 0.50, 8.00),
    "o3-mini": (1.10, 0.55, 4.40),
    "o4-mini": (1.10, 0.275, 4.40),
    "o1": (15.00, 7.50, 60.00),
    "gpt-4-turbo": (10.00, 10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 0.50, 1.50),
}

BUILTIN_MODEL = "builtin"

_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4}|latest|preview)$")


@dataclass(frozen=True)
class ModelPrice:
    """USD per million input, output and cached input tokens (standard tier)."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None  # None: cached tokens cost the input price

    def cost(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        cached_tokens: int = 0,
        tier: str = "standard",
    ) -> float:
        """The cost of a call; ``cached_tokens`` are the part of ``prompt_tokens`` served
        from the prompt cache; ``tier`` is ``standard`` or ``batch``."""
        if tier not in TIERS:
            raise ValueError(f"unknown price tier {tier!r} (one of {', '.join(TIERS)})")
        cached = max(0, min(cached_tokens, prompt_tokens))
        cached_rate = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )
        usd = (
            (prompt_tokens - cached) * self.input_per_mtok
            + cached * cached_rate
            + completion_tokens * self.output_per_mtok
        ) / 1_000_000
        return usd * BATCH_DISCOUNT if tier == "batch" else usd


@dataclass(frozen=True)
class PriceTable:
    """Prices per model, with where they came from."""

    models: Mapping[str, ModelPrice] = field(default_factory=dict)
    taken: str | None = None
    note: str = ""

    def price_for(self, model: str | None) -> ModelPrice | None:
        """The price of ``model``, or None when the table has no entry for it."""
        if not model:
            return None
        if model == BUILTIN_MODEL and BUILTIN_MODEL not in self.models:
            return ModelPrice(0.0, 0.0)
        for name in _candidates(model):
            if name in self.models:
                return self.models[name]
        return None

    def merged(self, other: PriceTable) -> PriceTable:
        """This table with ``other``'s entries added or replacing; ``other``'s date and note."""
        models = dict(self.models)
        models.update(other.models)
        return PriceTable(models, other.taken or self.taken, other.note or self.note)


def _candidates(model: str) -> list[str]:
    names = [model]
    if "/" in model:
        names.append(model.rsplit("/", 1)[1])
    for name in list(names):
        stripped = _SNAPSHOT_SUFFIX.sub("", name)
        if stripped != name:
            names.append(stripped)
    return names


@lru_cache(maxsize=1)
def default_prices() -> PriceTable:
    """The built-in table (see :data:`DEFAULT_PRICES`); one shared, read-only instance."""
    return PriceTable(
        MappingProxyType({name: ModelPrice(i, o, c) for name, (i, c, o) in DEFAULT_PRICES.items()}),
        DEFAULT_TAKEN,
        DEFAULT_NOTE,
    )


def load_prices(path: str | Path | None) -> PriceTable:
    """The default table, overridden by the JSON or YAML file at ``path`` when one is given.

    Raises :class:`~pipeline.errors.ConfigError` (naming the file and the fix) for a missing,
    unreadable or malformed file.
    """
    table = default_prices()
    if path is None:
        return table
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"prices file not found: {p} (check the --prices path)") from None
    except OSError as e:
        raise ConfigError(f"cannot read prices file {p}: {e.strerror or e}") from e
    try:
        data: Any = json.loads(text) if p.suffix.lower() == ".json" else load_yaml(text, p)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"{p}, line {e.lineno}, column {e.colno}: {e.msg} (the prices file is not valid JSON)"
        ) from e
    except YamlFileError as e:
        raise ConfigError(f"{e} (the prices file is not valid YAML)") from e
    return table.merged(parse_prices(data, origin=str(p)))


def parse_prices(data: Any, *, origin: str = "prices") -> PriceTable:
    """Build a table from the parsed contents of a prices file (see the module docstring)."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: expected a mapping of model name to "
            '{"input": USD per 1M tokens, "output": USD per 1M tokens}'
        )
    taken = data.get("taken")
    note = data.get("note")
    entries = (
        data["models"]
        if "models" in data
        else {k: v for k, v in data.items() if k not in ("taken", "note")}
    )
    if not isinstance(entries, dict):
        raise ConfigError(f"{origin}: 'models' must be a mapping of model name to prices")
    models: dict[str, ModelPrice] = {}
    for name, entry in entries.items():
        if (
            not isinstance(entry, dict)
            or not {"input", "output"} <= set(entry)
            or not set(entry) <= {"input", "output", "cached_input"}
        ):
            raise ConfigError(
                f"{origin}: model {name!r} needs exactly "
                '{"input": <USD per 1M input tokens>, "output": <USD per 1M output tokens>} '
                'and optionally "cached_input"'
            )
        values: dict[str, float] = {}
        for key in ("input", "output", "cached_input"):
            if key not in entry:
                continue
            v = entry[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise ConfigError(
                    f"{origin}: model {name!r} {key} price must be a number >= 0, got {v!r}"
                )
            values[key] = float(v)
        models[str(name)] = ModelPrice(
            values["input"], values["output"], values.get("cached_input")
        )
    return PriceTable(
        models,
        str(taken) if taken is not None else None,
        str(note) if note is not None else f"prices from {origin}",
    )


def cost_usd(
    prices: PriceTable | None,
    model: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int = 0,
    tier: str = "standard",
) -> float | None:
    """The cost in USD of one call (or one article's calls), or None when the model has no price.

    ``prices`` None means the default table. ``cached_tokens`` (part of ``prompt_tokens``)
    are priced at the cached-input rate; ``tier="batch"`` gives the Batch API's price.
    """
    table = prices if prices is not None else default_prices()
    price = table.price_for(model)
    if price is None:
        return None
    return price.cost(prompt_tokens, completion_tokens, cached_tokens=cached_tokens, tier=tier)


_noted: set[str] = set()


def missing_price_note(prices: PriceTable | None, model: str | None) -> str | None:
    """A one-line note the first time a model with no price is met in this process (None
    after that, and for a model the table prices): its cost is null, never a guess."""
    table = prices if prices is not None else default_prices()
    if not model or table.price_for(model) is not None or model in _noted:
        return None
    _noted.add(model)
    when = f"taken {table.taken}" if table.taken else "undated"
    source = DEFAULT_SOURCE if table is default_prices() else "your --prices file"
    return (
        f"no price for model {model!r} in the price table ({when}, {source}): its cost_usd "
        f"is null, not a guess; `summarise compare --prices FILE` prices it from your own table"
    )
