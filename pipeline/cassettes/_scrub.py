"""Scrubbing what is recorded: which headers are kept, account-id fields blanked in JSON
bodies, credentials removed from URIs, and the vcrpy hooks that apply it to each request
and response (decoding compressed bodies first)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipeline.cassettes._decode import _decode_response
from pipeline.cassettes._secrets import REDACTED, scrub_text
from pipeline.secrets import SECRET_QUERY_PARAMETERS as SECRET_QUERY_PARAMETERS

#: request headers known to carry a credential or an account id (all are dropped anyway:
#: only KEPT_REQUEST_HEADERS survive)
SECRET_REQUEST_HEADERS = (
    "authorization",
    "api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "proxy-authorization",
    "x-api-key",
)
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept", "accept-encoding"})
#: response headers known to carry an account id or a cookie (dropped, like every header
#: outside KEPT_RESPONSE_HEADERS)
SECRET_RESPONSE_HEADERS = ("openai-organization", "openai-project", "set-cookie")
KEPT_RESPONSE_HEADERS = frozenset(
    {"content-type", "content-length", "retry-after", "retry-after-ms", "x-should-retry"}
)
KEPT_RESPONSE_HEADER_PREFIXES = ("x-ratelimit-",)
#: JSON fields whose string values name an account (blanked in recorded bodies)
ACCOUNT_FIELDS = frozenset(
    {
        "organization",
        "organization_id",
        "org_id",
        "openai_organization",
        "project",
        "project_id",
        "openai_project",
        "user_id",
        "api_key",
    }
)
#: URI query parameters that may carry a credential: pipeline.secrets' list


# -- scrubbing -----------------------------------------------------------------------------


def _scrub_json(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                REDACTED
                if k.lower() in ACCOUNT_FIELDS and isinstance(v, str) and v
                else _scrub_json(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_scrub_json(v) for v in node]
    return node


def scrub_body(body: Any, secrets: Iterable[str] = ()) -> Any:
    """A request or response body (bytes or str) with its secrets redacted.

    Text is scrubbed with :func:`scrub_text`; a JSON document additionally has its
    account-id fields blanked (re-serialised only when one was found). Binary bodies are
    returned unchanged (the writer refuses to save a body it cannot read)."""
    if body is None:
        return None
    was_bytes = isinstance(body, bytes)
    if was_bytes:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
    elif isinstance(body, str):
        text = body
    else:
        return body
    text = scrub_text(text, secrets)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict | list):
        cleaned = _scrub_json(data)
        if cleaned != data:
            text = json.dumps(cleaned, ensure_ascii=False)
    return text.encode("utf-8") if was_bytes else text


def _scrub_uri(uri: str, secrets: Iterable[str]) -> str:
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    query = urlencode(
        [
            (k, REDACTED if k.lower() in SECRET_QUERY_PARAMETERS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return scrub_text(urlunsplit((parts.scheme, host, parts.path, query, "")), secrets)


# -- the vcrpy hooks -----------------------------------------------------------------------


def _keep_response_header(name: str) -> bool:
    low = name.lower()
    if low == "content-encoding":  # left only on a body that could not be decoded: the
        return True  # writer refuses such a cassette and says which package decodes it
    return low in KEPT_RESPONSE_HEADERS or low.startswith(KEPT_RESPONSE_HEADER_PREFIXES)


def _request_filter(secrets: tuple[str, ...]) -> Callable[[Any], Any]:
    def before_record_request(request: Any) -> Any:
        for name in list(request.headers):
            if name.lower() not in KEPT_REQUEST_HEADERS:
                del request.headers[name]
        request.body = scrub_body(request.body, secrets)
        request.uri = _scrub_uri(request.uri, secrets)
        return request

    return before_record_request


def _response_filter(secrets: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        _decode_response(response)
        headers = response.get("headers") or {}
        response["headers"] = {
            name: [scrub_text(str(v), secrets) for v in values]
            for name, values in headers.items()
            if _keep_response_header(name)
        }
        body = response.get("body")
        if isinstance(body, dict) and "string" in body:
            body["string"] = scrub_body(body["string"], secrets)
        return response

    return before_record_response
