"""Secrets in text: the ``OPENAI_*`` values to redact, key-like and account-id-like strings.

:func:`scrub_text` replaces them with ``REDACTED`` placeholders; :func:`find_secrets` lists
what is left (the writer's last check, and the tests' check of every shipped cassette).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

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
