"""Response bodies are capped after decompression (``pipeline/transport.py``).

The cap used to count the bytes on the wire: a gzip or brotli bomb (200 KB that decode to
200 MB) passed it and was decoded whole in memory. Now the guard decodes, a bounded piece at
a time, and counts what the body decodes to. Measured with ``tracemalloc``, never a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import struct
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx2
import openai
import pytest

from pipeline.client import Endpoint, make_client
from pipeline.server import stub_responder
from pipeline.transport import MAX_RESPONSE_BYTES

REPO = Path(__file__).resolve().parent.parent
MSGS = [{"role": "user", "content": "Summarise: the river rose."}]
DECODED = 200 * 1024 * 1024  # what each bomb decodes to


def gzip_bomb(mib: int = DECODED >> 20) -> bytes:
    """A valid gzip file of ``mib`` MiB of spaces (about 1 KB a MiB), built without
    compressing them all: after a full flush every MiB's deflate block is the same bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    spaces = b" " * (1 << 20)
    first = c.compress(spaces) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(spaces) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(spaces, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)
    return header + first + block * (mib - 1) + c.flush() + trailer


def br_bomb() -> bytes:
    return brotli.compress(b" " * DECODED, quality=1)


def completion() -> bytes:
    return json.dumps(stub_responder({"model": "m", "messages": MSGS})).encode()


class Compressed(httpx2.AsyncBaseTransport):
    """A server whose answer is ``body`` with ``Content-Encoding: encoding``, sent in 64 KiB
    chunks; it counts what it sent."""

    def __init__(self, body: bytes, encoding: str) -> None:
        self.body = body
        self.encoding = encoding
        self.sent = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        headers = {
            "content-type": "application/json",
            "content-encoding": self.encoding,
            "content-length": str(len(self.body)),
        }
        return httpx2.Response(200, headers=headers, stream=_Chunks(self))


class _Chunks(httpx2.AsyncByteStream):
    def __init__(self, server: Compressed) -> None:
        self.server = server

    async def __aiter__(self) -> AsyncIterator[bytes]:
        body = self.server.body
        for at in range(0, len(body), 65536):
            self.server.sent += len(body[at : at + 65536])
            yield body[at : at + 65536]
            await asyncio.sleep(0)


def ask(transport: httpx2.AsyncBaseTransport) -> Any:
    endpoint = Endpoint(model="m", base_url="http://127.0.0.1:9/v1", timeout=60.0)

    async def go() -> Any:
        client = make_client(endpoint, transport=transport)
        try:
            return await client.chat.completions.create(model="m", messages=MSGS)  # type: ignore[arg-type]
        except openai.APIError as e:
            return e
        finally:
            await client.close()

    return asyncio.run(go())


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compression_bomb_is_abandoned_at_the_cap_of_what_it_decodes_to(encoding: str) -> None:
    body = gzip_bomb() if encoding == "gzip" else br_bomb()
    assert len(body) < MAX_RESPONSE_BYTES // 20  # small on the wire: the old cap let it in
    server = Compressed(body, encoding)
    tracemalloc.start()
    try:
        outcome = ask(server)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(outcome, openai.APIConnectionError), outcome
    cause = str(outcome.__cause__)
    assert "over 8,388,608 bytes" in cause and "decoded" in cause
    assert peak < 4 * MAX_RESPONSE_BYTES  # before: the whole 200 MiB, twice over


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "gzip, br"])
def test_a_compressed_answer_is_read_as_before(encoding: str) -> None:
    data = completion()
    for coding in [c.strip() for c in encoding.split(",")]:
        data = brotli.compress(data) if coding == "br" else _zlib(data, coding)
    outcome = ask(Compressed(data, encoding))
    assert not isinstance(outcome, Exception), outcome
    assert (
        outcome.choices[0].message.content
        == json.loads(completion())["choices"][0]["message"]["content"]
    )


def _zlib(data: bytes, coding: str) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 31 if coding == "gzip" else 15)
    return c.compress(data) + c.flush()


# -- end to end: the article's failed record -----------------------------------------------------


class _BombHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bomb = b""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(self.bomb)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client hangs up at the cap
            self.wfile.write(self.bomb)


@pytest.fixture
def bomb_server() -> Iterator[str]:
    _BombHandler.bomb = gzip_bomb()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BombHandler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_gzip_bomb_answer_is_the_articles_failed_record(bomb_server: str, tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("The river rose by two metres overnight after heavy rain, officials said.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["OPENAI_API_KEY"] = "sk-test-bomb"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(src), "--base-url", bomb_server]
        + ["--model", "m", "--db", str(tmp_path / "s.db"), "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    (record,) = [json.loads(x) for x in done.stdout.splitlines()]
    assert record["status"] == "failed" and record["error"]["kind"] == "http_error"
    assert "over 8,388,608 bytes" in record["error"]["message"]
    assert record["attempts"] == 1  # not retried: the same answer would come again
