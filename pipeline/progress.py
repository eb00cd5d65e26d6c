r"""A run's progress as people read it: counts, rate, time left and what the run waits on.

:class:`RunProgress` is fed the run's records (:meth:`~RunProgress.record`) and the engine's
events (:meth:`~RunProgress.event`, the one entry point for them) and renders one status line
(:meth:`~RunProgress.line`) such as::

    summarise@v2 · builtin  12/21 ━━━━━━━━━───────  ok 11 · failed 1 · cached 0 · 3.2/s · 3 s left
    summarise@v2 · gpt-4o-mini  40/240  ok 40 · 1.9/s · 1 min 45 s left · waiting 26 s: rate limit
    summarise@v2 · x  0/21  retrying 8 articles: cannot connect to http://127.0.0.1:9/v1

Events are the engine's :class:`pipeline.engine.Event`\ s (``kind``, ``message``,
``seconds``, ``article_id``): ``waiting`` (every sender pauses: a countdown), ``retrying`` (an
article's request is retried: counted until its record arrives), ``adapted`` and ``note``
(printed once, on their own line above the status) and ``stopped`` (the reason replaces the
status). Nothing here touches a terminal: the CLI's
:mod:`pipeline.cli._display` draws the line. :func:`count_articles` gives the total when it is
knowable without reading the articles: files, folders, JSONL (lines counted in chunks, never
held), a JSON file holding one object; stdin, URLs and JSON lists leave it unknown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.secrets import terminal_safe

BAR = 16
_FOLDER_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})


def _kind(event: Any) -> str:
    kind = getattr(event, "kind", None)
    if isinstance(kind, str):
        return kind
    name = type(event).__name__.lower()
    for known in ("waiting", "retrying", "adapted", "note", "stopped"):
        if known in name:
            return known
    return name


@dataclass
class RunProgress:
    """What the status line shows; fed by :meth:`record` and :meth:`event`."""

    label: str
    total: int | None = None
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    ok: int = 0
    failed: int = 0
    cached: int = 0
    started: float = field(default=0.0)
    waiting_until: float | None = None
    waiting_reason: str = ""
    retrying: dict[str, str] = field(default_factory=dict)  # article -> why
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)  # to print once; the display drains them

    def __post_init__(self) -> None:
        self.started = self.clock()

    # -- feeding ----------------------------------------------------------------------------

    def record(self, record: Any) -> None:
        """One finished article (a :class:`~pipeline.records.Record`)."""
        self.done += 1
        if getattr(record, "status", None) == "ok":
            self.ok += 1
        else:
            self.failed += 1
        if getattr(record, "cached", False):
            self.cached += 1
        for key in (getattr(record, "article_id", None), getattr(record, "source", None)):
            if key is not None:
                self.retrying.pop(str(key), None)
        if self.total is not None and self.done > self.total:
            self.total = self.done  # the count was an estimate

    def event(self, event: Any) -> None:
        """The one entry point for the engine's events (:class:`pipeline.engine.Event`)."""
        kind = _kind(event)
        why = str(getattr(event, "reason", None) or getattr(event, "message", None) or "")
        why = terminal_safe(why)  # a server's words: no secrets, escapes or forged lines
        if kind == "waiting":
            seconds = float(getattr(event, "seconds", 0) or 0)
            self.waiting_until = self.clock() + max(0.0, seconds)
            self.waiting_reason = why
        elif kind == "retrying":
            article = getattr(event, "article_id", None) or getattr(event, "article", None)
            self.retrying[str(article)] = why.removesuffix(": retrying")
        elif kind in ("note", "adapted"):
            self.notes.append(why or str(event))
        elif kind == "stopped":
            self.stopped = why or "stopped"
            self.waiting_until = None

    def set_total(self, total: int | None) -> None:
        if total is not None:
            self.total = max(total, self.done)

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    # -- reading ----------------------------------------------------------------------------

    def rate(self) -> float | None:
        """Articles a second that needed the model (answers from the store are instant)."""
        elapsed = self.clock() - self.started
        asked = self.done - self.cached
        if elapsed <= 0 or asked <= 0:
            return None
        return asked / elapsed

    def seconds_left(self) -> float | None:
        rate = self.rate()
        if self.total is None or rate is None:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def status(self) -> str:
        """What the run is waiting on, if anything ("waiting 26 s: rate limit")."""
        if self.stopped:
            return f"stopped: {self.stopped}"
        parts = []
        if self.waiting_until is not None:
            left = self.waiting_until - self.clock()
            if left > 0.5:
                reason = f": {self.waiting_reason}" if self.waiting_reason else ""
                parts.append(f"waiting {_duration(left)}{reason}")
            else:
                self.waiting_until = None
        if self.retrying:
            n = len(self.retrying)
            reasons = sorted({r for r in self.retrying.values() if r})
            why = f": {reasons[-1]}" if len(reasons) == 1 else ""
            parts.append(f"retrying {n} article{'s' if n != 1 else ''}{why}")
        return " · ".join(parts)

    def line(self, width: int = 80) -> str:
        """The status line, at most ``width`` characters (what does not fit is left out)."""
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done} done"
        tally = f"ok {self.ok}"
        if self.failed:
            tally += f" · failed {self.failed}"
        if self.cached:
            tally += f" · cached {self.cached}"
        rate = self.rate()
        left = self.seconds_left()
        speed = f"{rate:.1f}/s" if rate is not None else ""
        eta = (
            f"{_duration(left)} left" if left is not None and self.done < (self.total or 0) else ""
        )
        status = self.status()
        # most important first: dropped from the end of this list until the line fits
        optional = [x for x in (status, tally, speed, eta) if x]
        bar = _bar(self.done, self.total) if self.total else ""
        head = f"{self.label}  {count}"
        lowest = 1 if status else 0  # what the run waits on is cut below, never dropped
        for keep in range(len(optional), lowest - 1, -1):  # the bar goes first, then eta, ...
            kept = set(optional[:keep])
            tail = [x for x in (tally, speed, eta, status) if x in kept]
            for with_bar in (True, False) if bar else (False,):
                text = head + (f" {bar}" if with_bar else "")
                if tail:
                    text += "  " + " · ".join(tail)
                if len(text) <= width:
                    return text
        room = width - len(head) - 2
        if status and room >= 16:
            return f"{head}  {_cut(status, room)}"
        return _cut(head, width)


