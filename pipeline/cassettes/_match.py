"""Matching a request to a recorded one: method, endpoint path (whatever the base URL) and
canonical JSON body (key order ignored), never headers or host; and the order cassettes are
written in."""

from __future__ import annotations

import json
from typing import Any


def canonical_body(body: Any) -> Any:
    """A request body as compact JSON with sorted keys (or as text when it is not JSON)."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str) and not body:
        return None
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return body


def endpoint_path(path: str) -> str:
    """The API endpoint of a URL path, whatever the base URL's prefix: ``/chat/completions``."""
    p = path.rstrip("/")
    i = p.rfind("/v1/")
    return p[i + 3 :] if i >= 0 else p


def json_body_matcher(r1: Any, r2: Any) -> None:
    if canonical_body(r1.body) != canonical_body(r2.body):
        raise AssertionError("the JSON bodies differ")


def endpoint_path_matcher(r1: Any, r2: Any) -> None:
    a, b = endpoint_path(r1.path), endpoint_path(r2.path)
    if a != b:
        raise AssertionError(f"the endpoints differ: {a} != {b}")


MATCH_ON = ("method", "endpoint_path", "json_body")


def _sort_key(request: Any) -> tuple[str, str, str]:
    body = canonical_body(request.body)
    return (
        str(request.method),
        endpoint_path(request.path),
        body if isinstance(body, str) else "",
    )
