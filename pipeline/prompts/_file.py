"""One prompt version: :class:`Prompt`, loading and checking its file, rendering its messages.

A file is checked in three steps, each failing with one line that names the file (and the
line and field where there is one): YAML, then the prompt-file schema
(``prompt_file.schema.json``, ``additionalProperties: false``), then what a schema cannot say
(name and version match the path, ``{{article}}`` is in the user template, every ``{{slot}}``
is one the prompt's kind fills). A built-in version whose bytes match the built-in lock was
checked when it was released (and the test suite checks every one), so loading it skips the
schema step and ``jsonschema`` is not imported for ``prompts list`` / ``show``.

**Kinds.** A prompt is for one command: ``summarise`` prompts for ``run`` and ``compare``
(slots ``article``, ``title``, ``date``, ``source``), ``judge`` prompts for ``judge`` (those
and ``summary``). A file may say ``kind:``; released files that predate the field (their
bytes are locked) have it read from their templates: a ``{{summary}}`` slot makes a judge.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.errors import PromptError
from pipeline.prompts._folders import (
    NAME,
    VERSION,
    Folder,
    entries,
    read_lock,
    search_folders,
    version_number,
    where,
)
from pipeline.yamlfile import YamlFileError, line_of, load_yaml

# anything a model could read as an article or summary tag: "<" (or its fullwidth and
# small-form look-alikes), optional spaces and slash, the name, then attributes up to ">"
# (an unclosed tag loses only its name: the text after it is kept)
_MARKER = re.compile(
    r"[<\uff1c\ufe64]\s*(/?)\s*(article|summary)(?![\w-])"
    r"(?:[^<>\uff1c\uff1e\ufe64\ufe65]{0,200}[>\uff1e\ufe65])?",
    re.IGNORECASE,
)
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_SLOT = re.compile(r"\{\{\s*(\w+)\s*\}\}")
SCHEMA_FILE = Path(__file__).with_name("prompt_file.schema.json")

# kind -> (the slots it fills, the commands that take it, how to run it)
KINDS: dict[str, tuple[frozenset[str], tuple[str, ...], str]] = {
    "summarise": (
        frozenset({"article", "title", "date", "source"}),
        ("run", "compare"),
        "summarise run PATH --prompt {ref}",
    ),
    "judge": (
        frozenset({"article", "title", "date", "source", "summary"}),
        ("judge",),
        "summarise judge FILE --prompt {ref}",
    ),
}


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
    kind: str = "summarise"
    origin: str = field(default="built-in", compare=False)  # see pipeline.prompts._folders

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
    """Stop data from closing its delimiters early: ``</article>``, and every variant a model
    could take for it (``</article id=1>``, ``</ARTICLE``, fullwidth brackets, a zero-width
    space in the name), becomes ``[/article]``."""
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    return _MARKER.sub(lambda m: "[" + m.group(1) + m.group(2).lower() + "]", text)


def _one_line(value: str | None) -> str:
    """A title, date or source: one line (no fake ``Date:`` line), no article markers."""
    return _neutralise(" ".join((value or "").split()))


def _fill(template: str, values: dict[str, str]) -> str:
    return _SLOT.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# -- references ---------------------------------------------------------------------------------


def parse_ref(ref: str, *, default_name: str = "summarise") -> tuple[str, str | None]:
    """Split ``NAME@VERSION`` (or ``NAME``, ``@VERSION``, ``VERSION``); None: the newest.

    ``NAME@`` with no version, a version not written ``vN`` and a malformed name are errors.
    """
    ref = ref.strip()
    if "@" in ref:
        name, _, version = ref.partition("@")
        name = name or default_name
        if not version:
            raise PromptError(
                f"no version after '@' in {ref!r}: give one (e.g. {name}@v1), "
                f"or leave out the '@' for the newest version"
            )
        if not VERSION.match(version):
            raise PromptError(
                f"bad version {version!r} in {ref!r}: versions are written v1, v2, ... "
                f"(see `summarise prompts list`)"
            )
    elif VERSION.match(ref):
        name, version = default_name, ref
    else:
        name, version = ref, None
    if not NAME.match(name):
        raise PromptError(
            f"bad prompt name {name!r}: use NAME@VERSION, e.g. summarise@v2 "
            f"(see `summarise prompts list`)"
        )
    return name, version


# -- loading ------------------------------------------------------------------------------------


def load_prompt(ref: str, directory: Path | None = None, *, check_lock: bool = True) -> Prompt:
    """Load ``NAME@VERSION`` (the newest version when none is given) and check its lock.

    Without ``directory`` the user's folder and the built-in prompts are searched (see
    :mod:`pipeline.prompts._folders`); with it, only that folder.
    """
    name, version = parse_ref(ref)
    folders = search_folders(directory)
    found = [e for e in entries(directory) if e.name == name]
    if not found:
        known = sorted({e.name for e in entries(directory)})
        raise PromptError(
            f"unknown prompt {name!r} (known: {', '.join(known) or 'none'}); "
            f"{where(folders)}; see `summarise prompts list`"
        )
    if version is None:
        entry = max(found, key=lambda e: version_number(e.version))
    else:
        match = [e for e in found if e.version == version]
        if not match:
            raise PromptError(
                f"unknown version {name}@{version} (known: {', '.join(e.version for e in found)}); "
                f"{where(folders)}; see `summarise prompts list`"
            )
        entry = match[0]
    return load_file(entry.path, entry.folder, check_lock=check_lock)


def load_file(path: Path, folder: Folder, *, check_lock: bool = True) -> Prompt:
    """Load one prompt file from ``folder`` (whose ``lock`` releases it)."""
    name, version = path.parent.name, path.stem
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    lock = read_lock(folder.path)
    ref = f"{name}@{version}"
    locked = ref in lock
    if check_lock and locked and lock[ref] != digest:
        raise PromptError(locked_mismatch_message(name, version, path, lock[ref], digest))
    trusted = folder.builtin and locked and lock[ref] == digest
    data = parse_file(raw, path, validate=not trusted)
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
        kind=kind_of(data, path),
        origin=folder.origin,
    )


def locked_mismatch_message(name: str, version: str, path: Path, want: str, got: str) -> str:
    n = version_number(version)
    return (
        f"{path} was edited after {name}@{version} was released "
        f"(locked sha256 {want[:12]}…, file now {got[:12]}…): restore it "
        f"(git checkout -- {path}) and put the change in a new version, "
        f"e.g. {path.parent / f'v{n + 1}.yaml'}, then run `summarise prompts lock`"
    )


def parse_file(raw: bytes, path: Path, *, validate: bool = True) -> dict[str, Any]:
    """The file's mapping, checked against the prompt-file schema when ``validate``."""
    try:
        data = load_yaml(raw, path)
    except YamlFileError as exc:
        raise PromptError(f"{exc} (the file is not valid YAML)") from exc
    if not isinstance(data, dict):
        raise PromptError(
            f"{path} must be a YAML mapping with keys name, version, description, changelog, "
            f"schema, parameters, system, user"
        )
    if validate:
        _validate(data, raw, path)
    if "{{article}}" not in str(data["user"]).replace(" ", ""):
        raise PromptError(f"{path}: the user template must contain {{{{article}}}}")
    return data


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # only for files not released by the lock

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _validate(data: dict[str, Any], raw: bytes, path: Path) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.path])
    if not errors:
        return
    problems = [_describe(err, raw) for err in errors[:3]]
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    raise PromptError(
        f"{path}: {'; '.join(problems)}{more} (the prompt file format: "
        f"pipeline/prompts/{SCHEMA_FILE.name})"
    )


