"""Model prices, to turn token usage into US dollars.

A :class:`PriceTable` maps a model name to its price in **USD per million tokens**, separately
for input (prompt) and output (completion) tokens. The default table below is a copy of
OpenAI's public list prices (standard tier, no cached-input or batch discount) taken on the
date in :data:`DEFAULT_TAKEN`. Prices change: this table is meant to be edited, and a user
can override or extend it without touching the code::

    summarise compare ... --prices prices.json      # or prices.yaml

The file is JSON or YAML, either a bare mapping or one under ``models``::

    {"taken": "2026-01-10", "note": "our Azure contract",
     "models": {"gpt-4o-mini": {"input": 0.15, "output": 0.60},
                "my-local-llama": {"input": 0, "output": 0}}}

Entries in the file replace the default entry of the same model; other defaults are kept.

Lookup (:meth:`PriceTable.price_for`): the exact model name first, then the name without a
provider prefix (``openai/gpt-4o`` -> ``gpt-4o``), then the name without a dated snapshot
suffix (``gpt-4o-mini-2024-07-18`` -> ``gpt-4o-mini``). The built-in offline model
(``builtin``) always costs 0. Any other model with no entry has no price: :func:`cost_usd`
returns None and reports say "n/a", never a made-up number.
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
DEFAULT_NOTE = (
    "OpenAI list prices, standard tier, USD per 1M tokens, taken 2025-08 from "
    "openai.com/api/pricing; editable: pass --prices FILE to override"
)

#: USD per million tokens: (input, output). Edit freely; keep the date above in step.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "o1": (15.00, 60.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}

BUILTIN_MODEL = "builtin"

_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4}|latest|preview)$")


@dataclass(frozen=True)
class ModelPrice:
    """USD per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        ) / 1_000_000


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
        MappingProxyType({name: ModelPrice(i, o) for name, (i, o) in DEFAULT_PRICES.items()}),
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
        if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
            raise ConfigError(
                f"{origin}: model {name!r} needs exactly "
                '{"input": <USD per 1M input tokens>, "output": <USD per 1M output tokens>}'
            )
        values = []
        for key in ("input", "output"):
            v = entry[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise ConfigError(
                    f"{origin}: model {name!r} {key} price must be a number >= 0, got {v!r}"
                )
            values.append(float(v))
        models[str(name)] = ModelPrice(values[0], values[1])
    return PriceTable(
        models,
        str(taken) if taken is not None else None,
        str(note) if note is not None else f"prices from {origin}",
    )


def cost_usd(
    prices: PriceTable | None, model: str | None, prompt_tokens: int, completion_tokens: int
) -> float | None:
    """The cost in USD of one call (or one article's calls), or None when the model has no price.

    ``prices`` None means the default table.
    """
    table = prices if prices is not None else default_prices()
    price = table.price_for(model)
    if price is None:
        return None
    return price.cost(prompt_tokens, completion_tokens)
