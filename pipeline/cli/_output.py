"""``--out``: the JSONL file a command writes its records to.

- **Nothing the user gave is overwritten.** :func:`refuse_out_over_inputs` refuses (exit 2) an
  ``--out`` that is one of the input files, however it is spelt (``./a.jsonl``, an absolute
  path, a symlink or a hard link to it), before anything is opened. An ``--out`` inside an
  input folder is left out of that folder's walk (``iter_articles(exclude=...)``), so a run
  never reads its own output back.
- **Checked early, written late.** :meth:`OutFile.check` proves the path can be written
  before the run starts (opened for append, so nothing is truncated; a file it had to create
  is removed again): a read-only or impossible ``--out`` is a one-line error, exit 2. The
  file is truncated and written only when the first record is ready, so an interrupted run
  leaves an earlier output as it was.
- **Whole lines only.** Each line goes out with ``os.write``; a write that fails (``ENOSPC``,
  ``EIO``…) truncates the file back to its last whole line and raises
  :class:`~pipeline.errors.OutputError` naming the path and the cause.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from pipeline.errors import ConfigError, OutputError

_FIX = {
    errno.ENOSPC: "free some space or choose another --out",
    errno.EDQUOT: "free some space or choose another --out",
    errno.EROFS: "the file system is read-only: choose another --out",
    errno.EACCES: "check its permissions or choose another --out",
    errno.EPERM: "check its permissions or choose another --out",
    errno.EISDIR: "it is a folder: name a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another --out",
}


def _cause(exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    fix = _FIX.get(exc.errno or 0, "choose another --out")
    return f"{reason}; {fix}"


def refuse_out_over_inputs(out: str | None, inputs: Sequence[str]) -> None:
    """Raise ConfigError when ``out`` is the same file as one of ``inputs``."""
    if out is None or out == "-" or not os.path.exists(out):
        return
    for p in inputs:
        if p == "-" or not os.path.isfile(p):
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(out, p):
                raise ConfigError(
                    f"--out {out} is the input {p}: writing the records would overwrite it "
                    "before it is read; choose another --out"
                )


class OutFile(io.TextIOBase):
    """A JSONL output file opened at the first write, written a whole line at a time."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._fd: int | None = None
        self._good = 0  # bytes of whole lines written
        self._pending = ""

    def check(self) -> None:
        """Raise ConfigError now if ``path`` cannot be written (nothing is truncated)."""
        existed = os.path.lexists(self.path)
        try:
            parent = Path(self.path).parent
            if not os.path.lexists(parent):
                parent.mkdir(parents=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as e:
            raise ConfigError(f"cannot write --out {self.path}: {_cause(e)}") from None
        os.close(fd)
        if not existed:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, s: str) -> int:
        self._pending += s
        if "\n" in s:
            self._flush_lines()
        return len(s)

    def flush(self) -> None:
        self._flush_lines()

    def _flush_lines(self, *, everything: bool = False) -> None:
        cut = len(self._pending) if everything else self._pending.rfind("\n") + 1
        if cut <= 0:
            return
        data = self._pending[:cut].encode("utf-8")
        self._pending = self._pending[cut:]
        try:
            if self._fd is None:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
                self._fd = fd
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as e:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._good)  # only whole lines stay
            raise OutputError(
                f"cannot write --out {self.path}: {_cause(e)}; it holds every record before "
                "this one, the store holds every finished article: run the same command to "
                "resume"
            ) from None
        self._good += len(data)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._flush_lines(everything=True)
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            super().close()


def open_out(out: str | None, *, inputs: Sequence[str] = ()) -> IO[str]:
    """stdout, or the checked, lazily opened :class:`OutFile` for ``--out``."""
    if out is None or out == "-":
        return sys.stdout
    refuse_out_over_inputs(out, inputs)
    f = OutFile(out)
    f.check()
    return f  # type: ignore[return-value]
