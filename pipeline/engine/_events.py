"""What a run tells its caller while it works: waits, retries, adaptations, the stop.

The engine never prints: it hands :class:`Event`\\ s to the ``on_event`` callback the caller
gave (the CLI's progress display, a log, a test's list). Kinds:

- ``waiting``: every sender pauses (a 429's ``retry-after``, a rate-limit window running dry);
  ``seconds`` says how long, ``message`` why ("rate limit").
- ``retrying``: one article's request failed transiently and is retried after ``seconds``.
- ``adapted``: the run changed how it talks to this server (a parameter renamed or dropped, a
  structured-output mode given up); said once per change.
- ``stopped``: the run stops (bad key, exhausted quota, unreachable endpoint); ``message`` is
  the reason and the fix.
- ``note``: anything else worth one line (a price missing from the table, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

EVENT_KINDS = ("waiting", "retrying", "adapted", "stopped", "note")


@dataclass(frozen=True)
class Event:
    kind: str
    message: str
    seconds: float | None = None
    article_id: str | None = None

    def __post_init__(self) -> None:
        assert self.kind in EVENT_KINDS, self.kind


EventSink = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default sink: events go nowhere."""
