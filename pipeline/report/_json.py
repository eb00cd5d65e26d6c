"""The JSON renderer: ``Comparison.to_dict()`` (documented in :mod:`pipeline.compare`) as text."""

from __future__ import annotations

import json

from pipeline.compare import Comparison


def render_json(comparison: Comparison) -> str:
    """The documented JSON structure (``format_version`` 1), indented, UTF-8 text."""
    return json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