def _bar(done: int, total: int | None) -> str:
    if not total:
        return ""
    filled = min(BAR, round(BAR * done / total))
    return "━" * filled + "─" * (BAR - filled)


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 1:
        return "<1 s"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


# -- the total, when it can be known cheaply ----------------------------------------------------


def count_articles(paths: Sequence[str | Path]) -> int | None:
    """How many records the inputs will give, or None when that needs reading them.

    Mirrors the loader's rules (:mod:`pipeline.articles`): a folder's files with a known
    extension (hidden ones skipped), one record per file, one per non-blank JSONL line (counted
    in 1 MB chunks), one for a JSON file holding an object. Stdin, a URL, a JSON list or a
    UTF-16 JSONL file make the total unknown.
    """
    total = 0
    for p in paths:
        s = str(p)
        if s == "-" or "://" in s:
            return None
        path = Path(p)
        files = _walk(path) if path.is_dir() else [path]
        for f in files:
            n = _count_file(f)
            if n is None:
                return None
            total += n
    return total


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and Path(name).suffix.lower() in _FOLDER_EXTENSIONS:
                found.append(Path(root, name))
    return found


def _count_file(path: Path) -> int | None:
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".json"):
        return 1
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
                return None  # UTF-16: newlines are two bytes
            if suffix == ".json":
                while head and not head.lstrip(b"\xef\xbb\xbf \t\r\n"):
                    head = f.read(64)
                return 1 if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else None
            f.seek(0)
            return _count_lines(f)
    except OSError:
        return 1  # the loader makes one failed record of an unreadable file


def _count_lines(f: Any) -> int:
    """Non-blank lines, read in 1 MB chunks (a line is never held whole)."""
    count, content = 0, False
    while chunk := f.read(1 << 20):
        parts = chunk.split(b"\n")
        for i, part in enumerate(parts):
            if not content and part.strip():
                content = True
            if i < len(parts) - 1:
                count += content
                content = False
    return count + content
