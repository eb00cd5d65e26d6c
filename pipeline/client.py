"""Which model to call and how: endpoint resolution and the OpenAI client.

The SDK's own retries are always off (``max_retries=0``): :mod:`pipeline.retry` is the one
retry layer. The client is built from an :class:`Endpoint` that the caller resolves once;
nothing here reads the environment at import time.

- ``builtin``: the SDK talks to :mod:`pipeline.builtin` through an ``httpx2`` transport.
- replay: the SDK talks to a transport that refuses every request; vcrpy (patched in by
  :mod:`pipeline.cassettes`) answers from the cassette before it is reached, so a request
  the cassette lacks can never fall through to the network or the built-in model.
- remote: OpenAI or any OpenAI-compatible server, with the key from the environment. Azure
  OpenAI's v1 API (``--base-url https://RESOURCE.openai.azure.com/openai/v1/``) is one of
  them.
- azure: a deployment on Azure OpenAI's older API, from ``AZURE_OPENAI_ENDPOINT``,
  ``AZURE_OPENAI_API_KEY`` and ``OPENAI_API_VERSION``, through the SDK's
  ``AsyncAzureOpenAI``; the deployment name is the model (``--model``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx2
from openai import AsyncAzureOpenAI, AsyncOpenAI

from pipeline import builtin
from pipeline.errors import ConfigError
from pipeline.transport import MAX_RESPONSE_BYTES, GuardedTransport

DEFAULT_REMOTE_MODEL = "gpt-4o-mini"
PLACEHOLDER_KEY = "sk-placeholder-not-a-key"  # handed to the SDK when no key is needed


class ReplayFellThrough(Exception):
    """Raised by the replay transport: vcrpy did not answer this request from the cassette."""


@dataclass(frozen=True)
class Endpoint:
    """Where requests go. ``api_key`` is never printed, stored or logged."""

    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    replay: str | None = None
    azure_endpoint: str | None = None  # Azure OpenAI's older API: the resource's URL
    api_version: str | None = None  # ... and its api-version

    @property
    def is_builtin(self) -> bool:
        return self.model == builtin.MODEL_NAME and self.replay is None and self.base_url is None

    @property
    def label(self) -> str:
        """A safe description of the endpoint (no user info, no query string)."""
        if self.replay:
            return f"replay:{self.replay}"
        if self.is_builtin:
            return "builtin"
        if self.azure_endpoint:
            return f"{safe_url(self.azure_endpoint)} (Azure, api-version {self.api_version})"
        return safe_url(self.base_url or "https://api.openai.com/v1")


def check_base_url(url: str, what: str = "--base-url") -> str:
    """``url`` if it is an http(s) URL with a host and a valid port, else ConfigError.

    A query string is allowed (``?api-version=…``, ``?api-key=…``): :func:`make_client` sends
    it with every request, after the endpoint's path, where it belongs."""
    shown = safe_url(url) if "@" in url else url
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range or not a number
    except ValueError as e:
        raise ConfigError(
            f"{what} {shown!r} is not a valid URL ({e}); give e.g. http://localhost:11434/v1"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{what} {shown!r} is not an http(s) URL with a host; give e.g. "
            "https://api.example.com/v1"
        )
    if port == 0:
        raise ConfigError(f"{what} {shown!r}: port 0 cannot be connected to; give the real port")
    return url


