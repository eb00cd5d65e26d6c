"""The project's errors.

Every error the library raises on purpose derives from :class:`SummariseError`.
The CLI turns them into a one-line message and an exit code; nothing else
reaches the user as a traceback.

    SummariseError                      base; ``exit_code`` says how the CLI ends
    ├── ConfigError                     exit 2: bad flag, missing key, unknown prompt,
    │   │                               edited locked prompt, unreadable path
    │   ├── PromptError                 unknown prompt/version, lock mismatch
    │   ├── SchemaError                 unknown or broken schema file
    │   └── ReplayMiss                  --replay: the cassette has no recording for a request
    ├── ArticleError                    one input is unusable (kind ``bad_input`` or ``too_long``);
    │                                   becomes a failed record, the run goes on
    ├── ModelCallError                  one article failed at the model; carries ``kind``
    │   │                               (see ``FAILURE_KINDS``), ``attempts``, ``usage``,
    │   │                               ``last_output``; becomes a failed record
    │   └── RunStopped                  the whole run must stop now (401/403, exhausted quota):
    │                                   in-flight work ends, the rest is recorded as failed
    ├── StoreError                      exit 2: the SQLite store cannot be opened or
    │                                   written (disk full, damaged file); names the path
    └── OutputError                     exit 2: ``--out`` cannot be written (disk full,
                                        read-only, no such folder); names the path
"""

from __future__ import annotations

from typing import Any

FAILURE_KINDS = (
    "bad_input",
    "schema_invalid",
    "truncated",
    "refusal",
    "rate_limited",
    "timeout",
    "http_error",
    "auth",
    "too_long",
    "in_batch",  # the article waits in an open batch: paid for there, not asked again live
)


class SummariseError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(SummariseError):
    """A usage or configuration problem: the CLI prints it and exits 2."""

    exit_code = 2


class PromptError(ConfigError):
    """Unknown prompt or version, or a released version edited without a new number."""


class SchemaError(ConfigError):
    """A schema that is missing or not a valid Draft 2020-12 schema."""


class ReplayMiss(ConfigError):
    """``--replay`` met a request that the cassette does not hold."""


class ArticleError(SummariseError):
    """One input cannot be summarised; it becomes a failed record."""

    def __init__(self, message: str, *, kind: str = "bad_input") -> None:
        super().__init__(message)
        assert kind in FAILURE_KINDS, kind
        self.kind = kind


class ModelCallError(SummariseError):
    """The model did not give a usable answer for one article."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        attempts: int = 1,
        usage: dict[str, int] | None = None,
        last_output: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        assert kind in FAILURE_KINDS, kind
        self.kind = kind
        self.attempts = attempts
        self.usage = usage or {"prompt_tokens": 0, "completion_tokens": 0}
        self.last_output = last_output
        self.status_code = status_code

    def as_error(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "last_output": self.last_output}


class RunStopped(ModelCallError):
    """A failure that stops the whole run (bad key, no permission, exhausted quota)."""


class StoreError(SummariseError):
    """The store cannot be opened or written."""

    exit_code = 2


class OutputError(SummariseError):
    """``--out`` cannot be written: a one-line message naming the path and the cause.

    The JSONL holds only whole lines (a line cut short by a full disk is removed) and every
    finished article is in the store, so the same command resumes the run."""

    exit_code = 2
