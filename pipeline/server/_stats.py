"""What the server saw: one :class:`RequestRecord` per request and :class:`ServerStats`
counters, safe to read from any thread."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any


@dataclass
class RequestRecord:
    """One request as received. ``status`` is None while in flight or when hung/dropped."""

    index: int
    t: float
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    tokens: int = 0
    status: int | None = None
    fault: str | None = None


class ServerStats:
    """Counters for tests and benchmarks; read from any thread (``snapshot()`` is consistent)."""

    def __init__(self, keep: int) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.started = time.monotonic()
            self.total = 0
            self.chat_requests = 0
            self.rate_limited = 0
            self.tokens = 0
            self.by_status: Counter[int] = Counter()
            self.by_fault: Counter[str] = Counter()
            self.by_path: Counter[str] = Counter()
            self.arrivals: list[float] = []
            self.in_flight = 0
            self.max_in_flight = 0
            self.connections = 0
            self.responder_errors = 0
            self.requests: deque[RequestRecord] = deque(maxlen=self._keep)

    def _begin(self, method: str, path: str, headers: dict[str, str], body: Any) -> RequestRecord:
        with self._lock:
            now = time.monotonic()
            rec = RequestRecord(self.total, now, method, path, headers, body)
            self.total += 1
            self.by_path[path] += 1
            self.arrivals.append(now)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append(rec)
            return rec

    def _end(self, rec: RequestRecord, status: int | None) -> None:
        with self._lock:
            rec.status = status
            self.in_flight -= 1
            if status is not None:
                self.by_status[status] += 1
            if rec.fault is not None:
                self.by_fault[rec.fault] += 1

    def records(self) -> list[RequestRecord]:
        """The kept requests (the last ``keep_requests``), oldest first."""
        with self._lock:
            return list(self.requests)

    def bodies(self) -> list[Any]:
        """The JSON bodies of the kept requests, oldest first."""
        with self._lock:
            return [r.body for r in self.requests]

    def arrival_offsets(self) -> list[float]:
        """Seconds from the first request's arrival to each request's arrival."""
        with self._lock:
            return [t - self.arrivals[0] for t in self.arrivals]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "chat_requests": self.chat_requests,
                "rate_limited": self.rate_limited,
                "tokens": self.tokens,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_fault": dict(sorted(self.by_fault.items())),
                "by_path": dict(self.by_path),
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "connections": self.connections,
                "responder_errors": self.responder_errors,
                "uptime_s": round(time.monotonic() - self.started, 3),
            }
