"""The fault server's HTTP layer answers a malformed request with a 400, never a traceback
and a dropped connection (issue 11, item 11)."""

from __future__ import annotations

import logging
import socket

import pytest

from pipeline.server import FakeOpenAIServer, stub_responder

BODY = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'


def exchange(srv: FakeOpenAIServer, request: bytes) -> bytes:
    with socket.create_connection((srv.host, srv.port), timeout=30) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (HEAD + b"Content-Length: abc\r\n\r\n" + BODY, 400),
        (HEAD + b"Content-Length: -5\r\n\r\n" + BODY, 400),
        (HEAD + b"Content-Length: 1e3\r\n\r\n" + BODY, 400),
        (HEAD + b"Content-Length: 5, 6\r\n\r\n" + BODY, 400),
        (HEAD + b"Content-Length: 99999999999999999999999999\r\n\r\n" + BODY, 413),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY + b"\r\n0\r\n\r\n", 400),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n", 400),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\nabc\r\n0\r\n\r\n", 413),
    ],
    ids=[
        "letters",
        "negative",
        "float",
        "list",
        "huge",
        "chunk-letters",
        "chunk-negative",
        "chunk-no-crlf",
        "chunk-huge",
    ],
)
def test_a_malformed_length_or_chunk_size_is_answered_400(
    request_bytes: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), FakeOpenAIServer(responder=stub_responder) as srv:
        answer = exchange(srv, request_bytes)
        # the server still serves the next client
        ok = exchange(srv, HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
    assert answer.split(b"\r\n", 1)[0].startswith(b"HTTP/1.1 %d " % status), answer
    assert b'"error"' in answer
    assert ok.startswith(b"HTTP/1.1 200")
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"
