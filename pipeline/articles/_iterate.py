"""Iteration: paths, folders (walked in sorted order) and stdin (text, JSON or streamed
JSONL) to one item per input, streaming."""

from __future__ import annotations

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
    _too_long,
    load_article_text,
)
from pipeline.articles._safe import (
    MAX_ARTICLE_BYTES,
    MAX_JSON_BYTES,
    BadJSON,
    NotRegular,
    Oversize,
    bounded_lines,
    open_regular,
    parse_json,
    shown_path,
    too_big,
)
from pipeline.errors import ConfigError

_FOLDER_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})


def _read_file(source: str, path: Path) -> Iterator[Item]:
    suffix = path.suffix.lower()
    try:
        f, size = open_regular(path)
    except NotRegular as e:
        yield _bad(source, None, e.problem)
        return
    except OSError as e:
        reason = e.strerror or type(e).__name__
        yield _bad(source, None, f"cannot read the file ({reason}); check that it is readable")
        return
    with f:
        try:
            if suffix == ".jsonl":
                yield from _iter_jsonl(source, f)
                return
            cap = MAX_JSON_BYTES if suffix == ".json" else MAX_ARTICLE_BYTES
            if size > cap:
                yield _too_long(source, too_big(size, cap, "the file", _SPLIT[suffix == ".json"]))
                return
            raw = f.read(min(size, cap) + 1)
            if len(raw) > size:  # it grew since fstat: read on, up to the cap
                raw += f.read(cap + 1 - len(raw))
        except OSError as e:
            reason = e.strerror or type(e).__name__
            yield _bad(source, None, f"cannot read the file ({reason}); check that it is readable")
            return
    if len(raw) > cap:  # it grew since it was opened
        yield _too_long(source, too_big(len(raw), cap, "the file", _SPLIT[suffix == ".json"]))
        return
    yield from load_article_text(source, raw, suffix=suffix)


_SPLIT = {
    False: "split the article, or trim what is not its text",
    True: "give the articles as JSONL (one object a line), which is streamed",
}


def _walk(folder: Path, exclude: frozenset[str] = frozenset()) -> list[Path]:
    """The article files under ``folder``; ``exclude`` holds real paths never to read (the
    run's own ``--out``), compared by name first so a large folder costs no extra calls."""
    found: list[Path] = []
    names = {os.path.basename(x) for x in exclude}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or Path(name).suffix.lower() not in _FOLDER_EXTENSIONS:
                continue
            if name in names and os.path.realpath(os.path.join(root, name)) in exclude:
                continue
            found.append(Path(root, name))
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _read_stdin(stream: IO[bytes]) -> Iterator[Item]:
    lines = bounded_lines(stream)
    consumed: list[bytes | Oversize] = []
    first: bytes | Oversize | None = None
    for line in lines:
        consumed.append(line)
        if isinstance(line, Oversize) or line.strip():
            first = line
            break
    if isinstance(first, bytes) and first.lstrip(b"\xef\xbb\xbf \t").startswith(b"{"):
        try:
            obj = parse_json(first.decode("utf-8-sig"))
        except (UnicodeDecodeError, BadJSON):
            obj = None
        if isinstance(obj, dict):
            number = len(consumed)
            yield _from_object(f"-:{number}", obj, first)
            yield from _iter_jsonl_lines("-", lines, first=number + 1)
            return
    # the whole input is one document: read it, up to the cap
    size = sum(x.size if isinstance(x, Oversize) else len(x) for x in consumed)
    rest = b""
    if not isinstance(first, Oversize) and size <= MAX_JSON_BYTES:
        rest = stream.read(MAX_JSON_BYTES + 1 - size)
        size += len(rest)
    if isinstance(first, Oversize) or size > MAX_JSON_BYTES:
        what = "standard input" + (" (its first line)" if isinstance(first, Oversize) else "")
        yield _too_long("-", too_big(size, MAX_ARTICLE_BYTES, what, _SPLIT[True]))
        return
    raw = b"".join(x for x in consumed if isinstance(x, bytes)) + rest
    if raw.strip()[:1] in (b"{", b"["):
        try:
            parse_json(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, BadJSON):
            pass
        else:
            yield from _iter_json("-", raw)
            return
    if len(raw) > MAX_ARTICLE_BYTES:
        yield _too_long("-", too_big(len(raw), MAX_ARTICLE_BYTES, "standard input", _SPLIT[False]))
        return
    yield from load_article_text("-", raw, suffix=".txt")


def _check_paths(paths: Sequence[str | Path]) -> list[str | Path]:
    checked = list(paths)
    for p in checked:
        if str(p) != "-" and not Path(p).exists():
            raise ConfigError(f"no such file or folder: {p} (check the path; default is seeds/)")
    return checked


def _iter_paths(
    paths: list[str | Path], stdin: IO[bytes] | None, exclude: frozenset[str] = frozenset()
) -> Iterator[Item]:
    for p in paths:
        if str(p) == "-":
            yield from _read_stdin(stdin if stdin is not None else sys.stdin.buffer)
            continue
        path = Path(p)
        if path.is_dir():
            for file in _walk(path, exclude):
                yield from _read_file(shown_path(file), file)
        else:
            yield from _read_file(shown_path(p), path)


def iter_articles(
    paths: Sequence[str | Path],
    *,
    stdin: IO[bytes] | None = None,
    exclude: Sequence[str | Path] = (),
) -> Iterator[Article | BadInput]:
    """Yield one Article or BadInput per input, in order, streaming (see the module docstring).

    ``exclude``: files a folder walk must skip whatever they hold (a run's own ``--out``,
    which may not exist yet). Raises ConfigError at once (before anything is read) if a
    path does not exist.
    """
    skip = frozenset(os.path.realpath(x) for x in exclude)
    return _iter_paths(_check_paths(paths), stdin, skip)
