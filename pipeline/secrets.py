"""Secrets: the one place that knows what must never be stored, printed or rendered.

A run's own secrets are the API key, credentials in ``--base-url`` (``https://user:PASS@host``:
the password, ``user:PASS`` and its base64, which httpx sends as Basic auth), key-like query
values in it (``?api-key=…``, ``token``, ``sig``…) and the values of the key-, org- and
project-bearing ``OPENAI_*`` / ``AZURE_OPENAI_*`` variables. Besides those exact values, any
key-like or account-id-like string (``sk-…``, ``Bearer …``, masked keys, ``org-…``, ``proj_…``,
``user-…``) is redacted wherever it appears. A server that echoes the key inside its answer
therefore cannot put it in a summary, a record's ``last_output``, the attempts table, a
report or the terminal, as long as each of those goes through :meth:`Secrets.scrub`.

The API, for every boundary (record creation, store writes, report rendering, terminal)::

    secrets = Secrets.from_endpoint(endpoint)     # the run's own secrets (+ the environment's)
    secrets.scrub("text")                         # -> text with each one REDACTED
    secrets.scrub_data({"summary": ...})          # every string inside JSON-like data
    secrets.scrub_record(record)                  # a Record, in place (summary, error, checks…)

    with active(secrets):                         # the run's secrets for code that has no
        scrub("text")                             # handle on them (terminal, reports)

:func:`scrub_text` (patterns plus given values) and :func:`find_secrets` (what is left: the
cassette writer's last check) are the lower-level functions the cassettes use.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from pipeline.client import Endpoint
    from pipeline.records import Record

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


#: any of :data:`_SECRETS`: one scan says whether a text needs the six substitutions
_ANY_SECRET = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _SECRETS))
#: a literal every one of :data:`_SECRETS` contains: a text with none of them needs no scan
_SECRET_LITERALS = ("sk-", "Bearer", "org-", "proj_", "user-")


def _key_like(text: str) -> bool:
    """Whether ``text`` may hold a key-like string (a literal first: far cheaper than the
    pattern over an answer of a few thousand characters)."""
    return any(lit in text for lit in _SECRET_LITERALS) and _ANY_SECRET.search(text) is not None


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and anything key- or account-id-like redacted."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, _placeholder(secret))
    if not _key_like(text):  # the usual case: no substitution to run
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def find_secrets(text: str) -> list[str]:
    """Every key-like or account-id-like string in ``text`` (placeholders excluded)."""
    return [m.group(0) for pattern, _ in _SECRETS for m in pattern.finditer(text)]


#: query parameters whose values are credentials (``?api-key=…`` and the like)
SECRET_QUERY_PARAMETERS = frozenset(
    {
        "api-key",
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "auth",
        "password",
        "secret",
        "sig",
        "signature",
        "code",
    }
)
_MIN_LENGTH = 6  # shorter values ("pw", "local") would redact ordinary words


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The credentials inside ``url``: user info (password, ``user:pass`` and its base64)
    and the values of key-like query parameters."""
    if not url:
        return ()
    try:
        parts = urlsplit(url)
        password = parts.password
        username = parts.username
    except ValueError:
        return ()
    found: set[str] = set()
    if password:
        found.add(unquote(password))
        found.add(password)
        pair = f"{unquote(username or '')}:{unquote(password)}"
        found.add(pair)
        found.add(base64.b64encode(pair.encode()).decode())
    elif username:  # a token given as the user name alone (https://TOKEN@host)
        found.add(unquote(username))
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in SECRET_QUERY_PARAMETERS and value:
            found.add(value)
    return tuple(v for v in found if len(v) >= _MIN_LENGTH)


