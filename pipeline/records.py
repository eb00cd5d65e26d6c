"""The output record: one per input article per run (DESIGN.md, "The output record")."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Record:
    article_id: str
    source: str
    title: str | None
    prompt: str
    prompt_version: str
    prompt_sha256: str
    schema: str
    model: str
    status: str  # "ok" | "failed"
    summary: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    checks: dict[str, Any] | None = None
    attempts: int = 0
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0}
    )
    cost_usd: float | None = None
    latency_ms: int = 0
    cached: bool = False
    created_at: str = field(default_factory=utc_now)
    url: str | None = None  # where the article came from on the web (canonical when known)
    published: str | None = None  # ISO 8601 date or datetime, as the source gives it
    author: str | None = None
    duplicate_of: str | None = None  # article_id of the earlier copy whose summary this reuses
    batch_id: str | None = None  # the provider batch that answered it (``run --batch``)
    mode: str | None = None  # structured-output mode that produced it
    site_name: str | None = None  # the publication's name, where the source gives it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        # the fields as they are, not asdict's deep copy: json.dumps only reads them, and the
        # copy was a tenth of the engine's own time per article (benchmarks/overhead.py)
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, ensure_ascii=False, separators=(", ", ": "))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
