"""Reading input safely: sizes capped before anything is parsed, special files never
opened for a blocking read, file names that are not UTF-8 shown escaped, and JSON parsed
so that no line can raise past its own record.

- :data:`MAX_ARTICLE_BYTES` caps a file read whole as one article (text, Markdown, HTML)
  and one JSONL line; :data:`MAX_JSON_BYTES` caps a ``.json`` file (which may hold a list of
  articles). What goes over is that input's ``too_long`` record, and costs at most the cap:
  a file's size is read from ``fstat`` before a byte of it is, and a JSONL line is read with
  a bounded ``readline`` whose overflow is skipped in bounded chunks.
- :func:`open_regular` opens with ``O_NONBLOCK`` and checks ``fstat``: a FIFO, socket or
  device (in a folder, or named on the command line) is that input's ``bad_input`` record,
  and nothing waits for a writer that never comes.
- :func:`shown_path` turns a file name that is not valid UTF-8 (held by Python as lone
  surrogates) into ``caf\\xe9.txt``, which every later stage can encode, store and print.
- :func:`parse_json` turns every way ``json.loads`` can fail on hostile input (syntax, an
  integer over Python's 4,300-digit limit, nesting deeper than the recursion limit) into
  :class:`BadJSON` with the fix; :func:`lone_surrogate` finds a ``"\\ud83d"`` escape that
  decodes to a string no UTF-8 writer can encode.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

#: a file read whole as one article, and one JSONL line (8 MiB: some 2 million tokens,
#: far over any model's context; a real news page's HTML is well under it)
MAX_ARTICLE_BYTES = 8 * 1024 * 1024
#: a ``.json`` file, which may hold a list of articles (JSONL is streamed instead)
MAX_JSON_BYTES = 64 * 1024 * 1024
_SKIP_CHUNK = 1024 * 1024

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Oversize:
    """A JSONL line longer than the cap: its length in bytes; its content was not kept."""

    size: int


class BadJSON(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as text any writer can encode: bytes that are not UTF-8 become ``\\xNN``."""
    text = os.fspath(path)
    if not _SURROGATE.search(text):
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


class NotRegular(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def open_regular(path: str | os.PathLike[str]) -> tuple[IO[bytes], int]:
    """Open a regular file for binary reading without ever blocking; returns (file, size).

    Raises :class:`NotRegular` for a FIFO, socket or device, and ``OSError`` as ``open`` does.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(
                f"not a regular file: {_kind_of(st.st_mode)} is never read, since reading "
                "it could wait forever; copy its content into a file, or pipe it in as '-'"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def too_big(size: int, cap: int, what: str, fix: str) -> str:
    return f"{what} is {size:,} bytes, over the {cap:,}-byte limit, and was not read; {fix}"


class LineReader(Protocol):
    def readline(self, limit: int = -1, /) -> bytes: ...


def bounded_lines(stream: LineReader, limit: int = MAX_ARTICLE_BYTES) -> Iterator[bytes | Oversize]:
    """The lines of ``stream``; a line over ``limit`` bytes is skipped in bounded chunks and
    given as :class:`Oversize` (so a 200 MB line costs ``limit`` bytes of memory, not 200 MB)."""
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw
            continue
        size = len(raw)
        del raw
        while True:
            chunk = stream.readline(_SKIP_CHUNK)
            size += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                break
        yield Oversize(size)


def parse_json(text: str | bytes) -> Any:
    """``json.loads``, with every failure hostile input can cause as :class:`BadJSON`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadJSON(f"not valid JSON ({e.msg}: line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise BadJSON(
            "not readable JSON (nested deeper than Python's recursion limit allows)"
        ) from None
    except ValueError as e:  # an integer over sys.get_int_max_str_digits() digits
        raise BadJSON(f"not readable JSON ({e})") from None


def lone_surrogate(value: object) -> str | None:
    """The first lone surrogate (``"\\ud83d"``) in a string, as its escape, else None."""
    if isinstance(value, str):
        m = _SURROGATE.search(value)
        if m:
            return f"\\u{ord(m.group(0)):04x}"
    return None
