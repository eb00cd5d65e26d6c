"""``--timeout`` is a whole-request deadline, connect to last byte, for every value, and a
response body is capped while it is read (issue 11, items 1 and 6).

The 1 s and 5 s cases run the real command in a subprocess against the fault server, whose
``hang`` fault never answers and whose ``drip`` fault sends one byte every 0.2 s (a per-read
timeout never fires on it). Every value, 60 s included, also runs through the real client on
an event loop with simulated time (``tests/virtual_time.py``), so nothing waits a minute.
Nothing here asserts a wall-clock duration: outcomes (records, kinds), request counts and
simulated seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from virtual_time import VirtualTimeLoop

from pipeline.client import Endpoint, make_client
from pipeline.server import FakeOpenAIServer, Fault, stub_responder
from pipeline.transport import MAX_RESPONSE_BYTES, GuardedTransport

REPO = Path(__file__).resolve().parent.parent
GOOD = "Heavy rain fell across the county on Monday, and the river rose by two metres overnight."
MSGS = [{"role": "user", "content": "hi"}]


def test_the_sdk_keeps_every_timeout_value() -> None:
    # 5 s equals httpx's default, which the SDK used to replace with its own 600 s
    for seconds in (1.0, 5.0, 60.0):
        client = make_client(Endpoint(model="m", base_url="http://127.0.0.1:9/v1", timeout=seconds))
        assert client.timeout.read == seconds  # type: ignore[union-attr]


def test_every_transport_of_the_client_is_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")  # a mount from the environment
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    client = make_client(Endpoint(model="m", base_url="http://10.0.0.1/v1", timeout=7.0))
    http = client._client
    mounted = [t for t in http._mounts.values() if t is not None]
    assert mounted, "the proxy variables give mounts"
    for transport in [http._transport, *mounted]:
        assert isinstance(transport, GuardedTransport) and transport.timeout == 7.0


# -- the real command against the fault server -------------------------------------------------


def run_cli(
    *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "-q", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=240,  # a liveness bound: without the deadline these requests last many minutes
    )


@pytest.mark.parametrize("seconds", ["1", "5"])
def test_hanging_and_dripping_server_end_as_timeout_records(seconds: str, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"text": GOOD}) + "\n" + json.dumps({"text": GOOD + " A second story."}) + "\n",
        encoding="utf-8",
    )
    with FakeOpenAIServer() as srv:
        srv.enqueue(Fault("hang", hang_s=3600), Fault("drip", hang_s=0.2))
        result = run_cli(
            str(src),
            "--model",
            "builtin",
            "--base-url",
            srv.base_url,
            "--timeout",
            seconds,
            "--max-attempts",
            "1",
            "--concurrency",
            "2",
            "--db",
            str(tmp_path / "db.sqlite"),
        )
        requests = srv.stats.chat_requests
        faults = dict(srv.stats.by_fault)
    assert result.returncode == 1, result.stderr
    recs = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["status"] for r in recs] == ["failed", "failed"]
    assert [r["error"]["kind"] for r in recs] == ["timeout", "timeout"], recs
    assert all(f"within {seconds} s" in r["error"]["message"] for r in recs), recs
    assert requests == 2 and faults.get("drip", 0) <= 1  # one request each, none retried


# -- the real client on simulated time ------------------------------------------------------------


def completion_bytes() -> bytes:
    return json.dumps(stub_responder({"model": "m", "messages": MSGS})).encode()


class FakeServer(httpx2.AsyncBaseTransport):
    """In-loop stand-in for a server: ``hang`` never answers; ``drip`` sends its answer's
    head, then one body byte per simulated second; ``huge`` streams ``size`` bytes."""

    def __init__(self, behaviour: str, size: int = 0) -> None:
        self.behaviour = behaviour
        self.size = size
        self.requests = 0
        self.bytes_sent = 0
        self.closed_at: list[float] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        if self.behaviour == "hang":
            try:
                await asyncio.Event().wait()
            finally:
                self.closed_at.append(asyncio.get_running_loop().time())
        return httpx2.Response(
            200, headers={"content-type": "application/json"}, stream=_Body(self)
        )


class _Body(httpx2.AsyncByteStream):
    def __init__(self, server: FakeServer) -> None:
        self.server = server

    async def __aiter__(self) -> AsyncIterator[bytes]:
        srv = self.server
        if srv.behaviour == "drip":
            for byte in completion_bytes():
                await asyncio.sleep(1.0)
                srv.bytes_sent += 1
                yield bytes([byte])
        else:
            chunk = b" " * 65536
            while srv.bytes_sent < srv.size:
                srv.bytes_sent += len(chunk)
                yield chunk
                await asyncio.sleep(0)

    async def aclose(self) -> None:
        self.server.closed_at.append(asyncio.get_running_loop().time())


def ask(transport: httpx2.AsyncBaseTransport, seconds: float) -> tuple[Any, float]:
    loop = VirtualTimeLoop()
    endpoint = Endpoint(model="m", base_url="http://127.0.0.1:9/v1", timeout=seconds)

    async def go() -> Any:
        client = make_client(endpoint, transport=transport)
        try:
            return await client.chat.completions.create(model="m", messages=MSGS)  # type: ignore[arg-type]
        except openai.APIError as e:
            return e
        finally:
            await client.close()

    try:
        return loop.run_until_complete(go()), loop.time()
    finally:
        loop.close()


@pytest.mark.parametrize("seconds", [1.0, 5.0, 60.0])
@pytest.mark.parametrize("behaviour", ["hang", "drip"])
def test_the_deadline_holds_on_simulated_time(behaviour: str, seconds: float) -> None:
    server = FakeServer(behaviour)
    outcome, now = ask(server, seconds)
    assert isinstance(outcome, openai.APITimeoutError), outcome
    assert server.requests == 1
    assert now == pytest.approx(seconds)  # simulated: the request ended at its deadline
    if behaviour == "drip":  # one byte a second: the deadline, not a per-read timeout, ended it
        assert server.bytes_sent == pytest.approx(seconds, abs=1)
        assert server.bytes_sent < len(completion_bytes())


def test_a_slow_but_complete_answer_within_the_deadline_is_read() -> None:
    server = FakeServer("drip")
    outcome, now = ask(server, float(len(completion_bytes()) + 5))
    assert not isinstance(outcome, Exception), outcome
    assert outcome.choices[0].message.content
    assert now == pytest.approx(len(completion_bytes()))


def test_a_200mb_response_costs_at_most_the_cap() -> None:
    server = FakeServer("huge", size=200 * 1024 * 1024)
    outcome, _ = ask(server, 60.0)
    assert isinstance(outcome, openai.APIConnectionError), outcome
    assert "over 8,388,608 bytes" in str(outcome.__cause__)
    assert server.bytes_sent <= MAX_RESPONSE_BYTES + 65536  # read stopped at the cap
