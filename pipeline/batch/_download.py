"""A batch file downloaded from the provider: its own bounds, not a chat answer's.

A result file holds one line per request: 50,000 answers make hundreds of megabytes, far over
the 8 MiB a chat response may take (:data:`pipeline.transport.MAX_RESPONSE_BYTES`), and may
take minutes to arrive. So file transfers go through a client of their own
(:func:`file_client`): a file may be up to :data:`MAX_FILE_BYTES` (decoded) and take up to
:data:`FILE_TIMEOUT_S` (or ``--timeout``, if longer), and it is read a line at a time
(:func:`bounded_lines`), never whole. One line is one answer, so a line is held to the chat
cap: a longer one is read past, not kept, and becomes that request's error row
(``response_too_large``, the article's failed record) instead of costing its size in memory.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator

from openai import AsyncOpenAI

from pipeline.client import Endpoint, make_client
from pipeline.transport import MAX_RESPONSE_BYTES

#: the largest batch file read (decoded): streamed, so memory stays flat; bounded all the same
MAX_FILE_BYTES = 4 * 1024**3
#: the time one file transfer may take, connect to last byte (``--timeout`` if longer)
FILE_TIMEOUT_S = 1800.0
#: one line of a result file is one answer: held to a chat answer's cap
MAX_LINE_BYTES = MAX_RESPONSE_BYTES
#: how much of an over-long line is kept to find its ``custom_id``
_HEAD = 64 * 1024
_CUSTOM_ID = re.compile(r'"custom_id"\s*:\s*"((?:[^"\\]|\\.)*)"')


def file_client(endpoint: Endpoint, *, max_connections: int = 4) -> AsyncOpenAI:
    """A client for the Files API's uploads and downloads, with a file's bounds."""
    slow = dataclasses.replace(endpoint, timeout=max(endpoint.timeout, FILE_TIMEOUT_S))
    return make_client(slow, max_connections=max_connections, max_response_bytes=MAX_FILE_BYTES)


async def bounded_lines(
    chunks: AsyncIterator[bytes], max_line: int = MAX_LINE_BYTES
) -> AsyncIterator[str]:
    """The non-blank lines of a byte stream, each at most ``max_line`` bytes; a longer one
    is read past and given as an error row for its ``custom_id`` (or ``{}`` when its head
    names none: the reader counts it malformed)."""
    line = bytearray()
    head: bytes | None = None  # set while an over-long line is being read past
    size = 0
    async for chunk in chunks:
        start = 0
        while start <= len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if head is None and len(line) + len(piece) > max_line:
                head = bytes(line[:_HEAD]) + piece[: max(0, _HEAD - len(line))]
                size = len(line)
                line.clear()
            if head is None:
                line += piece
            else:
                size += len(piece)
            if end < 0:
                break
            if head is not None:
                yield _too_long(head, size, max_line)
                head = None
            elif text := line.decode("utf-8", "replace").strip():
                yield text
            line.clear()
            start = end + 1
    if head is not None:
        yield _too_long(head, size, max_line)
    elif text := line.decode("utf-8", "replace").strip():
        yield text


def _too_long(head: bytes, size: int, cap: int) -> str:
    found = _CUSTOM_ID.search(head.decode("utf-8", "replace"))
    if found is None:
        return "{}"
    try:
        custom_id = json.loads(f'"{found.group(1)}"')
    except ValueError:
        return "{}"
    message = (
        f"the answer is over {cap:,} bytes ({size:,} bytes or more in the result file) and "
        "was not read"
    )
    return json.dumps(
        {
            "custom_id": custom_id,
            "response": None,
            "error": {"code": "response_too_large", "message": message},
        }
    )
