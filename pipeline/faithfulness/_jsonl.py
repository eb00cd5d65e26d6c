"""The JSONL front end: :func:`score_jsonl` scores one ``source``/``summary`` object
per line and reports bad lines."""

from __future__ import annotations

import json
from typing import IO, Any

from pipeline.faithfulness._score import score


def _line_error(line: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"not JSON ({e.msg} at column {e.colno}): write one JSON object per line"
    if not isinstance(obj, dict):
        return None, "not a JSON object: write one object per line with 'source' and 'summary'"
    missing = [k for k in ("source", "summary") if k not in obj]
    if missing:
        names = " and ".join(repr(k) for k in missing)
        return obj, f"missing {names}: each line needs 'source' (article text) and 'summary'"
    if not isinstance(obj["source"], str):
        return obj, "'source' must be the article text as a string"
    if not isinstance(obj["summary"], str | dict):
        return obj, "'summary' must be a string or a summary object"
    return obj, None


def score_jsonl(inp: IO[str], out: IO[str]) -> tuple[int, int]:
    """Score each JSONL line of ``inp`` (``source`` + ``summary``) into ``out``.

    Every line is written back in input order with all its fields, plus
    ``faithfulness`` and ``unsupported``; a bad line gets an ``error`` field instead
    (a line that is not JSON is kept as ``{"line": ..., "error": ...}``). Blank lines
    are skipped. Returns ``(lines_ok, lines_bad)``.
    """
    ok = bad = 0
    for number, line in enumerate(inp, start=1):
        if not line.strip():
            continue
        obj, error = _line_error(line)
        if error is not None:
            bad += 1
            record: dict[str, Any] = dict(obj) if obj is not None else {"line": line.rstrip("\n")}
            record["error"] = f"line {number}: {error}"
        else:
            assert obj is not None
            result = score(obj["source"], obj["summary"])
            record = dict(obj)
            record["faithfulness"] = result.faithfulness
            record["unsupported"] = result.unsupported
            ok += 1
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return ok, bad