@dataclass(frozen=True)
class Secrets:
    """A run's secret values (longest first, so a value that contains another goes whole)."""

    values: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        kept = {v for v in self.values if v and len(v) >= _MIN_LENGTH}
        object.__setattr__(self, "values", tuple(sorted(kept, key=len, reverse=True)))

    @classmethod
    def from_endpoint(cls, endpoint: Endpoint, env: Mapping[str, str] | None = None) -> Secrets:
        """The key, the credentials in the base URL (and the Azure endpoint's), and the
        secret environment values."""
        values = [*known_secrets(env), *url_secrets(endpoint.base_url)]
        values += url_secrets(getattr(endpoint, "azure_endpoint", None))
        if endpoint.api_key:
            values.append(endpoint.api_key)
        return cls(tuple(values))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if env is None else env
        return cls((*known_secrets(env), *url_secrets(env.get("OPENAI_BASE_URL"))))

    def __or__(self, other: Secrets) -> Secrets:
        return Secrets(self.values + other.values)

    def scrub(self, text: str) -> str:
        """``text`` with every one of these values, and anything key-like, redacted."""
        return scrub_text(text, self.values)

    def scrub_data(self, data: Any) -> Any:
        """Every string inside JSON-like ``data`` (dicts, lists, keys too) scrubbed."""
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, dict):
            return {self.scrub_data(k): self.scrub_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.scrub_data(v) for v in data]
        return data

    def found_in_data(self, data: Any) -> bool:
        """Whether any string inside ``data`` holds one of these values or a key-like string:
        one scan of all its strings joined, where :meth:`scrub_data` runs every pattern over
        every string. A match across two joined strings only sends ``data`` to the full
        scrub; the NUL between them is neither a key character nor white space, so nothing
        that matches in one string is missed in the joined text."""
        texts: list[str] = []
        _strings(data, texts)
        joined = "\0".join(texts)
        return any(v and v in joined for v in self.values) or _key_like(joined)

    def scrub_record(self, record: Record) -> Record:
        """``record`` with its text fields scrubbed, in place (and returned)."""
        names = ("summary", "error", "checks", "title", "source")
        values = [getattr(record, name, None) for name in names]
        if not self.found_in_data(values):  # the usual case, at a fraction of the cost
            return record
        for name, value in zip(names, values, strict=True):
            if value is not None:
                setattr(record, name, self.scrub_data(value))
        return record


def _strings(data: Any, out: list[str]) -> None:
    """Every string inside JSON-like ``data`` (dict keys too), appended to ``out``."""
    if isinstance(data, str):
        out.append(data)
    elif isinstance(data, dict):
        for k, v in data.items():
            _strings(k, out)
            _strings(v, out)
    elif isinstance(data, list | tuple):
        for v in data:
            _strings(v, out)


_active: list[Secrets] = []


@contextlib.contextmanager
def active(secrets: Secrets) -> Iterator[Secrets]:
    """Make ``secrets`` the ones :func:`scrub` applies while the block runs."""
    _active.append(secrets)
    try:
        yield secrets
    finally:
        _active.remove(secrets)


def current() -> Secrets:
    """The secrets of the runs now active, and those of the environment."""
    merged = Secrets.from_env()
    for s in _active:
        merged = merged | s
    return merged


def scrub(text: str) -> str:
    """``text`` scrubbed of the active runs' secrets, the environment's and key-like strings."""
    return current().scrub(text)


class ScrubbingStore:
    """A store handle whose every text write goes through ``secrets`` first: records (in
    place, so what is written to ``--out`` afterwards is the same clean record), attempts'
    raw output and errors, and the journal's raw answers. Everything else passes through.

    This is how a run applies :class:`Secrets` at the store boundary without the engine or
    the store knowing: ``run_live(items, summariser, ScrubbingStore(store, secrets), ...)``.
    """

    def __init__(self, store: Any, secrets: Secrets) -> None:
        self._store = store
        self._secrets = secrets

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def scrub(self, text: str) -> str:
        """``text`` without the run's secrets: for the other texts a caller stores through
        this handle (a provider's message kept with a batch job, say)."""
        return self._secrets.scrub(text)

    def save_result(
        self, run_id: int, position: int, cache_key: str, record: Any, attempts: Any = (), **kw: Any
    ) -> None:
        import dataclasses

        self._secrets.scrub_record(record)
        clean = [
            dataclasses.replace(
                a,
                raw_output=None if a.raw_output is None else self._secrets.scrub(a.raw_output),
                error=None if a.error is None else self._secrets.scrub(a.error),
            )
            for a in attempts
        ]
        self._store.save_result(run_id, position, cache_key, record, clean, **kw)

    def save_answer(
        self, cache_key: str, request_hash: str, status_code: int, body: str, latency_ms: int
    ) -> None:
        self._store.save_answer(
            cache_key, request_hash, status_code, self._secrets.scrub(body), latency_ms
        )


S = TypeVar("S")


def scrubbing(store: S, secrets: Secrets) -> S:
    """``store`` behind a :class:`ScrubbingStore`, typed as the store it stands for (what
    the live runner hands the engine)."""
    return cast(S, ScrubbingStore(store, secrets))


# -- the terminal ----------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str, *, one_line: bool = True) -> str:
    """``text`` fit for the terminal: secrets scrubbed, ANSI escape sequences and control
    characters removed (a server's message cannot move the cursor, recolour the screen or
    forge a line of its own), and, with ``one_line``, newlines and tabs made spaces."""
    text = _ANSI.sub("", scrub(text))
    if one_line:
        text = re.sub(r"[\r\n\t]+", " ", text)
    return _CONTROLS.sub("", text)


def remember(secrets: Secrets) -> None:
    """Add ``secrets`` to :func:`current` for the rest of the process (the CLI does this for
    the endpoint it resolved, so every message it prints is scrubbed of them)."""
    if secrets.values and secrets not in _active:
        _active.append(secrets)
