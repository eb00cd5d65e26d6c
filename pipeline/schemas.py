"""JSON Schemas of the structured outputs: loading, the strict-mode subset, validation.

``schemas/<name>.json`` holds the full Draft 2020-12 schema (lengths, counts,
enums). OpenAI's strict structured output accepts only a subset of JSON Schema,
so :func:`strict_subset` derives the schema sent to the model: every property
is required (an optional one becomes nullable through ``["type", "null"]``),
``additionalProperties`` is false everywhere, and keywords strict mode does not
take (length and count limits, patterns, formats) are dropped. The full schema
is then checked locally with a validator compiled once per schema.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import SchemaError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

# Keywords kept in the strict subset; everything else is dropped.
_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$defs",
        "$ref",
        "description",
        "title",
    }
)


def builtin_schemas_dir() -> Path:
    """The schemas shipped with the package (``pipeline/_data/schemas`` in a wheel; the
    repository's top-level ``schemas/`` in a source checkout or an editable install)."""
    package = Path(__file__).resolve().parent
    bundled = package / "_data" / "schemas"
    return bundled if bundled.is_dir() else package.parent / "schemas"


def schema_dirs() -> list[Path]:
    """Where schemas are looked up, first match wins: the user's own folder
    (``$SUMMARISE_SCHEMAS``, or ``./schemas`` when present), then the built-in one."""
    builtin = builtin_schemas_dir()
    env = os.environ.get("SUMMARISE_SCHEMAS")
    user = Path(env) if env else Path("schemas")
    if user.is_dir() and user.resolve() != builtin.resolve():
        return [user, builtin]
    return [builtin]


def schemas_dir() -> Path:
    """The first folder schemas are looked up in (see :func:`schema_dirs`)."""
    return schema_dirs()[0]


@dataclass(frozen=True)
class Schema:
    """A loaded schema: its name, full form, strict subset, hash and compiled validator."""

    name: str
    full: dict[str, Any]
    strict: dict[str, Any]
    sha256: str
    validator: Draft202012Validator = field(repr=False, compare=False)

    def errors(self, instance: Any) -> list[str]:
        """Every validation error as ``path: message``, sorted by path, empty when valid."""
        out = []
        for err in sorted(self.validator.iter_errors(instance), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            out.append(f"{where}: {err.message}")
        return out


@cache
def _load_cached(path: str, mtime_ns: int) -> Schema:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as _JsonSchemaError

    p = Path(path)
    try:
        raw = p.read_bytes()
        full = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise SchemaError(
            f"cannot read schema {p}: {exc} (fix the file or the prompt's schema)"
        ) from exc
    try:
        Draft202012Validator.check_schema(full)
    except _JsonSchemaError as exc:
        raise SchemaError(f"{p} is not a valid Draft 2020-12 schema: {exc.message}") from exc
    name = p.name.removesuffix(".json")
    return Schema(
        name=name,
        full=full,
        strict=strict_subset(full),
        sha256=hashlib.sha256(raw).hexdigest(),
        validator=Draft202012Validator(full, format_checker=Draft202012Validator.FORMAT_CHECKER),
    )


def load_schema(name: str, directory: Path | None = None) -> Schema:
    """Load ``schemas/<name>.json`` (compiled once and cached while the file is unchanged)."""
    dirs = [directory] if directory is not None else schema_dirs()
    for d in dirs:
        p = d / f"{name}.json"
        if p.is_file():
            return _load_cached(str(p.resolve()), p.stat().st_mtime_ns)
    known = ", ".join(sorted({x.stem for d in dirs for x in d.glob("*.json")})) or "none"
    looked = " and ".join(str(d) for d in dirs)
    raise SchemaError(
        f"unknown schema {name!r}: no {name}.json in {looked} (known: {known}); "
        f"put it in ./schemas/ or a folder named by SUMMARISE_SCHEMAS"
    )


def strict_subset(schema: dict[str, Any]) -> dict[str, Any]:
    """Derive the strict-mode schema OpenAI's structured output accepts from a full schema."""
    out: dict[str, Any] = _strict(copy.deepcopy(schema))
    return out


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "oneOf":  # strict mode has no oneOf; anyOf is the closest it takes
            key = "anyOf"
            if "anyOf" in node:
                continue
        if key not in _STRICT_KEYWORDS:
            continue
        if key in ("properties", "$defs"):
            out[key] = {k: _strict(v) for k, v in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = _strict(value)
        elif key == "additionalProperties":
            continue  # always false in strict mode (set below for every object)
        else:
            out[key] = value
    t = out.get("type")
    if "properties" in out or t == "object" or (isinstance(t, list) and "object" in t):
        # strict mode closes every object, maps included: it cannot describe open ones
        out.setdefault("properties", {})
        required = set(node.get("required", []))
        for prop, sub in out["properties"].items():
            if prop not in required:
                out["properties"][prop] = _nullable(sub)
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


def _nullable(sub: dict[str, Any]) -> dict[str, Any]:
    if "enum" in sub and None not in sub["enum"]:
        sub = {**sub, "enum": [*sub["enum"], None]}
    t = sub.get("type")
    if isinstance(t, str):
        return {**sub, "type": [t, "null"]} if t != "null" else sub
    if isinstance(t, list):
        return sub if "null" in t else {**sub, "type": [*t, "null"]}
    if "enum" in sub:
        return sub
    if list(sub) == ["anyOf"]:
        branches = sub["anyOf"]
        if any(b.get("type") == "null" for b in branches if isinstance(b, dict)):
            return sub
        return {"anyOf": [*branches, {"type": "null"}]}
    return {"anyOf": [sub, {"type": "null"}]}


def minimal_instance(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """The smallest value that satisfies a schema's shape (used for unknown schemas)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        return minimal_instance(defs.get(ref, {}), defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return minimal_instance(schema["anyOf"][0], defs)
    t = schema.get("type", "object")
    if isinstance(t, list):
        t = "null" if "null" in t else t[0]
    if t == "object":
        props = schema.get("properties", {})
        req = schema.get("required", list(props))
        return {k: minimal_instance(props[k], defs) for k in req if k in props}
    if t == "array":
        n = int(schema.get("minItems", 0))
        return [minimal_instance(schema.get("items", {}), defs) for _ in range(n)]
    if t == "string":
        text = "n/a".ljust(int(schema.get("minLength", 0)), ".")
        return text[: int(schema["maxLength"])] if "maxLength" in schema else text
    if t in ("integer", "number"):
        return schema.get("minimum", 0)
    if t == "boolean":
        return False
    return None
