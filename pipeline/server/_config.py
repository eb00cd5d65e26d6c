"""How the server behaves: :class:`ServerConfig`, checked when it is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipeline.server._batches import BatchConfig
from pipeline.server._faults import Fault

ErrorStyle = Literal["openai", "vllm", "ollama"]


@dataclass
class ServerConfig:
    """How the server behaves. Limits of None mean no limit (headers report a nominal one)."""

    rpm: int | None = None
    tpm: int | None = None
    #: seconds' worth of the per-minute limit the buckets hold (60: a full minute may burst)
    burst_window_s: float = 60.0
    latency_s: float = 0.0
    jitter_s: float = 0.0
    seed: int = 0
    require_api_key: str | None = None
    canary_headers: dict[str, str] = field(default_factory=dict)
    reject_json_schema: bool = False
    #: a server with no JSON mode at all: rejects json_object *and* json_schema
    reject_json_object: bool = False
    error_style: ErrorStyle = "openai"
    fault_rate: dict[str, float] = field(default_factory=dict)
    hang_s: float = 30.0
    #: retry-after for injected rate_limit faults; None sends no retry-after headers
    rate_limit_retry_after_s: float | None = 0.1
    model_name: str | None = None
    #: output tokens counted against TPM when a request sets no max_tokens
    default_max_tokens: int = 0
    keep_requests: int = 1000
    max_body_bytes: int = 32 * 1024 * 1024
    backlog: int = 2048
    admin_endpoints: bool = True
    #: the Batch and Files APIs: time compression, limits, on or off (``_batches``)
    batch: BatchConfig = field(default_factory=BatchConfig)

    def __post_init__(self) -> None:
        for kind, p in self.fault_rate.items():
            Fault(kind)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"fault rate for {kind} must be within 0..1, not {p}")
        if sum(self.fault_rate.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
