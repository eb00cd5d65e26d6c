"""Replay one hold-out provider response (``tests/data/providers_holdout/``) through
``summarise run``, the way ``tests/test_providers.py`` replays the others: a
:class:`~recorded_server.RecordedServer` on 127.0.0.1, the real ``openai`` SDK, the command line.

Two protocols, named by each file's ``meta.replay``:

- ``success``: every request is answered with the recorded 200, its envelope and headers kept
  and only ``message.content`` swapped for a valid summary (:func:`recorded_server.fitted`;
  where the provider sent the content as a JSON object rather than a string, the summary is
  sent as an object too, so the quirk survives the swap);
- ``error``: the first request is answered with the recorded error, every later one with a
  neutral recorded 200 (``vllm__200_null_fields``, fitted). Two articles, one at a time: an
  error that is retried, adapted to or re-asked ends ``ok`` after one more request; one that
  fails its article leaves the second article ``ok`` (exit 1); one that stops the run fails
  both (exit 2).

:func:`replay` returns what happened; ``tests/test_providers_holdout.py`` holds what should.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from recorded_server import Recorded, RecordedServer, fitted, load

from pipeline.cli import cli

HOLDOUT = Path(__file__).resolve().parent / "data" / "providers_holdout"
NEUTRAL = "vllm__200_null_fields"
ARTICLE = (
    "The city council approved a new cycle lane on Monday after a two-hour debate, the mayor "
    "said. The lane will run for 3 kilometres along the river and cost 1.2 million pounds, "
    "according to council papers. Work is due to start in the spring, and the council said "
    "it expected the lane to carry 4,000 cyclists a day within a year of opening."
)


def names() -> list[str]:
    return sorted(p.stem for p in HOLDOUT.glob("*.yaml"))


def holdout(name: str) -> tuple[dict[str, Any], list[Recorded]]:
    return load(HOLDOUT / f"{name}.yaml")


@dataclass
class Outcome:
    exit_code: int
    records: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    stderr: str
    kinds: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kinds = [
            "ok" if r["status"] == "ok" else (r.get("error") or {}).get("kind", "?")
            for r in self.records
        ]

    def summary(self) -> str:
        return f"exit {self.exit_code}, {', '.join(self.kinds)}; {len(self.requests)} requests"


def _fit(recorded: Recorded, request: dict[str, Any]) -> Recorded:
    """``recorded`` answering ``request`` (see the module docstring)."""
    text = fitted(recorded.body, request)
    try:
        original = json.loads(recorded.body)["choices"][0]["message"]["content"]
        data = json.loads(text)
    except (ValueError, KeyError, IndexError, TypeError):
        return Recorded(recorded.status, recorded.headers, text)
    if isinstance(original, dict | list) and isinstance(data["choices"][0]["message"], dict):
        content = data["choices"][0]["message"].get("content")
        if isinstance(content, str):
            with contextlib.suppress(ValueError):
                data["choices"][0]["message"]["content"] = json.loads(content)
        text = json.dumps(data, ensure_ascii=False)
    return Recorded(recorded.status, recorded.headers, text)


def _articles(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{i:03d}.txt").write_text(
            f"Cycle lane {i}\n\n{ARTICLE} Item number {i}.", encoding="utf-8"
        )
    return folder


def model_of(name: str) -> str:
    meta, responses = holdout(name)
    if meta.get("model"):
        return str(meta["model"])
    if meta.get("replay") == "success":
        try:
            return str(responses[0].json().get("model") or "m")
        except ValueError:
            return "m"
    return "m"


def replay(name: str, tmp_path: Path, *extra: str, n: int = 2) -> Outcome:
    """Run ``summarise run`` on ``n`` articles against the hold-out response ``name``."""
    meta, responses = holdout(name)
    recorded = responses[0]
    neutral = holdout(NEUTRAL)[1][0]

    def choose(body: dict[str, Any], i: int) -> Recorded:
        if meta.get("replay") == "success" or i > 0:
            return _fit(recorded if meta.get("replay") == "success" else neutral, body)
        return recorded

    out = tmp_path / "out.jsonl"
    with RecordedServer(responses, fit=False, choose=choose) as srv:
        result = CliRunner().invoke(
            cli,
            [
                "run",
                str(_articles(tmp_path / "in", n)),
                "--base-url",
                srv.base_url,
                "--model",
                model_of(name),
                "--out",
                str(out),
                "--quiet",
                "--concurrency",
                "1",
                *extra,
            ],
            env={"OPENAI_API_KEY": "test-key"},
        )
        requests = list(srv.requests)
    records = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    return Outcome(result.exit_code, records, requests, result.stderr)
