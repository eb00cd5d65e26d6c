"""SIGTERM behaves like Ctrl-C: the same message, the run marked interrupted in the store,
and the conventional exit status (130 for SIGINT, 143 for SIGTERM).

:func:`handling_sigterm` makes SIGTERM take Ctrl-C's path for the length of one command: it is
handed to whatever handles SIGINT at that moment. While an event loop runs under
``asyncio.run`` that is asyncio's own handler, which cancels the main task, so the run stops
at an ``await`` and every ``finally`` on the way out runs (requests in flight are cancelled,
the run row is closed as ``interrupted``) before ``KeyboardInterrupt`` comes out of
``asyncio.run``. Raising ``KeyboardInterrupt`` from the signal handler instead would land in
the middle of whatever the loop was doing (the HTTP pool's bookkeeping, a task's step), and
the loop could then wait for ever for a task that can no longer finish. Outside a loop,
SIGINT's handler is Python's default one, which raises ``KeyboardInterrupt``. A second signal
raises it at once, as a second Ctrl-C does.

:func:`interrupted` gives the one line to print and the exit status, with the resume hint
(``--force`` asks for everything again, so the hint says to drop it).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from types import FrameType

_received: list[int] = []


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    on_sigint = signal.getsignal(signal.SIGINT)
    if callable(on_sigint):  # asyncio's (cancels the main task) or Python's default (raises)
        on_sigint(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt  # SIGINT ignored (a background job): stop here all the same


@contextlib.contextmanager
def handling_sigterm() -> Iterator[None]:
    """SIGTERM does what SIGINT does in the main thread while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(args: Sequence[str], what: str | None = None) -> tuple[str, int]:
    """The message and exit status for an interrupted command run with ``args``."""
    name, code = ("terminated (SIGTERM)", 143) if _received else ("interrupted", 130)
    if what is None:
        resume = "run the same command to resume"
        if "--force" in args:
            resume = (
                "run the same command WITHOUT --force to resume (with --force every "
                "article is asked again and paid for again)"
            )
        what = f"finished articles are stored; {resume}"
    return f"{name}: {what}", code
