"""A command on a pseudo-terminal, as a user sees it: stdout and stderr on the same terminal,
and a small screen model that applies what the program wrote (carriage returns, erase-line,
colours ignored), so that a test can assert what is left on each line of the screen."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
from collections.abc import Sequence
from pathlib import Path

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def run_on_terminal(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    env: dict[str, str],
    columns: int = 80,
    stdin: bytes | None = None,
    timeout: float = 120,
) -> tuple[int, str]:
    """Run ``argv`` with stdout and stderr on one pseudo-terminal; returns (exit code, output).

    ``stdin`` given: it is a pipe fed with those bytes; else the terminal too.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # keep "\n" as the program wrote it
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def screen(output: str) -> list[str]:
    """The lines left on the screen (scrollback included) after ``output`` was written.

    Lines are logical (a line longer than the terminal is not wrapped here): what matters is
    which text ends up on the same line. ``\\r`` returns to column 0, ``ESC[2K`` / ``ESC[K``
    erase, ``ESC[nA`` moves up, other escape sequences (colours, cursor shape) are ignored.
    """
    lines: list[list[str]] = [[]]
    row, col = 0, 0
    i = 0
    while i < len(output):
        ch = output[i]
        m = _CSI.match(output, i) if ch == "\x1b" else None
        if m:
            args, final = m.group(1), m.group(2)
            if final == "A":  # cursor up (a live display redrawing itself)
                row = max(0, row - int(args or "1"))
            elif final == "K":
                if args in ("2", "1"):
                    lines[row][: col if args == "1" else len(lines[row])] = (
                        [" "] * col if args == "1" else []
                    )
                else:
                    del lines[row][col:]
            i = m.end()
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0
            if row == len(lines):
                lines.append([])
        else:
            line = lines[row]
            if col < len(line):
                line[col] = ch
            else:
                line.extend(" " * (col - len(line)))
                line.append(ch)
            col += 1
        i += 1
    return ["".join(line).rstrip() for line in lines]
