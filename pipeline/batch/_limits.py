"""How big a batch may be: :class:`Limits`, what a refusal reveals about them, and which
failures ask for a smaller batch.

OpenAI documents 50,000 requests and 200 MB per batch input file; the enqueued-token limit
(prompt tokens across a model's batches in progress) depends on the account and is not
published, so it is learnt: a batch that fails with ``token_limit_exceeded`` names it
("... Limit: 2,000,000 enqueued tokens ..."). A limit a provider reveals is stored per
endpoint (and per model for tokens) and used from then on; a limit given on the command
line wins over both the default and what was learnt.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_MAX_REQUESTS = 50_000
DEFAULT_MAX_BYTES = 200 * 1024 * 1024

#: failure codes that say "this batch is too big"
SIZE_CODES = ("too_many_tasks", "token_limit_exceeded", "file_too_large")
_TOKEN_LIMIT = re.compile(r"limit:?\s*([\d,_]+)\s*enqueued tokens", re.IGNORECASE)
_NUMBER = re.compile(r"(\d[\d,_]*)(?:\s*(mb|mib|kb|kib|gb|gib|bytes?))?", re.IGNORECASE)
_UNITS = {"kb": 1000, "kib": 1024, "mb": 10**6, "mib": 1 << 20, "gb": 10**9, "gib": 1 << 30}


@dataclass(frozen=True)
class Limits:
    """The most one batch may hold. ``max_tokens`` bounds the prompt tokens of all our
    batches in progress at once (None: unknown, no bound)."""

    max_requests: int = DEFAULT_MAX_REQUESTS
    max_bytes: int = DEFAULT_MAX_BYTES
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.max_bytes < 1024:
            raise ValueError("a batch must allow at least 1 request and 1 KiB")

    def merged(self, learnt: dict[str, int], given: dict[str, int | None]) -> Limits:
        """These defaults, then what the provider revealed, then what the user gave."""
        out: dict[str, Any] = {}
        for name in ("max_requests", "max_bytes", "max_tokens"):
            value = given.get(name)
            if value is None:
                value = learnt.get(name, getattr(self, name))
            out[name] = value
        return replace(self, **out)

    def fits(self, requests: int, size: int, tokens: int) -> bool:
        return (
            requests <= self.max_requests
            and size <= self.max_bytes
            and (self.max_tokens is None or tokens <= self.max_tokens)
        )


def revealed_limit(code: str, message: str, *, current: int) -> int:
    """The limit a size refusal reveals: the number it names, else half of ``current`` (the
    size of the refused batch in the limit's own unit)."""
    if code == "token_limit_exceeded":
        m = _TOKEN_LIMIT.search(message)
        if m:
            return int(re.sub(r"[,_]", "", m.group(1)))
    candidates = []
    for m in _NUMBER.finditer(message):
        value = int(re.sub(r"[,_]", "", m.group(1)))
        unit = (m.group(2) or "").lower()
        value *= _UNITS.get(unit, 1)
        if 0 < value < current:
            candidates.append(value)
    if candidates:
        return max(candidates)
    return max(1, current // 2)


def limit_name(code: str) -> str:
    return {
        "too_many_tasks": "max_requests",
        "token_limit_exceeded": "max_tokens",
        "file_too_large": "max_bytes",
    }[code]


def size_code(errors: list[dict[str, Any]]) -> str | None:
    """The size code among a failed batch's errors, if its failure is about size."""
    for e in errors:
        code = str(e.get("code") or "")
        if code in SIZE_CODES:
            return code
        text = f"{code} {e.get('message') or ''}".lower()
        if "too many" in text and "request" in text:
            return "too_many_tasks"
        if "enqueued token" in text:
            return "token_limit_exceeded"
        if "too large" in text or "maximum size" in text or "exceeds the maximum" in text:
            return "file_too_large"
    return None


def estimate_tokens(body: dict[str, Any]) -> int:
    """A request's prompt tokens, about four characters a token (no tokenizer download)."""
    chars = 0
    for m in body.get("messages") or []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            chars += len(content)
    return math.ceil(chars / 4)
