"""An asyncio event loop on simulated time, for tests of deadlines that must not wait.

The loop's clock (``loop.time()``, which ``asyncio.sleep``, ``asyncio.timeout`` and every
timer read) starts at 0 and moves only when the loop has nothing to do but wait for its next
timer: then it jumps to that timer. Real I/O still works: when no timer is pending the loop
blocks on its selector as usual (the SDK's one thread hop for platform headers), and ready
I/O is always served before time moves. A test asserts simulated seconds, never wall time::

    loop = VirtualTimeLoop()
    result = loop.run_until_complete(coro())
    assert loop.time() == 60.0
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any


class _VirtualSelector:
    def __init__(self, real: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._real = real
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:  # nothing scheduled: wait for real I/O (a thread's answer)
            return self._real.select(None)
        events = self._real.select(0)
        if not events and timeout > 0:
            self._loop.now += timeout  # idle until the next timer: jump to it
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self._selector = _VirtualSelector(self._selector, self)  # type: ignore[has-type,assignment]

    def time(self) -> float:
        return self.now
