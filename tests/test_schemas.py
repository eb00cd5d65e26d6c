"""Schemas: the strict-mode subset, the compiled validator, minimal instances."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pipeline.errors import SchemaError
from pipeline.schemas import load_schema, minimal_instance, strict_subset

REPO = Path(__file__).resolve().parent.parent
DROPPED = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "default",
    "examples",
    "uniqueItems",
)


def walk_objects(node: Any) -> list[dict[str, Any]]:
    """Every sub-schema that describes an object."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        t = node.get("type")
        if t == "object" or (isinstance(t, list) and "object" in t) or "properties" in node:
            found.append(node)
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found += walk_objects(sub)
            elif key in ("items", "anyOf", "additionalProperties"):
                found += walk_objects(value)
    elif isinstance(node, list):
        for sub in node:
            found += walk_objects(sub)
    return found


def keywords(node: Any) -> set[str]:
    """Every schema keyword used anywhere (property names excluded)."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    out |= keywords(sub)
            elif key in ("items", "anyOf", "additionalProperties"):
                out |= keywords(value)
    elif isinstance(node, list):
        for sub in node:
            out |= keywords(sub)
    return out


# --- the strict subset, case by case -----------------------------------------------------------

STRICT_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "optional-becomes-nullable-and-required",
        {
            "type": "object",
            "required": ["a"],
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        },
        {
            "type": "object",
            "required": ["a", "b"],
            "additionalProperties": False,
            "properties": {"a": {"type": "string"}, "b": {"type": ["integer", "null"]}},
        },
    ),
    (
        "optional-type-list-gains-null-once",
        {
            "type": "object",
            "properties": {"a": {"type": ["string", "integer"]}, "b": {"type": ["string", "null"]}},
        },
        {
            "type": "object",
            "required": ["a", "b"],
            "additionalProperties": False,
            "properties": {
                "a": {"type": ["string", "integer", "null"]},
                "b": {"type": ["string", "null"]},
            },
        },
    ),
    (
        "lengths-counts-patterns-formats-dropped",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["s", "xs", "n"],
            "properties": {
                "s": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 9,
                    "pattern": "^a",
                    "format": "date",
                },
                "xs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 3,
                    "uniqueItems": True,
                    "items": {"type": "string", "maxLength": 4},
                },
                "n": {"type": "integer", "minimum": 0, "maximum": 5, "default": 1},
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["s", "xs", "n"],
            "properties": {
                "s": {"type": "string"},
                "xs": {"type": "array", "items": {"type": "string"}},
                "n": {"type": "integer"},
            },
        },
    ),  # fmt: skip
    (
        "enum-and-const-kept-descriptions-kept",
        {
            "type": "object",
            "required": ["k", "c"],
            "properties": {
                "k": {"type": "string", "enum": ["a", "b"], "description": "kind"},
                "c": {"const": "x", "title": "C"},
            },
        },
        {
            "type": "object",
            "required": ["k", "c"],
            "additionalProperties": False,
            "properties": {
                "k": {"type": "string", "enum": ["a", "b"], "description": "kind"},
                "c": {"const": "x", "title": "C"},
            },
        },
    ),
    (
        "optional-enum-admits-null",
        {"type": "object", "properties": {"k": {"type": "string", "enum": ["a", "b"]}}},
        {
            "type": "object",
            "required": ["k"],
            "additionalProperties": False,
            "properties": {"k": {"type": ["string", "null"], "enum": ["a", "b", None]}},
        },
    ),
    (
        "nested-objects-closed-even-when-open-in-the-source",
        {
            "type": "object",
            "additionalProperties": True,
            "required": ["outer"],
            "properties": {
                "outer": {
                    "type": "object",
                    "required": ["inner"],
                    "properties": {
                        "inner": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"x": {"type": "number"}}},
                        }
                    },
                }
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["outer"],
            "properties": {
                "outer": {
                    "type": "object",
                    "required": ["inner"],
                    "additionalProperties": False,
                    "properties": {
                        "inner": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["x"],
                                "additionalProperties": False,
                                "properties": {"x": {"type": ["number", "null"]}},
                            },
                        }
                    },
                }
            },
        },
    ),
    (
        "object-without-properties-is-closed-too",
        {
            "type": "object",
            "required": ["meta"],
            "properties": {"meta": {"type": "object", "additionalProperties": {"type": "string"}}},
        },
        {
            "type": "object",
            "required": ["meta"],
            "additionalProperties": False,
            "properties": {
                "meta": {
                    "type": "object",
                    "properties": {},
                    "required": [],
                    "additionalProperties": False,
                }
            },
        },
    ),
    (
        "defs-and-refs",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "thing",
            "type": "object",
            "required": ["p"],
            "properties": {"p": {"$ref": "#/$defs/point"}, "q": {"$ref": "#/$defs/point"}},
            "$defs": {
                "point": {
                    "type": "object",
                    "required": ["x"],
                    "properties": {"x": {"type": "number", "minimum": 0}, "y": {"type": "number"}},
                }
            },
        },
        {
            "type": "object",
            "required": ["p", "q"],
            "additionalProperties": False,
            "properties": {
                "p": {"$ref": "#/$defs/point"},
                "q": {"anyOf": [{"$ref": "#/$defs/point"}, {"type": "null"}]},
            },
            "$defs": {
                "point": {
                    "type": "object",
                    "required": ["x", "y"],
                    "additionalProperties": False,
                    "properties": {"x": {"type": "number"}, "y": {"type": ["number", "null"]}},
                }
            },
        },
    ),
    (
        "anyof-branches-made-strict-optional-anyof-gains-null",
        {
            "type": "object",
            "properties": {
                "v": {
                    "anyOf": [
                        {"type": "string", "maxLength": 3},
                        {"type": "object", "properties": {"n": {"type": "integer"}}},
                    ]
                }
            },
        },
        {
            "type": "object",
            "required": ["v"],
            "additionalProperties": False,
            "properties": {
                "v": {
                    "anyOf": [
                        {"type": "string"},
                        {
                            "type": "object",
                            "required": ["n"],
                            "additionalProperties": False,
                            "properties": {"n": {"type": ["integer", "null"]}},
                        },
                        {"type": "null"},
                    ]
                }
            },
        },
    ),
    (
        "oneof-becomes-anyof",
        {
            "type": "object",
            "required": ["v"],
            "properties": {"v": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
        },
        {
            "type": "object",
            "required": ["v"],
            "additionalProperties": False,
            "properties": {"v": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        },
    ),
]


@pytest.mark.parametrize(
    ("full", "strict"), [c[1:] for c in STRICT_CASES], ids=[c[0] for c in STRICT_CASES]
)
def test_strict_subset(full: dict[str, Any], strict: dict[str, Any]) -> None:
    before = json.dumps(full, sort_keys=True)
    assert strict_subset(full) == strict
    assert json.dumps(full, sort_keys=True) == before  # the input is not modified
    Draft202012Validator.check_schema(strict)


@pytest.mark.parametrize(
    ("full", "strict"), [c[1:] for c in STRICT_CASES], ids=[c[0] for c in STRICT_CASES]
)
def test_minimal_instance_satisfies_the_strict_subset(
    full: dict[str, Any], strict: dict[str, Any]
) -> None:
    instance = minimal_instance(strict)
    assert list(Draft202012Validator(strict).iter_errors(instance)) == []


def test_strict_subset_of_a_property_named_like_a_keyword() -> None:
    full = {
        "type": "object",
        "required": ["type", "format"],
        "properties": {"type": {"type": "string"}, "format": {"type": "string"}},
    }
    assert set(strict_subset(full)["properties"]) == {"type", "format"}


# --- the real schema ---------------------------------------------------------------------------


def test_summary_v1_strict_form_is_a_valid_schema_with_every_property_required() -> None:
    schema = load_schema("summary.v1")
    strict = schema.strict
    Draft202012Validator.check_schema(strict)
    objects = walk_objects(strict)
    assert len(objects) == 5  # the summary, entities, figures, quotes, dates
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert not keywords(strict) & set(DROPPED)
    assert "$schema" not in strict and "$id" not in strict
    entity_type = strict["properties"]["entities"]["items"]["properties"]["type"]
    assert entity_type["enum"] == ["person", "organisation", "location", "group", "event", "other"]
    assert strict["properties"]["figures"]["items"]["properties"]["source"]["type"] == [
        "string",
        "null",
    ]


def test_summary_v1_loads_once_and_is_hashed() -> None:
    a = load_schema("summary.v1")
    b = load_schema("summary.v1", REPO / "schemas")
    assert a is b
    assert a.name == "summary.v1"
    assert len(a.sha256) == 64
    assert a.full == json.loads((REPO / "schemas" / "summary.v1.json").read_text("utf-8"))


VALID = {
    "headline": "Rivers rise after storm",
    "summary": "Heavy rain raised rivers across the county on Monday, officials said.",
    "key_points": ["Rain fell all day."],
    "entities": [{"name": "County council", "type": "organisation"}],
    "figures": [{"value": "40mm", "measure": "rain in one day", "source": None}],
    "quotes": [{"text": "It was wet.", "speaker": None}],
    "dates": [{"date": "Monday", "event": "the storm"}],
    "topics": ["weather"],
    "caveats": [],
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"headline": "x"}, ["headline: 'x' is too short"]),
        ({"key_points": []}, ["key_points: [] should be non-empty"]),
        ({"key_points": ["ok point", 7]}, ["key_points/1: 7 is not of type 'string'"]),
        (
            {"entities": [{"name": "A", "type": "robot"}]},
            ["entities/0/type: 'robot' is not one of"],
        ),
        (
            {"figures": [{"value": "1", "measure": "m"}]},
            ["figures/0: 'source' is a required property"],
        ),
        ({"extra": 1}, ["(root): Additional properties are not allowed ('extra' was unexpected)"]),
        ({"topics": ["t" * 41]}, ["topics/0: "]),
    ],
)
def test_validator_errors_name_the_path(change: dict[str, Any], expected: list[str]) -> None:
    errors = load_schema("summary.v1").errors({**VALID, **change})
    assert len(errors) == len(expected)
    for error, prefix in zip(errors, expected, strict=True):
        assert error.startswith(prefix), error


def test_validator_reports_every_error_sorted_by_path() -> None:
    instance = {k: v for k, v in VALID.items() if k != "summary"}
    instance["headline"] = ""
    instance["topics"] = []
    errors = load_schema("summary.v1").errors(instance)
    assert [e.split(":")[0] for e in errors] == ["(root)", "headline", "topics"]


def test_the_strict_form_accepts_nulls_the_full_form_also_accepts() -> None:
    schema = load_schema("summary.v1")
    strict = Draft202012Validator(schema.strict)
    assert list(strict.iter_errors(VALID)) == []
    assert schema.errors(VALID) == []


# --- loading errors ----------------------------------------------------------------------------


def test_unknown_schema_names_the_known_ones() -> None:
    with pytest.raises(SchemaError) as info:
        load_schema("summary.v9")
    assert "unknown schema 'summary.v9'" in info.value.message
    assert "summary.v1" in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "cannot read schema"),
        ('{"type": 12}', "is not a valid Draft 2020-12 schema"),
    ],
)
def test_broken_schema_files(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "broken.json").write_text(content, encoding="utf-8")
    with pytest.raises(SchemaError, match=fragment):
        load_schema("broken", tmp_path)


def test_schema_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "object", "properties": {"a": {"type": "string"}}}', "utf-8")
    assert set(load_schema("s", tmp_path).strict["properties"]) == {"a"}
    path.write_text('{"type": "object", "properties": {"b": {"type": "string"}}}', "utf-8")
    later = path.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(later, later))
    assert set(load_schema("s", tmp_path).strict["properties"]) == {"b"}


# --- minimal instances -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, "n/a"),
        ({"type": "string", "minLength": 6}, "n/a..."),
        ({"type": "string", "maxLength": 2}, "n/"),
        ({"type": ["string", "null"]}, None),
        ({"type": "integer", "minimum": 3}, 3),
        ({"type": "number"}, 0),
        ({"type": "boolean"}, False),
        ({"enum": ["b", "a"]}, "b"),
        ({"const": 7}, 7),
        ({"type": "array", "minItems": 2, "items": {"type": "integer"}}, [0, 0]),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, 0),
        (
            {
                "type": "object",
                "required": ["a"],
                "properties": {"a": {"$ref": "#/$defs/x"}, "b": {"type": "string"}},
                "$defs": {"x": {"type": "object", "properties": {"y": {"type": "boolean"}}}},
            },
            {"a": {"y": False}},
        ),
    ],
)
def test_minimal_instance(schema: dict[str, Any], expected: Any) -> None:
    assert minimal_instance(schema) == expected
    assert list(Draft202012Validator(schema).iter_errors(expected)) == []


def test_minimal_instance_of_the_summary_strict_form_is_valid_there() -> None:
    schema = load_schema("summary.v1")
    instance = minimal_instance(schema.strict)
    assert list(Draft202012Validator(schema.strict).iter_errors(instance)) == []
    assert set(instance) == set(schema.full["properties"])
