"""The command line (``python -m pipeline.server``): :func:`serve` in the foreground,
:func:`main`, and :class:`ServerProcess` to run it in a child process."""

from __future__ import annotations

import argparse
import contextlib
import json
import select
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pipeline.server._app import FakeOpenAIServer
from pipeline.server._batches import BatchConfig
from pipeline.server._config import ServerConfig
from pipeline.server._faults import FAULT_KINDS, Fault
from pipeline.server._responders import Responder, stub_responder
from pipeline.server._stats import ServerStats


class ServerProcess:
    """The command-line server in a child process, so that it shares no GIL with the client
    under test (for benchmarks). Arguments are ``python -m pipeline.server``'s; ``--port 0``
    is the default. ``stats()`` and ``enqueue()`` use the ``/_fake/`` endpoints."""

    def __init__(self, *args: str, startup_timeout_s: float = 15.0) -> None:
        self.args = args if "--port" in args else ("--port", "0", *args)
        self.startup_timeout_s = startup_timeout_s
        self.base_url = ""
        self.returncode: int | None = None
        self.final_stats: dict[str, Any] | None = None
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "pipeline.server", *self.args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._proc = proc
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], self.startup_timeout_s)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.base_url = line.split()[-1]
        return self

    def _call(self, path: str, payload: Any = None) -> Any:
        root = self.base_url.removesuffix("/v1")
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            root + path, data=data, method="GET" if data is None else "POST"
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("/_fake/stats")
        return result

    def enqueue(self, *kinds: str) -> None:
        self._call("/_fake/faults", {"enqueue": list(kinds)})

    def stop(self) -> dict[str, Any] | None:
        """Stop the child; return its final stats (also kept in ``final_stats``)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return self.final_stats
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        self.returncode = proc.returncode
        lines = err.strip().splitlines()
        with contextlib.suppress(ValueError, IndexError):
            self.final_stats = json.loads(lines[-1])
        return self.final_stats

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# -- command line -----------------------------------------------------------------------------


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(
    config: ServerConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    responder: Responder | None = None,
    on_ready: Callable[[FakeOpenAIServer], None] | None = None,
) -> ServerStats:
    """Run the server in the foreground until SIGINT/SIGTERM; return its stats."""
    srv = FakeOpenAIServer(config, responder=responder, host=host, port=port).start()
    done = threading.Event()
    # Both set explicitly: a shell starts background jobs with SIGINT ignored.
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in _STOP_SIGNALS}
    try:
        if on_ready is not None:
            on_ready(srv)
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        srv.stop()
    return srv.stats


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.server",
        description="A fault-injecting OpenAI-compatible Chat Completions server for tests.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    p.add_argument("--rpm", type=int, help="requests per minute limit")
    p.add_argument("--tpm", type=int, help="tokens per minute limit")
    p.add_argument("--burst-window", type=float, default=60.0, help="seconds of limit per burst")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    p.add_argument("--jitter", type=float, default=0.0, help="up to this many seconds more")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--require-api-key", metavar="KEY")
    p.add_argument("--canary-header", action="append", default=[], metavar="NAME:VALUE")
    p.add_argument("--reject-json-schema", action="store_true")
    p.add_argument("--reject-json-object", action="store_true")
    p.add_argument("--error-style", choices=["openai", "vllm", "ollama"], default="openai")
    p.add_argument(
        "--fault-rate",
        action="append",
        default=[],
        metavar="KIND=P[,KIND=P]",
        help=f"random faults; kinds: {', '.join(FAULT_KINDS)}",
    )
    p.add_argument("--enqueue", action="append", default=[], metavar="KIND", help="next faults")
    p.add_argument("--hang", type=float, default=30.0, help="seconds a hang/slow fault lasts")
    p.add_argument("--retry-after", type=float, default=0.1, help="rate_limit fault retry-after")
    p.add_argument("--model-name")
    p.add_argument("--stub", action="store_true", help="answer with the stub, not the builtin")
    p.add_argument(
        "--batch-time-scale",
        type=float,
        default=1.0,
        help="Batch API: simulated seconds per real second (3600: a 24-hour window in 24 s)",
    )
    p.add_argument(
        "--no-batch-api", action="store_true", help="answer 404 on /v1/files and /v1/batches"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no final stats on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        rates = {
            k.strip(): float(v)
            for item in args.fault_rate
            for k, _, v in (pair.partition("=") for pair in item.split(","))
        }
        canaries = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (h.partition(":") for h in args.canary_header)
        )
        config = ServerConfig(
            rpm=args.rpm,
            tpm=args.tpm,
            burst_window_s=args.burst_window,
            latency_s=args.latency,
            jitter_s=args.jitter,
            seed=args.seed,
            require_api_key=args.require_api_key,
            canary_headers=canaries,
            reject_json_schema=args.reject_json_schema,
            reject_json_object=args.reject_json_object,
            error_style=args.error_style,
            fault_rate=rates,
            hang_s=args.hang,
            rate_limit_retry_after_s=args.retry_after,
            model_name=args.model_name,
            batch=BatchConfig(enabled=not args.no_batch_api, time_scale=args.batch_time_scale),
        )
        faults = [Fault(k) for k in args.enqueue]
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}, not only this machine", file=sys.stderr)

    def ready(srv: FakeOpenAIServer) -> None:
        srv.enqueue(*faults)
        print(f"listening on {srv.base_url}", flush=True)

    try:
        stats = serve(
            config,
            host=args.host,
            port=args.port,
            responder=stub_responder if args.stub else None,
            on_ready=ready,
        )
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(json.dumps(stats.snapshot()), file=sys.stderr)
    return 0