def _describe(err: Any, raw: bytes) -> str:
    """``field (line N): problem`` for one jsonschema error."""
    field_path: list[str | int] = list(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    allowed = sorted(schema.get("properties", {}))
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        extra = sorted(str(k) for k in err.instance if k not in allowed)
        field_path.append(extra[0])
        line = line_of(raw, field_path)
        problem = f"unknown key(s) {', '.join(extra)} (allowed: {', '.join(allowed)})"
    elif err.validator == "required" and isinstance(err.instance, dict):
        missing = [k for k in schema.get("required", []) if k not in err.instance]
        line = None
        problem = f"missing {', '.join(missing)} (required: {', '.join(schema['required'])})"
    else:
        line = line_of(raw, field_path)
        if err.validator == "enum":
            problem = f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
        else:
            problem = err.message
    name = ".".join(str(p) for p in field_path) or "the file"
    return f"{name}{f' (line {line})' if line else ''}: {problem}"


def kind_of(data: Mapping[str, Any], path: Path) -> str:
    """The prompt's kind: declared, or read from its slots; every slot must be one it fills."""
    slots = set(_SLOT.findall(str(data.get("system", "")) + "\n" + str(data.get("user", ""))))
    inferred = "judge" if "summary" in slots else "summarise"
    declared = data.get("kind")
    kind = str(declared) if declared else inferred
    fills, _, _ = KINDS[kind]
    unknown = sorted(slots - fills)
    if unknown:
        raise PromptError(
            f"{path}: unknown template slot(s) {', '.join('{{' + s + '}}' for s in unknown)}; "
            f"a {kind} prompt fills {', '.join('{{' + s + '}}' for s in sorted(fills))}"
        )
    if kind == "judge" and "summary" not in slots:
        raise PromptError(
            f"{path}: a judge prompt must put the summary to judge in its user template "
            f"({{{{summary}}}})"
        )
    return kind


def check_command(prompt: Prompt, command: str) -> None:
    """Raise a usage error when ``prompt`` is not for ``command`` (run, compare or judge)."""
    _, commands, how = KINDS[prompt.kind]
    if command in commands:
        return
    what = {
        "judge": "a judge prompt: it scores a summary against its article",
        "summarise": "a summarising prompt: it summarises articles",
    }[prompt.kind]
    hint = (
        "judge takes judge prompts, e.g. --prompt judge@v1"
        if command == "judge"
        else (f"{command} takes summarising prompts, e.g. summarise@v2")
    )
    raise PromptError(f"{prompt.ref} is {what}; use `{how.format(ref=prompt.ref)}` ({hint})")


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
