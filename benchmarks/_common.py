"""Shared pieces of the engine benchmarks: a fast canned responder, the fake server in its own
process, generated articles, request bodies identical to the engine's, small statistics.

The server runs in a separate process (``python -m benchmarks._common serve ...``) so that on a
2-core machine the client under test and the server each have a core, and the client's
numbers (time, RSS) are its own. It is :class:`pipeline.server.FakeOpenAIServer`; only the
responder differs from the default: :func:`canned_responder` answers every request with a
fixed, schema-valid ``summary.v1`` object (headline taken from the article's title), so the
built-in model's CPU time does not dominate what is measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

_SUMMARY = {
    "summary": "The council approved the budget on Monday after a long debate, officials said.",
    "key_points": ["The budget passed by seven votes to two."],
    "entities": [{"name": "Riverton council", "type": "organisation"}],
    "figures": [{"value": "10 million dollars", "measure": "the budget", "source": "the council"}],
    "quotes": [],
    "dates": [{"date": "Monday", "event": "the vote"}],
    "topics": ["local politics"],
    "caveats": [],
}
_TITLE = re.compile(r"^Title: (.{5,200})$", re.MULTILINE)


def canned_responder(body: dict[str, Any]) -> dict[str, Any]:
    """A schema-valid summary.v1 answer at almost no CPU cost (not a summariser)."""
    msgs = body.get("messages") or []
    user = next((m.get("content") or "" for m in msgs if m.get("role") == "user"), "")
    m = _TITLE.search(user)
    content = json.dumps({"headline": m.group(1) if m else "Council approves budget", **_SUMMARY})
    chars = sum(len(x.get("content") or "") for x in msgs)
    pt, ct = math.ceil(chars / 4), math.ceil(len(content) / 4)
    return {
        "id": "chatcmpl-canned",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": str(body.get("model", "canned")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
    }


# -- the server in its own process ---------------------------------------------------------------


class ServerProcess:
    """``FakeOpenAIServer`` in a child process; ``stats()`` / ``reset()`` over its admin API."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        rpm: int | None = None,
        tpm: int | None = None,
        burst: float = 60.0,
    ) -> None:
        args = [sys.executable, "-m", "benchmarks._common", "serve", "--latency", str(latency)]
        args += ["--burst-window", str(burst), "--jitter", str(jitter)]
        if rpm:
            args += ["--rpm", str(rpm)]
        if tpm:
            args += ["--tpm", str(tpm)]
        self.config = {
            "latency_s": latency,
            "jitter_s": jitter,
            "rpm": rpm,
            "tpm": tpm,
            "burst_window_s": burst,
        }
        self.proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        self.base_url = line.removeprefix("listening on ")
        self.root = self.base_url.removesuffix("/v1")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.root + "/_fake/stats", timeout=10) as r:
            data: dict[str, Any] = json.load(r)
            return data

    def reset(self) -> None:
        req = urllib.request.Request(self.root + "/_fake/reset", data=b"{}", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextmanager
def server_process(**kw: Any) -> Iterator[ServerProcess]:
    srv = ServerProcess(**kw)
    try:
        yield srv
    finally:
        srv.close()


def _serve(argv: Sequence[str]) -> int:
    from pipeline.server import FakeOpenAIServer, ServerConfig

    p = argparse.ArgumentParser(prog="python -m benchmarks._common serve")
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--jitter", type=float, default=0.0)
    p.add_argument("--rpm", type=int)
    p.add_argument("--tpm", type=int)
    p.add_argument("--burst-window", type=float, default=60.0)
    args = p.parse_args(argv)
    config = ServerConfig(
        rpm=args.rpm,
        tpm=args.tpm,
        burst_window_s=args.burst_window,
        latency_s=args.latency,
        jitter_s=args.jitter,
        keep_requests=16,
    )
    srv = FakeOpenAIServer(config, responder=canned_responder).start()
    print(f"listening on {srv.base_url}", flush=True)
    try:
        while True:  # until SIGTERM / SIGINT
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


# -- articles ------------------------------------------------------------------------------------


def article_text(i: int) -> str:
    return (
        f"The council of Riverton approved a budget of {i % 90 + 10} million dollars on Monday "
        f"(item {i}). Mayor Jane Doe said the plan would pay for {i % 7 + 3} new schools. "
        "Opposition members criticised the spending, according to local reports."
    )


def make_articles(n: int) -> list[Any]:
    from pipeline.articles import Article, article_id

    out = []
    for i in range(n):
        text = article_text(i)
        out.append(Article(id=article_id(text), source=f"gen/{i}", text=text, title=f"Vote {i}"))
    return out


def write_jsonl(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"title": f"Vote {i}", "text": article_text(i)}) + "\n")


# -- small helpers ---------------------------------------------------------------------------------


def env_with_key(base_url: str) -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base_url}


def pct(xs: Sequence[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def command_line() -> str:
    return "python -m " + " ".join([__spec_name()] + sys.argv[1:])


def __spec_name() -> str:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    return spec.name if spec is not None else sys.argv[0]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        raise SystemExit(_serve(sys.argv[2:]))
    raise SystemExit("usage: python -m benchmarks._common serve [--latency S] [--rpm N]")
