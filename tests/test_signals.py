"""SIGTERM takes Ctrl-C's path (found by the chaos test, ``tests/test_chaos.py``).

The chaos test's SIGTERMs now and then left a run waiting for ever in ``asyncio.run``'s
clean-up, or let it carry on to the end (exit 1, not 143): the handler raised
``KeyboardInterrupt`` in whatever the event loop's thread was running at that instant (the
HTTP pool's bookkeeping, a task's step), and the loop was left waiting for a task that could
no longer finish. SIGTERM is now handed to SIGINT's handler, which under ``asyncio.run`` is
asyncio's own: it cancels the main task, so the run stops at an ``await``.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from pipeline.cli import _signals


def test_sigterm_inside_a_loop_stops_at_an_await_not_in_the_middle_of_a_step() -> None:
    steps: list[int] = []
    cleaned: list[str] = []

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append("worker")

    async def main() -> None:
        task = asyncio.ensure_future(worker())
        await asyncio.sleep(0)
        try:
            # synchronous work in a task: the signal must not cut it in the middle
            for i in range(1000):
                if i == 10:
                    os.kill(os.getpid(), signal.SIGTERM)
                steps.append(i)
            await asyncio.sleep(3600)  # ... it stops here instead
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            cleaned.append("main")

    with _signals.handling_sigterm(), pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    assert len(steps) == 1000  # before: the KeyboardInterrupt came out at step 10
    assert cleaned == ["worker", "main"]
    message, code = _signals.interrupted(["run", "x"])
    assert code == 143 and message.startswith("terminated (SIGTERM)")


def test_sigterm_outside_a_loop_is_a_keyboard_interrupt() -> None:
    with _signals.handling_sigterm(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # the handler runs at the next bytecode boundary
            pass
    assert _signals.interrupted(["run"])[1] == 143


def test_sigterm_with_sigint_ignored_still_stops() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's SIGINT
    try:
        with _signals.handling_sigterm(), pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**6):
                pass
    finally:
        signal.signal(signal.SIGINT, previous)
