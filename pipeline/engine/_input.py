"""The run's input, read off the event loop.

Reading an item can block: a slow disk, a stdin whose producer is slow or stalls (``tail -f
feed.jsonl | summarise run -``), a large JSON file to parse, a web page to fetch and extract.
Done in the event loop's thread, every request in flight would wait for it: answers would not
be read, journalled or checked, and deadlines would pass unseen. So :func:`numbered` reads a
plain iterable in a reader thread of its own, at most ``ahead`` items ahead of the run (a
bounded buffer: memory stays flat however long the input), and hands the items to the loop in
order. An input that is only asynchronous (no ``__iter__``) is the caller's promise not to
block, and is consumed in the loop.

:class:`pipeline.web.WebSource` offers both; its plain iterator reads files and stdin, and
fetches pages in a thread with a loop of its own, so it is read here like any plain input.

When the run ends early (Ctrl-C, a consumer that stops), the reader stops at its next item and
closes the iterator; a reader blocked in a read that never returns (a stalled stdin) is a
daemon thread and does not keep the process alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

#: items read ahead of the run by the reader thread
AHEAD = 16

_ITEM, _END, _ERROR = range(3)


async def numbered(
    items: Iterable[T] | AsyncIterable[T], *, ahead: int = AHEAD
) -> AsyncGenerator[tuple[int, T], None]:
    """``enumerate`` over the input, never blocking the loop on a plain iterable."""
    position = 0
    if isinstance(items, Iterable):
        async for item in read_in_thread(items, ahead=ahead):
            yield position, item
            position += 1
    else:
        async for item in items:
            yield position, item
            position += 1


async def read_in_thread(items: Iterable[T], *, ahead: int = AHEAD) -> AsyncIterator[T]:
    """The items of ``items``, in order, read in a daemon thread at most ``ahead`` ahead.

    An exception raised while reading is raised here, in the loop, where the item would have
    been (with its traceback). The loop is woken only when it waits for an item (not once per
    item), and the reader is given room half a buffer at a time: a cross-thread wake-up is a
    system call and a switch of the GIL, which per item cost about 0.1 ms of the run's time
    (``python -m benchmarks.overhead``)."""
    loop = asyncio.get_running_loop()
    ready: deque[tuple[int, Any]] = deque()
    lock = threading.Lock()  # guards ``ready`` against ``waiting`` (no lost wake-up)
    waiting: list[asyncio.Future[None]] = []  # the loop's wait for an item, when it waits
    room = threading.Semaphore(max(1, ahead))
    stop = threading.Event()

    def wake(future: asyncio.Future[None]) -> None:
        if not future.done():
            future.set_result(None)

    def send(kind: int, value: Any) -> None:
        with lock:
            ready.append((kind, value))
            future = waiting.pop() if waiting else None
        if future is not None:
            try:
                loop.call_soon_threadsafe(wake, future)
            except RuntimeError:  # the loop is closed: nobody is reading any more
                stop.set()

    def wait_for_room() -> bool:
        while not room.acquire(timeout=0.25):
            if stop.is_set():
                return False
        return not stop.is_set()

    def read() -> None:
        source: Iterator[T] | None = None
        try:
            source = iter(items)
            while wait_for_room():
                try:
                    item = next(source)
                except StopIteration:
                    send(_END, None)
                    return
                send(_ITEM, item)
        except BaseException as exc:  # handed to the loop, raised there
            send(_ERROR, exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # nobody is left to tell
                    close()

    reader = threading.Thread(target=read, name="summarise-input", daemon=True)
    reader.start()
    taken = 0  # items taken whose room is not yet given back
    half = max(1, ahead // 2)
    try:
        while True:
            with lock:
                entry = ready.popleft() if ready else None
                if entry is None:
                    future = loop.create_future()
                    waiting.append(future)
            if entry is None:
                if taken:  # all the room back before waiting: the reader may be out of it
                    room.release(taken)
                    taken = 0
                await future
                continue
            kind, value = entry
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            taken += 1
            if taken >= half:
                room.release(taken)
                taken = 0
            yield value
    finally:
        stop.set()
