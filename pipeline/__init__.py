"""summarise: LLM-assisted summarisation of news articles.

The library is usable without the CLI; :mod:`pipeline.cli` only parses
arguments and calls it.
"""

from __future__ import annotations

__version__ = "0.1.0"