def split_query(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its query string, and the query's parameters."""
    parts = urlsplit(url)
    if not parts.query:
        return url, {}
    return urlunsplit(parts._replace(query="", fragment="")), dict(
        parse_qsl(parts.query, keep_blank_values=True)
    )


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def is_local(url: str) -> bool:
    """A loopback or private-network address (``localhost``, 127.0.0.1, 10.x, 192.168.x, ::1,
    fd00::/8, link-local): a server on the user's own machine or network, where a key is
    usually not needed (Ollama, llama.cpp, vLLM, LM Studio)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def resolve_endpoint(
    *,
    model: str | None = None,
    base_url: str | None = None,
    replay: str | None = None,
    replay_model: str | None = None,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """Pick the model and endpoint: flags first, then ``OPENAI_*`` variables, else builtin."""
    env = os.environ if env is None else env
    if replay:
        return Endpoint(
            model=model or replay_model or builtin.MODEL_NAME,
            base_url=base_url,
            timeout=timeout,
            replay=replay,
        )
    key = env.get("OPENAI_API_KEY") or None
    base = base_url or env.get("OPENAI_BASE_URL") or None
    if base is not None:
        check_base_url(base, "--base-url" if base_url else "OPENAI_BASE_URL")
    chosen = model or env.get("OPENAI_MODEL") or None
    azure = env.get("AZURE_OPENAI_ENDPOINT") or None
    if azure and base is None and chosen != builtin.MODEL_NAME:
        return _azure_endpoint(azure, chosen, timeout, env)
    if chosen == builtin.MODEL_NAME or (chosen is None and key is None and base is None):
        if base_url:
            # the built-in model served over HTTP (``summarise serve``) is a remote endpoint
            return Endpoint(model=builtin.MODEL_NAME, base_url=base, api_key=key, timeout=timeout)
        return Endpoint(model=builtin.MODEL_NAME, timeout=timeout)
    if key is None and base and is_local(base):  # a local server: the SDK gets a placeholder
        return Endpoint(model=chosen or DEFAULT_REMOTE_MODEL, base_url=base, timeout=timeout)
    if key is None:
        where = f" for {safe_url(base)}" if base else ""
        raise ConfigError(
            f"no API key{where}: set the OPENAI_API_KEY environment variable, "
            f"or use --model builtin (a server on this machine or a private network needs none)"
        )
    return Endpoint(
        model=chosen or DEFAULT_REMOTE_MODEL, base_url=base, api_key=key, timeout=timeout
    )


def _azure_endpoint(
    azure: str, model: str | None, timeout: float, env: Mapping[str, str]
) -> Endpoint:
    """A deployment on Azure OpenAI's older (deployments) API."""
    key = env.get("AZURE_OPENAI_API_KEY") or env.get("OPENAI_API_KEY") or None
    version = env.get("OPENAI_API_VERSION") or None
    missing = [
        name
        for name, value in (("AZURE_OPENAI_API_KEY", key), ("OPENAI_API_VERSION", version))
        if not value
    ]
    if missing:
        raise ConfigError(
            f"AZURE_OPENAI_ENDPOINT is set but {' and '.join(missing)} is not: set "
            f"{' and '.join(missing)} (e.g. OPENAI_API_VERSION=2024-10-21), or use Azure's v1 "
            f"API with --base-url https://RESOURCE.openai.azure.com/openai/v1/ and OPENAI_API_KEY"
        )
    if not model:
        raise ConfigError(
            "Azure OpenAI needs the deployment name as the model: pass --model DEPLOYMENT "
            "(or set OPENAI_MODEL)"
        )
    return Endpoint(
        model=model,
        api_key=key,
        timeout=timeout,
        azure_endpoint=azure,
        api_version=version,
    )


def _refuse(request: httpx2.Request) -> httpx2.Response:
    raise ReplayFellThrough(f"{request.method} {request.url.path}")


def _guarded_http(
    endpoint: Endpoint,
    transport: httpx2.AsyncBaseTransport | None,
    max_response_bytes: int,
    **kw: object,
) -> httpx2.AsyncClient:
    """An httpx client whose every transport (proxy mounts from the environment included)
    enforces ``endpoint.timeout`` as a whole-request deadline and caps response bodies."""
    timeout = httpx2.Timeout(endpoint.timeout, connect=min(10.0, endpoint.timeout))
    http = httpx2.AsyncClient(transport=transport, timeout=timeout, **kw)  # type: ignore[arg-type]

    def guard(inner: httpx2.AsyncBaseTransport) -> GuardedTransport:
        if isinstance(inner, GuardedTransport):
            return inner
        return GuardedTransport(inner, timeout=endpoint.timeout, max_body_bytes=max_response_bytes)

    # httpx offers no public hook for this: wrap the transport it chose and every mount
    # (tests/test_timeouts.py checks that each one is guarded, so an httpx change shows)
    http._transport = guard(http._transport)
    http._mounts = {k: None if v is None else guard(v) for k, v in http._mounts.items()}
    return http


def make_client(
    endpoint: Endpoint,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    max_connections: int = 100,
    max_response_bytes: int = MAX_RESPONSE_BYTES,
) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` client for ``endpoint`` with the SDK's retries off.

    Every request has ``endpoint.timeout`` as its whole-request deadline and a response body
    capped at ``max_response_bytes`` (:mod:`pipeline.transport`). The timeout is also given
    to the SDK explicitly: it replaces a client timeout equal to httpx's default (5 s) with
    its own 600 s.
    """
    limits = httpx2.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    timeout = httpx2.Timeout(endpoint.timeout, connect=min(10.0, endpoint.timeout))
    if endpoint.replay:
        http = _guarded_http(endpoint, httpx2.MockTransport(_refuse), max_response_bytes)
        return AsyncOpenAI(
            api_key=PLACEHOLDER_KEY,
            base_url=endpoint.base_url or "https://api.openai.com/v1",
            organization=None,
            project=None,
            max_retries=0,
            timeout=timeout,
            http_client=http,
        )
    if endpoint.is_builtin:
        http = _guarded_http(endpoint, transport or builtin.transport(), max_response_bytes)
        return AsyncOpenAI(
            api_key=PLACEHOLDER_KEY,
            base_url=builtin.BASE_URL,
            organization=None,
            project=None,
            max_retries=0,
            timeout=timeout,
            http_client=http,
        )
    http = _guarded_http(endpoint, transport, max_response_bytes, limits=limits)
    if endpoint.azure_endpoint:
        return AsyncAzureOpenAI(
            azure_endpoint=endpoint.azure_endpoint,
            api_version=endpoint.api_version,
            api_key=endpoint.api_key or PLACEHOLDER_KEY,
            max_retries=0,
            timeout=timeout,
            http_client=http,
        )
    # a query in the base URL (?api-key=…, ?api-version=…) goes with every request, after
    # the endpoint's path: glued to the base URL it would break the path
    base, query = split_query(endpoint.base_url) if endpoint.base_url else (None, {})
    return AsyncOpenAI(
        api_key=endpoint.api_key or PLACEHOLDER_KEY,
        base_url=base,
        max_retries=0,
        timeout=timeout,
        http_client=http,
        default_query=query or None,
    )
