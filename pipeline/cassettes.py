"""Recording and replaying HTTP exchanges with vcrpy.

``summarise run --record FILE`` records every request the SDK makes; ``--replay FILE``
answers every request from FILE (or from every cassette in a folder, read as one) with no
network and no key. The same settings serve the test suite (``tests/conftest.py``) through
:func:`use_cassette`, which is the way in: it raises a refused write once vcrpy has unpatched.

- Matching: method, endpoint path and the canonical JSON body (key order ignored), never
  headers or host, so a cassette recorded against one server replays against any base URL.
  Identical requests replay in recorded order (a 429 then a 200; an invalid answer then a
  valid one): an interaction is played at most once.
- Scrubbing, before anything is written. Request headers: only ``content-type``, ``accept``
  and ``accept-encoding`` are kept, so ``authorization``, ``api-key``,
  ``openai-organization``, ``openai-project``, cookies and any custom gateway header never
  reach a file. Response headers: only what a replay needs is kept (``content-type``,
  ``content-length``, ``retry-after``, ``retry-after-ms``, ``x-should-retry``,
  ``x-ratelimit-*``); ``openai-organization``, ``openai-project``, ``set-cookie``, request
  ids and the like are dropped. Bodies, URIs and kept header values: the values of the
  key-bearing ``OPENAI_*`` variables, key-like strings (``sk-…``, ``Bearer …``, masked keys)
  and account ids (``org-…``, ``proj_…``, ``user-…``) become ``REDACTED`` placeholders, and
  JSON fields named like an account id (``organization``, ``project_id`` …) are blanked.
  Credentials in the URI (user info, ``?api-key=``) are removed.
- Compressed bodies (gzip, deflate, br and zstd when their decoders are installed) are
  decoded and ``content-encoding`` dropped, so the replay works and the cassette is readable.
- Writing: interactions are sorted by request (stable, so identical requests keep their
  recorded order), which makes a re-recording diff cleanly; the file is checked once more for
  anything key-like and for a body left compressed, and is written only if clean, atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import vcr
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
from vcr.serialize import serialize

from pipeline.errors import ConfigError

#: test-suite record modes: replay only; record when the cassette is missing; record afresh
RECORD_MODES = ("none", "once", "rewrite")
_VCR_MODES = {"none": "none", "once": "once", "rewrite": "all", "all": "all"}

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
#: URI query parameters that may carry a credential
SECRET_QUERY_PARAMETERS = frozenset({"api-key", "api_key", "key", "token", "access_token"})
#: environment variables whose values are secrets wherever they appear
_SECRET_ENV = re.compile(r"^(OPENAI|AZURE_OPENAI)_\w*(KEY|TOKEN|SECRET|ORG\w*|PROJECT\w*)$")

REDACTED = "REDACTED"
_NOT_AFTER = r"(?<![A-Za-z0-9_\-])"
_SECRETS: list[tuple[re.Pattern[str], str]] = [
    # a key OpenAI masked in an error message: "sk-abc*************1234"
    (re.compile(_NOT_AFTER + r"sk-[A-Za-z0-9_\-]{0,16}\*{3,}[A-Za-z0-9_\-]{0,8}"), "sk-REDACTED"),
    (
        re.compile(_NOT_AFTER + r"sk-(?:proj-|svcacct-|admin-)?(?!REDACTED)[A-Za-z0-9_\-]{20,}"),
        "sk-REDACTED",
    ),
    (re.compile(r"\bBearer\s+(?!REDACTED)[A-Za-z0-9._~+/=\-]{16,}"), "Bearer REDACTED"),
    (re.compile(_NOT_AFTER + r"org-(?!REDACTED)[A-Za-z0-9]{20,}"), "org-REDACTED"),
    (re.compile(_NOT_AFTER + r"proj_(?!REDACTED)[A-Za-z0-9]{20,}"), "proj_REDACTED"),
    (re.compile(_NOT_AFTER + r"user-(?!REDACTED)[A-Za-z0-9]{20,}"), "user-REDACTED"),
]


class CassetteError(ConfigError):
    """A cassette that cannot be read, or that would be unsafe to write."""


# -- scrubbing -----------------------------------------------------------------------------


def known_secrets(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of key-, org- and project-bearing ``OPENAI_*`` variables (8+ characters)."""
    env = os.environ if env is None else env
    return tuple(
        sorted(
            {v for k, v in env.items() if _SECRET_ENV.match(k) and len(v.strip()) >= 8},
            key=len,
            reverse=True,
        )
    )


