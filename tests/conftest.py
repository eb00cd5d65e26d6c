"""Shared fixtures: every test runs with its own SUMMARISE_HOME, no OPENAI_* settings and no
network (loopback only); ``cassette`` replays recorded HTTP exchanges.

Cassettes for tests live in ``cassettes/tests/<module>/<test>.yaml`` and replay with
``record_mode="none"``: a request the cassette lacks fails the test, naming the cassette and
the command that records it again. Recording happens only when asked::

    pytest tests/test_cassettes.py --record-mode=rewrite   # record these tests afresh
    pytest --record-mode=once                              # record only missing cassettes

Test cassettes are recorded from :class:`pipeline.server.FakeOpenAIServer` on 127.0.0.1
(see the ``recorded_server`` fixture), so recording needs no key and no network either.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cassettes import RECORD_MODES, describe_request, use_cassette

REPO = Path(__file__).resolve().parent.parent
TEST_CASSETTES = REPO / "cassettes" / "tests"


def pytest_addoption(parser: pytest.Parser) -> None:
    # pytest-recording, when installed, declares the same option (with more modes)
    with contextlib.suppress(ValueError):
        parser.addoption(
            "--record-mode",
            action="store",
            default=None,
            choices=RECORD_MODES,
            help="cassettes: 'none' replays only (the default); 'once' records the missing "
            "cassettes; 'rewrite' records the used cassettes afresh.",
        )


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "summarise-home"
    monkeypatch.setenv("SUMMARISE_HOME", str(home))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_ORGANIZATION",
        "OPENAI_PROJECT_ID",
        "OPENAI_MODEL",
        "OPENAI_API_VERSION",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def seeds_dir() -> Path:
    return REPO / "seeds"


# -- no network ------------------------------------------------------------------------------

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class NetworkBlocked(RuntimeError):
    """A test tried to reach a host other than this machine."""


class NetworkGuard:
    """Refuses every connection and name lookup beyond loopback; remembers each attempt."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def check_address(self, address: Any) -> None:
        # AF_INET / AF_INET6 addresses are tuples; AF_UNIX paths are not network
        if isinstance(address, tuple) and address and not is_loopback(address[0]):
            self.refuse(f"{address[0]}:{address[1] if len(address) > 1 else '?'}")

    def check_name(self, host: Any) -> None:
        if host is None or is_loopback(host):
            return
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name.strip("[]").split("%", 1)[0])
        except ValueError:
            self.refuse(f"name lookup of {name}")  # a lookup is network traffic

    def refuse(self, what: str) -> None:
        self.blocked.append(what)
        raise NetworkBlocked(f"tests never touch the network: refused {what} (loopback only)")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    """Every test: connect/connect_ex/create_connection/getaddrinfo beyond loopback raise."""
    guard = NetworkGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        guard.check_address(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard.check_address(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard.check_address(address)
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check_name(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard
    if guard.blocked:
        pytest.fail(
            "the test tried to reach the network: " + "; ".join(guard.blocked), pytrace=False
        )


# -- cassettes -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cassette_record_mode(request: pytest.FixtureRequest) -> str:
    mode = request.config.getoption("--record-mode", default=None) or "none"
    mode = {"all": "rewrite"}.get(mode, mode)
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"--record-mode={mode}: choose one of {', '.join(RECORD_MODES)}")
    return str(mode)


def cassette_path_for(node: pytest.Item) -> Path:
    module = Path(str(node.fspath)).stem
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name).strip("_")
    return TEST_CASSETTES / module / f"{name}.yaml"


def _rerecord(node: pytest.Item, mode: str) -> str:
    path = Path(str(node.fspath))
    try:
        where = path.relative_to(REPO).as_posix()
    except ValueError:
        where = str(path)
    return f"pytest '{where}::{node.name}' --record-mode={mode}"


@pytest.fixture
def cassette(request: pytest.FixtureRequest, cassette_record_mode: str) -> Iterator[Any]:
    """This test's cassette, active for the whole test (vcrpy patches httpx2's transports)."""
    path = cassette_path_for(request.node)
    existed = path.is_file()
    with use_cassette(path, cassette_record_mode) as cas:
        yield cas
    if cas.misses:
        try:
            shown = path.relative_to(REPO).as_posix()
        except ValueError:
            shown = str(path)
        what = "; ".join(describe_request(r) for r in cas.misses[:3])
        more = f" (and {len(cas.misses) - 3} more)" if len(cas.misses) > 3 else ""
        if existed:
            why = f"the cassette {shown} holds no recording of {what}{more}"
            fix = _rerecord(request.node, "rewrite")
        else:
            why = f"there is no cassette at {shown} for {what}{more}"
            fix = _rerecord(request.node, "once")
        pytest.fail(f"{why}: record it with `{fix}`", pytrace=False)


class ReplayStandIn:
    """Where ``recorded_server`` points when the cassette only replays: nothing listens at
    this address and nothing is sent there (vcrpy answers first); faults are no-ops because
    the cassette already holds their answers."""

    base_url = "http://127.0.0.1:9/v1"
    stats = None

    def enqueue(self, *faults: Any) -> None:
        pass

    def add_rule(self, *args: Any, **kwargs: Any) -> None:
        pass

    def clear_faults(self) -> None:
        pass


@pytest.fixture
def recorded_server(cassette: Any) -> Iterator[Any]:
    """The FakeOpenAIServer this test's cassette records from, or a stand-in on replay."""
    if cassette.write_protected:
        yield ReplayStandIn()
        return
    from pipeline.server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server
