"""Iteration: paths, folders (walked in sorted order) and stdin (text, JSON or streamed
JSONL) to one item per input, streaming."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from pipeline.articles._article import Article, BadInput, Item, _bad
from pipeline.articles._formats import (
    _from_object,
    _iter_json,
    _iter_jsonl,
    _iter_jsonl_lines,
    load_article_text,
)
from pipeline.errors import ConfigError

_FOLDER_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})


def _read_file(source: str, path: Path) -> Iterator[Item]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            yield from _iter_jsonl(source, path)
            return
        raw = path.read_bytes()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        yield _bad(source, None, f"cannot read the file ({reason}); check that it is readable")
        return
    yield from load_article_text(source, raw, suffix=suffix)


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or Path(name).suffix.lower() not in _FOLDER_EXTENSIONS:
                continue
            found.append(Path(root, name))
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _read_stdin(stream: IO[bytes]) -> Iterator[Item]:
    lines = iter(stream.readline, b"")
    consumed: list[bytes] = []
    first: bytes | None = None
    for line in lines:
        consumed.append(line)
        if line.strip():
            first = line
            break
    if first is not None and first.lstrip(b"\xef\xbb\xbf \t").startswith(b"{"):
        try:
            obj = json.loads(first.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            obj = None
        if isinstance(obj, dict):
            number = len(consumed)
            yield _from_object(f"-:{number}", obj, first)
            yield from _iter_jsonl_lines("-", lines, first=number + 1)
            return
    raw = b"".join(consumed) + b"".join(lines)
    if raw.strip()[:1] in (b"{", b"["):
        try:
            json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass
        else:
            yield from _iter_json("-", raw)
            return
    yield from load_article_text("-", raw, suffix=".txt")


def _check_paths(paths: Sequence[str | Path]) -> list[str | Path]:
    checked = list(paths)
    for p in checked:
        if str(p) != "-" and not Path(p).exists():
            raise ConfigError(f"no such file or folder: {p} (check the path; default is seeds/)")
    return checked


def _iter_paths(paths: list[str | Path], stdin: IO[bytes] | None) -> Iterator[Item]:
    for p in paths:
        if str(p) == "-":
            yield from _read_stdin(stdin if stdin is not None else sys.stdin.buffer)
            continue
        path = Path(p)
        if path.is_dir():
            for file in _walk(path):
                yield from _read_file(str(file), file)
        else:
            yield from _read_file(str(p), path)


def iter_articles(
    paths: Sequence[str | Path], *, stdin: IO[bytes] | None = None
) -> Iterator[Article | BadInput]:
    """Yield one Article or BadInput per input, in order, streaming (see the module docstring).

    Raises ConfigError at once (before anything is read) if a path does not exist.
    """
    return _iter_paths(_check_paths(paths), stdin)
