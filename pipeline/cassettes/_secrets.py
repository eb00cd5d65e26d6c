"""The cassettes' view of :mod:`pipeline.secrets` (the one place that knows what a secret is)."""

from __future__ import annotations

from pipeline.secrets import REDACTED, find_secrets, known_secrets, scrub_text

__all__ = ["REDACTED", "find_secrets", "known_secrets", "scrub_text"]
