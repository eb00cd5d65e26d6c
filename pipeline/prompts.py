"""Versioned prompts: ``prompts/<name>/vN.yaml``, locked by hash once released.

A prompt file holds ``name``, ``version``, ``description``, ``changelog``, ``schema``,
``parameters`` (``temperature``, ``max_output_tokens``) and the ``system`` and ``user``
templates. Templates take ``{{article}}``, ``{{title}}``, ``{{date}}`` and ``{{source}}``.
The article is placed between ``<article>`` and ``</article>``; any such marker inside the
article text is neutralised so that the text cannot close the block early.

``prompts/lock`` lists the sha256 of each released version's file bytes. A locked version
whose bytes change is an error; a version that is not yet in the lock is a draft and may be
run (with a warning) until ``summarise prompts lock`` releases it.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import PromptError

_REQUIRED = (
    "name",
    "version",
    "description",
    "changelog",
    "schema",
    "parameters",
    "system",
    "user",
)
_ALLOWED = frozenset(_REQUIRED)
_PARAMS = frozenset({"temperature", "max_output_tokens", "top_p", "seed"})
_VERSION = re.compile(r"^v(\d+)$")
_MARKER = re.compile(r"<\s*(/?)\s*(article|summary)\s*>", re.IGNORECASE)


def prompts_dir() -> Path:
    """The prompts folder: ``$SUMMARISE_PROMPTS``, ``./prompts``, or the repository's."""
    env = os.environ.get("SUMMARISE_PROMPTS")
    if env:
        return Path(env)
    local = Path("prompts")
    if (local / "lock").is_file():
        return local
    return Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    """One prompt version, as loaded from its YAML file."""

    name: str
    version: str
    description: str
    changelog: list[str]
    schema: str
    parameters: dict[str, Any]
    system: str
    user: str
    sha256: str
    path: Path
    locked: bool = field(default=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def max_output_tokens(self) -> int:
        return int(self.parameters.get("max_output_tokens", 1500))

    def render(
        self,
        article: str,
        *,
        title: str | None = None,
        date: str | None = None,
        source: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> list[dict[str, str]]:
        """The chat messages for one article (``extra`` fills further ``{{name}}`` slots)."""
        values = {
            "article": _neutralise(article),
            "title": _one_line(title) or "(none)",
            "date": _one_line(date) or "(unknown)",
            "source": _one_line(source),
        }
        for key, value in (extra or {}).items():
            values[key] = _neutralise(value)
        return [
            {"role": "system", "content": _fill(self.system, values)},
            {"role": "user", "content": _fill(self.user, values)},
        ]


def _neutralise(text: str) -> str:
    """Stop data from closing its delimiters early: ``</article>`` becomes ``[/article]``."""
    return _MARKER.sub(lambda m: "[" + m.group(1) + m.group(2).lower() + "]", text)


def _one_line(value: str | None) -> str:
    """A title, date or source: one line (no fake ``Date:`` line), no article markers."""
    return _neutralise(" ".join((value or "").split()))


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), template)


def parse_ref(ref: str, *, default_name: str = "summarise") -> tuple[str, str | None]:
    """Split ``NAME@VERSION`` (or ``NAME`` or ``@VERSION`` or ``VERSION``)."""
    if "@" in ref:
        name, _, version = ref.partition("@")
        return (name or default_name), (version or None)
    if _VERSION.match(ref):
        return default_name, ref
    return ref, None


def read_lock(directory: Path | None = None) -> dict[str, str]:
    """``{"name@vN": sha256}`` from ``prompts/lock`` (empty when there is none)."""
    path = (directory or prompts_dir()) / "lock"
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ref, _, digest = line.partition(" ")
        out[ref.strip()] = digest.strip()
    return out


