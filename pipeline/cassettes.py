"""Recording and replaying HTTP exchanges with vcrpy.

``summarise run --record FILE`` records every request the SDK makes; ``--replay FILE``
answers every request from FILE with no network and no key. The same settings serve the
test suite (``tests/conftest.py``).

- Matching: method, path and the canonical JSON body (key order ignored), never headers or
  host, so a cassette recorded against one server replays against any base URL. Identical
  requests replay in recorded order (a 429 then a 200; an invalid answer then a valid one).
- Scrubbing, before anything is written: request headers ``authorization``, ``api-key``,
  ``openai-organization``, ``openai-project``, ``cookie``; response headers
  ``openai-organization``, ``openai-project``, ``set-cookie`` and other account-bearing
  headers; account ids (``org-…``, ``proj_…``, ``user-…``) and key-like strings in bodies.
  Compressed bodies (gzip, deflate, br) are decoded and ``content-encoding`` dropped so the
  replay works and the cassette is readable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vcr
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException

from pipeline.errors import ConfigError

REQUEST_HEADERS_DROPPED = (
    "authorization",
    "api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "x-stainless-os",
    "x-stainless-arch",
    "x-stainless-runtime-version",
    "x-stainless-package-version",
    "x-stainless-lang",
    "x-stainless-runtime",
    "x-stainless-async",
    "x-stainless-retry-count",
    "x-stainless-read-timeout",
    "user-agent",
)
RESPONSE_HEADERS_DROPPED = frozenset(
    {
        "openai-organization",
        "openai-project",
        "set-cookie",
        "cf-ray",
        "cf-cache-status",
        "x-request-id",
        "openai-processing-ms",
        "strict-transport-security",
        "alt-svc",
        "date",
        "server",
        "via",
        "x-envoy-upstream-service-time",
        "openai-version",
        "access-control-expose-headers",
    }
)
_SECRETS = [
    (re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"), "sk-REDACTED"),
    (re.compile(r"\borg-[A-Za-z0-9]{6,}"), "org-REDACTED"),
    (re.compile(r"\bproj_[A-Za-z0-9]{6,}"), "proj_REDACTED"),
    (re.compile(r"\buser-[A-Za-z0-9]{12,}"), "user-REDACTED"),
    (re.compile(r"Bearer\s+[A-Za-z0-9._\-]{8,}"), "Bearer REDACTED"),
]


def scrub_text(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _scrub_body(body: Any) -> Any:
    if isinstance(body, bytes):
        try:
            return scrub_text(body.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return body
    if isinstance(body, str):
        return scrub_text(body)
    return body


def _before_record_request(request: Any) -> Any:
    request.body = _scrub_body(request.body)
    request.uri = scrub_text(request.uri)
    return request


def _before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in RESPONSE_HEADERS_DROPPED:
            del headers[name]
        else:
            headers[name] = [scrub_text(str(v)) for v in headers[name]]
    body = response.get("body", {})
    if "string" in body:
        body["string"] = _scrub_body(body["string"])
    return response


def canonical_body(body: Any) -> Any:
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return body


def json_body_matcher(r1: Any, r2: Any) -> None:
    a, b = canonical_body(r1.body), canonical_body(r2.body)
    if a != b:
        raise AssertionError("JSON bodies differ")


def _path_matcher(r1: Any, r2: Any) -> None:
    # match on the endpoint path whatever the base URL's prefix: /v1/chat/completions
    a, b = r1.path.rstrip("/"), r2.path.rstrip("/")
    if not (a.endswith(b.split("/v1", 1)[-1]) or b.endswith(a.split("/v1", 1)[-1])):
        raise AssertionError(f"paths differ: {a} != {b}")


def make_vcr(record_mode: str = "none") -> vcr.VCR:
    v = vcr.VCR(
        record_mode=record_mode,
        match_on=["method", "endpoint_path", "json_body"],
        filter_headers=list(REQUEST_HEADERS_DROPPED),
        before_record_request=_before_record_request,
        before_record_response=_before_record_response,
        decode_compressed_response=True,
    )
    v.register_matcher("json_body", json_body_matcher)
    v.register_matcher("endpoint_path", _path_matcher)
    return v


@contextmanager
def replaying(path: str | Path) -> Iterator[Any]:
    """Answer every HTTP request from the cassette at ``path``; nothing reaches the network."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"no cassette at {p}: record one with `summarise run PATH --record {p}` "
            f"against a live endpoint"
        )
    with make_vcr("none").use_cassette(str(p)) as cassette:
        yield cassette


@contextmanager
def recording(path: str | Path) -> Iterator[Any]:
    """Record every HTTP request and response into ``path`` (rewritten), scrubbed."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists():
        p.unlink()
    with make_vcr("all").use_cassette(str(p)) as cassette:
        yield cassette


def cassette_info(path: str | Path) -> dict[str, Any]:
    """What a cassette was recorded with: the model and base URL of its first request."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read cassette {p}: {exc}") from exc
    interactions = data.get("interactions") or []
    model = None
    base_url = None
    for it in interactions:
        req = it.get("request", {})
        try:
            model = json.loads(req.get("body") or "{}").get("model")
        except (TypeError, ValueError):
            continue
        uri = str(req.get("uri", ""))
        if "/chat/completions" in uri:
            base_url = uri.split("/chat/completions", 1)[0]
        if model:
            break
    return {"model": model, "base_url": base_url, "interactions": len(interactions)}


__all__ = [
    "CannotOverwriteExistingCassetteException",
    "cassette_info",
    "make_vcr",
    "recording",
    "replaying",
    "scrub_text",
]
