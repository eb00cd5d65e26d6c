"""The run's settings and the structured-output modes a summariser tries, in order."""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("json_schema", "json_object", "prompt")
MAX_OUTPUT_TOKENS_CAP = 16_000


@dataclass(frozen=True)
class RunSettings:
    concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    max_attempts: int = 6  # HTTP requests per article, retries, re-asks and fallbacks included
    max_reasks: int = 2
    force: bool = False
    backoff_initial_s: float = 0.5  # transport retries: full jitter over initial * 2**n ...
    backoff_cap_s: float = 20.0  # ... capped here; a server's retry-after overrides both
    check_faithfulness: bool = True
    replay_hint: str | None = None  # the command that would record a missing replay
