"""The live status line of a run on a terminal (stderr), drawn from a
:class:`~pipeline.progress.RunProgress`.

Records go to stdout and the status line to stderr. When both are the same terminal, a record
must never land on the status line's row (``…0/? 0:00:00{"article_id": …`` cannot be copied
as JSON): every record is written only after the status line has been erased
(``\\r`` + erase-line), and the line is drawn again below it. The line is kept shorter than the
terminal so that it never wraps (a wrapped line could not be erased in one step). A thread
redraws it a few times a second so that the rate, the time left and a countdown move while no
record arrives. Notes (a run adapting to its server) are printed once, on their own line,
above it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from pipeline.progress import RunProgress, count_articles
from pipeline.secrets import terminal_safe

if TYPE_CHECKING:
    from pipeline.records import Record

_ERASE = "\r\x1b[2K"


def same_terminal(a: IO[str], b: IO[str]) -> bool:
    """Whether two streams are the same terminal (stdout and stderr both on the screen)."""
    try:
        if not (a.isatty() and b.isatty()):
            return False
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (sa.st_rdev, sa.st_ino) == (sb.st_rdev, sb.st_ino)


def _width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80


class StatusLine:
    """Draws ``progress`` on ``err`` and writes records to ``out`` without sharing a line."""

    def __init__(
        self,
        progress: RunProgress,
        *,
        err: IO[str],
        out: IO[str],
        interval: float = 0.25,
        width: int | None = None,
        same: bool | None = None,
    ) -> None:
        self.progress = progress
        self.err, self.out = err, out
        self.same = same_terminal(out, err) if same is None else same
        self.interval = interval
        self._width = width
        self._lock = threading.RLock()
        self._shown = False
        self._drawn_at = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> StatusLine:
        self.refresh()
        self._thread = threading.Thread(target=self._tick, name="status-line", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop redrawing and leave the screen as if the line had never been there."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        with self._lock:
            self._erase()
            self._print_notes()
            self.err.flush()

    def __enter__(self) -> StatusLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _tick(self) -> None:
        while not self._stopping.wait(self.interval):
            self.refresh()

    # -- drawing ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write to stdout: the status line is off the screen while it happens."""
        with self._lock:
            if self.same:
                self._erase()
                self.err.flush()
            yield
            if self.same and time.monotonic() - self._drawn_at >= 0.05:
                self._draw()  # else the thread draws it: a fast run does not redraw per record

    def write_record(self, line: str) -> None:
        """Write one record line (with its newline) to stdout, never onto the status line."""
        with self.writing():
            self.out.write(line)
            self.out.flush()

    def refresh(self) -> None:
        with self._lock:
            if self._stopping.is_set() and self._thread is None:
                return
            self._draw()

    def _erase(self) -> None:
        if self._shown:
            self.err.write(_ERASE)
            self._shown = False

    def _print_notes(self) -> None:
        for note in self.progress.take_notes():
            self.err.write(f"{_ERASE}{note}\n")

    def _draw(self) -> None:
        width = (self._width or _width(self.err)) - 1  # the last column would wrap the line
        self._print_notes()
        self.err.write(_ERASE + self.progress.line(max(20, width)))
        self.err.flush()
        self._shown = True
        self._drawn_at = time.monotonic()


class RunDisplay:
    """What a command shows while a run works: the status line (stderr is a terminal and no
    ``-q``) and, without one, the notes as plain lines on stderr. ``wrap`` turns the record
    writer into one that also feeds the progress; ``event`` is the engine's event callback."""

    def __init__(
        self,
        label: str,
        *,
        quiet: bool,
        paths: Sequence[str] | None = None,
        out: IO[str] | None = None,
        total: int | None = None,
    ) -> None:
        self.progress = RunProgress(label, total=total)
        self._last_wait = -1e9
        err = sys.stderr
        self.line = (
            StatusLine(self.progress, err=err, out=out or sys.stdout)
            if not quiet and err.isatty()
            else None
        )
        if self.line is not None and paths and total is None:
            threading.Thread(target=self._count, args=(list(paths),), daemon=True).start()

    def _count(self, paths: list[str]) -> None:
        with contextlib.suppress(Exception):  # a total is a nicety: never fail a run for it
            self.progress.set_total(count_articles(paths))

    def wrap(self, write: Callable[[Record], None]) -> Callable[[Record], None]:
        def emit(record: Record) -> None:
            self.progress.record(record)
            if self.line is None:
                write(record)
                return
            with self.line.writing():
                write(record)

        return emit

    def count(self, record: Record) -> None:
        """A record that is not written to stdout (compare) still counts."""
        self.progress.record(record)

    def event(self, event: Any) -> None:
        self.progress.event(event)
        if self.line is None:
            for note in self.progress.take_notes():
                print(note, file=sys.stderr, flush=True)
            self._print_wait(event)

    def _print_wait(self, event: Any, min_gap_s: float = 5.0) -> None:
        """Without a status line a wait is still said, one line at most every ``min_gap_s``
        seconds ("waiting 26 s: rate limit"): a run is never silent while it waits."""
        if getattr(event, "kind", None) != "waiting":
            return
        seconds = float(getattr(event, "seconds", 0) or 0)
        now = time.monotonic()
        if seconds >= 1.0 and now - self._last_wait >= min_gap_s:
            self._last_wait = now
            why = terminal_safe(str(getattr(event, "message", "") or "rate limit"))
            print(f"waiting {seconds:.0f} s: {why}", file=sys.stderr, flush=True)

    def __enter__(self) -> RunDisplay:
        if self.line is not None:
            self.line.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.line is not None:
            self.line.stop()