def write_lock(entries: dict[str, str], directory: Path | None = None) -> None:
    path = (directory or prompts_dir()) / "lock"
    lines = [
        "# sha256 of each released prompt version's file. Do not edit by hand:",
        "# release a new version with `summarise prompts lock`.",
        *(f"{ref} {digest}" for ref, digest in sorted(entries.items(), key=_ref_order)),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ref_order(item: tuple[str, str]) -> tuple[str, int]:
    name, _, version = item[0].partition("@")
    m = _VERSION.match(version)
    return name, int(m.group(1)) if m else 0


def _version_number(version: str) -> int:
    m = _VERSION.match(version)
    return int(m.group(1)) if m else -1


def available(directory: Path | None = None) -> dict[str, list[str]]:
    """``{name: [versions, oldest first]}`` for every prompt file found."""
    d = directory or prompts_dir()
    out: dict[str, list[str]] = {}
    if not d.is_dir():
        return out
    for sub in sorted(p for p in d.iterdir() if p.is_dir()):
        versions = [f.stem for f in sub.glob("v*.yaml") if _VERSION.match(f.stem)]
        if versions:
            out[sub.name] = sorted(versions, key=_version_number)
    return out


def load_prompt(ref: str, directory: Path | None = None, *, check_lock: bool = True) -> Prompt:
    """Load ``NAME@VERSION`` (newest version when none is given) and check it against the lock."""
    d = directory or prompts_dir()
    name, version = parse_ref(ref)
    known = available(d)
    if name not in known:
        raise PromptError(
            f"unknown prompt {name!r} (known: {', '.join(sorted(known)) or 'none'}); "
            f"see `summarise prompts list`"
        )
    if version is None:
        version = known[name][-1]
    if version not in known[name]:
        raise PromptError(
            f"unknown version {name}@{version} (known: {', '.join(known[name])}); "
            f"see `summarise prompts list`"
        )
    path = d / name / f"{version}.yaml"
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    lock = read_lock(d)
    locked = f"{name}@{version}" in lock
    if check_lock and locked and lock[f"{name}@{version}"] != digest:
        raise PromptError(
            locked_mismatch_message(name, version, path, lock[f"{name}@{version}"], digest)
        )
    data = _parse(raw, path)
    if data["name"] != name or data["version"] != version:
        raise PromptError(
            f"{path} says name={data['name']!r} version={data['version']!r}; "
            f"they must match its path ({name}/{version}.yaml)"
        )
    return Prompt(
        name=name,
        version=version,
        description=str(data["description"]).strip(),
        changelog=[str(x) for x in data["changelog"]],
        schema=str(data["schema"]),
        parameters=dict(data["parameters"]),
        system=str(data["system"]),
        user=str(data["user"]),
        sha256=digest,
        path=path,
        locked=locked,
    )


def locked_mismatch_message(name: str, version: str, path: Path, want: str, got: str) -> str:
    n = _version_number(version)
    return (
        f"{path} was edited after {name}@{version} was released "
        f"(locked sha256 {want[:12]}…, file now {got[:12]}…): restore it "
        f"(git checkout -- {path}) and put the change in a new version, "
        f"e.g. {path.parent / f'v{n + 1}.yaml'}, then run `summarise prompts lock`"
    )


def _parse(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PromptError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PromptError(f"{path} must be a YAML mapping with keys {', '.join(_REQUIRED)}")
    missing = [k for k in _REQUIRED if k not in data]
    unknown = sorted(set(data) - _ALLOWED)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown key(s) {', '.join(unknown)}")
        raise PromptError(f"{path}: {'; '.join(parts)} (allowed: {', '.join(_REQUIRED)})")
    params = data["parameters"]
    if not isinstance(params, dict) or set(params) - _PARAMS:
        raise PromptError(f"{path}: parameters must be a mapping of {', '.join(sorted(_PARAMS))}")
    if not isinstance(data["changelog"], list):
        raise PromptError(f"{path}: changelog must be a list of strings")
    if "{{article}}" not in str(data["user"]).replace(" ", ""):
        raise PromptError(f"{path}: the user template must contain {{{{article}}}}")
    return data


@dataclass(frozen=True)
class LockReport:
    added: list[str]
    unchanged: list[str]
    mismatched: list[str]
    messages: list[str]


def lock(directory: Path | None = None, *, check: bool = False) -> LockReport:
    """Release every unlocked version (or, with ``check``, only report).

    A locked version whose file changed is never re-locked: that is the error the lock exists
    to catch. ``check`` reports unlocked versions as problems too.
    """
    d = directory or prompts_dir()
    entries = read_lock(d)
    added, unchanged, mismatched, messages = [], [], [], []
    for name, versions in available(d).items():
        for version in versions:
            ref = f"{name}@{version}"
            path = d / name / f"{version}.yaml"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if ref in entries:
                if entries[ref] == digest:
                    unchanged.append(ref)
                else:
                    mismatched.append(ref)
                    messages.append(
                        locked_mismatch_message(name, version, path, entries[ref], digest)
                    )
                continue
            load_prompt(ref, d, check_lock=False)  # validates the file before release
            added.append(ref)
            if check:
                messages.append(f"{ref} is not released: run `summarise prompts lock`")
            else:
                entries[ref] = digest
    if added and not check:
        write_lock(entries, d)
    return LockReport(added, unchanged, mismatched, messages)


def diff(a: Prompt, b: Prompt) -> str:
    """A unified diff of two prompt files."""
    return "".join(
        difflib.unified_diff(
            a.path.read_text(encoding="utf-8").splitlines(keepends=True),
            b.path.read_text(encoding="utf-8").splitlines(keepends=True),
            fromfile=a.ref,
            tofile=b.ref,
        )
    )