def _placeholder(secret: str) -> str:
    """``REDACTED``, keeping a telling prefix: ``sk-REDACTED``, ``org-REDACTED`` …"""
    for prefix in ("sk-", "org-", "proj_", "user-"):
        if secret.startswith(prefix):
            return prefix + REDACTED
    return REDACTED


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and anything key- or account-id-like redacted."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _placeholder(secret))
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def find_secrets(text: str) -> list[str]:
    """Every key-like or account-id-like string in ``text`` (placeholders excluded)."""
    return [m.group(0) for pattern, _ in _SECRETS for m in pattern.finditer(text)]


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


# -- compressed bodies ---------------------------------------------------------------------


def _brotli() -> Callable[[bytes], bytes] | None:
    for name in ("brotli", "brotlicffi"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        return module.decompress  # type: ignore[no-any-return]
    return None


def _zstd() -> Callable[[bytes], bytes] | None:
    for name in ("compression.zstd", "backports.zstd"):
        try:
            module = __import__(name, fromlist=["decompress"])
        except ImportError:
            continue
        return module.decompress  # type: ignore[no-any-return]
    return None


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:  # raw deflate, as some servers send it
        return zlib.decompress(data, -zlib.MAX_WBITS)


def decoder_for(encoding: str) -> Callable[[bytes], bytes] | None:
    """A decoder for one ``content-encoding`` token, or None when none is installed."""
    token = encoding.strip().lower()
    if token in ("", "identity"):
        return lambda data: data
    if token in ("gzip", "x-gzip"):
        return lambda data: zlib.decompress(data, zlib.MAX_WBITS | 16)
    if token == "deflate":
        return _inflate
    if token == "br":
        return _brotli()
    if token == "zstd":
        return _zstd()
    return None


_INSTALL_HINT = {"br": "pip install brotli", "zstd": "pip install backports.zstd"}  # as httpx2


def _decode_response(response: dict[str, Any]) -> None:
    """Decode a compressed response body in place and drop ``content-encoding``.

    An encoding with no decoder installed is left as it is; the writer then refuses to save
    the cassette and names the package that decodes it."""
    headers: dict[str, list[str]] = response.get("headers") or {}
    names = [n for n in headers if n.lower() == "content-encoding"]
    if not names:
        return
    tokens = [t for n in names for v in headers[n] for t in str(v).split(",") if t.strip()]
    body = response.get("body", {}).get("string")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body is None:
        body = b""
    remaining = list(tokens)
    try:
        while remaining:  # encodings are listed in the order they were applied
            decode = decoder_for(remaining[-1])
            if decode is None:
                break
            body = decode(body)
            remaining.pop()
    except (zlib.error, OSError, ValueError) as exc:
        raise CassetteError(
            f"cannot decode a {remaining[-1].strip()} response body: {exc}"
        ) from exc
    for n in names:
        del headers[n]
    if remaining:
        headers["content-encoding"] = [", ".join(t.strip() for t in remaining)]
    response["body"]["string"] = body
    for n in [n for n in headers if n.lower() == "content-length"]:
        del headers[n]
    headers["content-length"] = [str(len(body))]


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


class CassettePersister:
    """vcrpy's file persister, made safe: sorted, checked for secrets, written atomically.

    A cassette it refuses to write is not written, and the reason is kept in :attr:`error`
    rather than raised: vcrpy saves *before* it removes its patches, so an exception here
    would leave httpx2 patched for the rest of the process. :func:`use_cassette` raises it
    once the patches are gone."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(s for s in secrets if s)
        self.error: Exception | None = None

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        """One cassette file, or every ``*.yaml`` cassette in a folder, in name order."""
        path = Path(cassette_path)
        if not path.is_dir():
            return FilesystemPersister.load_cassette(path, serializer)
        requests: list[Any] = []
        responses: list[Any] = []
        for file in sorted(path.glob("*.yaml")):
            try:
                reqs, resps, *_ = FilesystemPersister.load_cassette(file, serializer)
            except CassetteNotFoundError:  # an empty file
                continue
            requests += reqs
            responses += resps
        if not requests:
            raise CassetteNotFoundError()
        return requests, responses

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        try:
            self._save(Path(cassette_path), cassette_dict, serializer)
        except Exception as exc:  # kept; use_cassette raises it
            self.error = self.error or exc

    def _save(self, path: Path, cassette_dict: Any, serializer: Any) -> None:
        pairs = list(zip(cassette_dict["requests"], cassette_dict["responses"], strict=True))
        pairs.sort(key=lambda pair: _sort_key(pair[0]))
        for _, response in pairs:
            headers = response.get("headers") or {}
            for name, values in headers.items():
                if name.lower() == "content-encoding":
                    enc = ", ".join(values)
                    hint = _INSTALL_HINT.get(enc.strip().lower(), "install its decoder")
                    raise CassetteError(
                        f"refusing to write {path}: a response body is {enc}-encoded and "
                        f"cannot be decoded here ({hint}, then record again)"
                    )
        data = {
            **cassette_dict,
            "requests": [p[0] for p in pairs],
            "responses": [p[1] for p in pairs],
        }
        text = serialize(data, serializer)
        leaks = [s for s in self.secrets if s in text] + find_secrets(text)
        if leaks:
            shown = ", ".join(sorted({leak[:6] + "…" for leak in leaks}))
            raise CassetteError(
                f"refusing to write {path}: it would hold {len(leaks)} secret-looking "
                f"string(s) ({shown}); nothing was written"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def make_vcr(
    record_mode: str = "none",
    *,
    secrets: Iterable[str] = (),
    match_on: Iterable[str] = MATCH_ON,
) -> vcr.VCR:
    """A ``vcr.VCR`` with this project's matching, scrubbing and writing.

    ``record_mode``: ``none`` (replay only), ``once`` (record a missing cassette),
    ``rewrite`` (record everything afresh; vcrpy's ``all``). ``secrets``: exact values to
    redact wherever they appear, on top of the patterns."""
    if record_mode not in _VCR_MODES:
        raise ValueError(f"record mode {record_mode!r}: choose from {', '.join(RECORD_MODES)}")
    hidden = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
    v = vcr.VCR(
        record_mode=_VCR_MODES[record_mode],
        match_on=tuple(match_on),
        before_record_request=_request_filter(hidden),
        before_record_response=_response_filter(hidden),
        decode_compressed_response=False,  # done by _decode_response, strictly
        record_on_exception=True,
    )
    v.register_matcher("json_body", json_body_matcher)
    v.register_matcher("endpoint_path", endpoint_path_matcher)
    v.persister = CassettePersister(hidden)
    return v


def track_misses(cassette: Any) -> list[Any]:
    """Remember every request ``cassette`` could not answer; returns the (live) list."""
    misses: list[Any] = []
    can_play = cassette.can_play_response_for

    def tracked(request: Any) -> bool:
        ok = bool(can_play(request))
        if not ok and cassette.write_protected:
            misses.append(request)
        return ok

    cassette.can_play_response_for = tracked
    return misses


def describe_request(request: Any) -> str:
    """``POST /v1/chat/completions (model m, 2 messages)``: enough to tell requests apart."""
    detail = ""
    try:
        body = json.loads(request.body or b"{}")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict):
        bits = []
        if body.get("model"):
            bits.append(f"model {body['model']}")
        if isinstance(body.get("messages"), list):
            bits.append(f"{len(body['messages'])} messages")
        detail = f" ({', '.join(bits)})" if bits else ""
    return f"{request.method} {urlsplit(str(request.uri)).path}{detail}"


@contextlib.contextmanager
def use_cassette(
    path: str | Path,
    record_mode: str = "none",
    *,
    secrets: Iterable[str] | None = None,
    **options: Any,
) -> Iterator[Any]:
    """Use the cassette at ``path`` (see :func:`make_vcr` for the modes); yields it.

    ``rewrite`` deletes the file first, so nothing stale survives a re-recording. The
    cassette's ``misses`` attribute lists the requests it could not answer."""
    p = Path(path)
    if record_mode == "rewrite" and p.exists():
        p.unlink()
    hidden = known_secrets() if secrets is None else tuple(secrets)
    v = make_vcr(record_mode, secrets=hidden)
    with v.use_cassette(str(p), **options) as cassette:
        cassette.misses = track_misses(cassette)
        yield cassette
    if v.persister.error is not None:
        raise v.persister.error


# -- the command line's --replay / --record ------------------------------------------------


def rerecord_command(path: str | Path, *, prompt_ref: str, model: str | None) -> str:
    """The command that records ``path`` again (the script, for the shipped run cassettes)."""
    p = Path(path).resolve()
    folder = p if p.is_dir() else p.parent
    if (
        folder.name == "runs"
        and folder.parent.name == "cassettes"
        and (folder.parent.parent / "scripts" / "record_cassettes.py").is_file()
    ):
        return "`python scripts/record_cassettes.py`"
    model_flag = f" --model {model}" if model else ""
    target = f"{path}/NAME.yaml" if p.is_dir() else str(path)
    return f"`summarise run PATH... --prompt {prompt_ref}{model_flag} --record {target}`"


@contextlib.contextmanager
def replaying(path: str | Path) -> Iterator[Any]:
    """Answer every HTTP request from the cassette at ``path`` (a file, or a folder whose
    cassettes are read together); nothing reaches the network."""
    p = Path(path)
    if not p.exists():
        raise CassetteError(
            f"no cassette at {p}: record one with `summarise run PATH --record {p}` "
            f"against a live endpoint"
        )
    with use_cassette(p, "none", secrets=()) as cassette:
        yield cassette


@contextlib.contextmanager
def recording(path: str | Path, *, secrets: Iterable[str] | None = None) -> Iterator[Any]:
    """Record every HTTP request and response into ``path`` (rewritten), scrubbed.

    ``secrets``: exact values to redact besides the patterns (default: the values of the
    key-, org- and project-bearing ``OPENAI_*`` environment variables)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with use_cassette(p, "rewrite", secrets=secrets) as cassette:
        yield cassette


def cassette_info(path: str | Path) -> dict[str, Any]:
    """What a cassette was recorded with: the model and base URL of its first request (of
    the first cassette that holds one, for a folder)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.yaml"))
        infos = [cassette_info(f) for f in files if f.stat().st_size]
        if not infos:
            raise CassetteError(f"{p} holds no cassette (*.yaml) with recorded interactions")
        first = next((i for i in infos if i["model"]), infos[0])
        return {**first, "interactions": sum(i["interactions"] for i in infos)}
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CassetteError(f"cannot read cassette {p}: {exc}") from exc
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list) or not interactions:
        raise CassetteError(
            f"{p} holds no recorded interactions: record it again with "
            f"`summarise run PATH --record {p}`"
        )
    model = None
    base_url = None
    for it in interactions:
        req = it.get("request", {}) if isinstance(it, dict) else {}
        try:
            model = json.loads(req.get("body") or "{}").get("model")
        except (TypeError, ValueError, AttributeError):
            continue
        uri = str(req.get("uri", ""))
        for suffix in ("/chat/completions", "/responses", "/models"):
            if suffix in uri:
                base_url = uri.split(suffix, 1)[0]
                break
        if model:
            break
    return {"model": model, "base_url": base_url, "interactions": len(interactions)}


__all__ = [
    "ACCOUNT_FIELDS",
    "CannotOverwriteExistingCassetteException",
    "CassetteError",
    "CassettePersister",
    "KEPT_REQUEST_HEADERS",
    "KEPT_RESPONSE_HEADERS",
    "MATCH_ON",
    "RECORD_MODES",
    "SECRET_REQUEST_HEADERS",
    "SECRET_RESPONSE_HEADERS",
    "canonical_body",
    "cassette_info",
    "decoder_for",
    "describe_request",
    "endpoint_path",
    "find_secrets",
    "known_secrets",
    "make_vcr",
    "recording",
    "replaying",
    "rerecord_command",
    "scrub_body",
    "scrub_text",
    "track_misses",
    "use_cassette",
]
