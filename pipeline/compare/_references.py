"""Reference summaries: read a JSONL file (:func:`load_references`) and find a record's
reference (:func:`match_reference`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.compare._metrics import CompareError


def load_references(path: str | Path) -> dict[str, str]:
    """Read reference summaries from a JSONL file, one object a line.

    Each line names its article with ``id``, ``article_id`` or ``source`` and holds the text in
    ``reference``, ``summary`` or ``highlights`` (a string, or a list of strings joined by
    newlines). Blank lines are skipped. The result maps every key a line gives (its ``id`` /
    ``article_id`` and its ``source``) to the reference text.

    Matching (done by :func:`build_comparison`): a record finds its reference under its
    ``article_id``, then its ``source`` as written in the record (a path), then that path's file
    name, then the article's source text itself, all compared with whitespace collapsed. So a
    references file can use the content-hash ids, the seed paths or file names, or carry the
    article text in ``source`` (as ``summarise score`` input does).

    Raises :class:`CompareError` naming the file and line for: a missing or unreadable file, a
    line that is not a JSON object, no key field, no text field, a text that is not a string, two
    lines giving one key different texts, or a file with no references.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CompareError(f"references file not found: {p} (check --references)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CompareError(f"cannot read references file {p}: {e}") from e
    refs: dict[str, str] = {}
    where: dict[str, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        at = f"{p}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise CompareError(
                f"{at}: not valid JSON ({e.msg}); expected one object a line"
            ) from None
        if not isinstance(obj, dict):
            raise CompareError(f"{at}: expected a JSON object, got {type(obj).__name__}")
        keys = [str(obj[k]) for k in ("id", "article_id", "source") if obj.get(k) not in (None, "")]
        if not keys:
            raise CompareError(f"{at}: needs one of 'id', 'article_id' or 'source'")
        name = next((k for k in ("reference", "summary", "highlights") if k in obj), None)
        if name is None:
            raise CompareError(f"{at}: needs the text in 'reference', 'summary' or 'highlights'")
        text = obj[name]
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            text = "\n".join(text)
        if not isinstance(text, str) or not text.strip():
            raise CompareError(f"{at}: '{name}' must be a non-empty string")
        for key in keys:
            nk = _norm(key)
            if nk in refs and refs[nk] != text:
                raise CompareError(
                    f"{at}: {key[:60]!r} already has a different reference on line {where[nk]}"
                )
            refs[nk] = text
            where[nk] = lineno
    if not refs:
        raise CompareError(f"no references in {p}: expected JSONL lines with an id and a text")
    return refs


def _norm(s: str) -> str:
    return " ".join(s.split())


def match_reference(
    references: Mapping[str, str], record: Mapping[str, Any], source_text: str | None
) -> str | None:
    """The reference for ``record`` (see :func:`load_references` for the order), or None."""
    candidates: list[str] = []
    if record.get("article_id"):
        candidates.append(str(record["article_id"]))
    src = record.get("source")
    if isinstance(src, str) and src:
        candidates += [src, Path(src).name]
    if source_text:
        candidates.append(source_text)
    for c in candidates:
        ref = references.get(_norm(c))
        if ref is None:
            ref = references.get(c)
        if ref is not None:
            return ref
    return None
