"""The chaos run shared by ``tests/test_chaos.py`` and ``python -m benchmarks.chaos``.

A real ``python -m pipeline run IN.jsonl --out OUT.jsonl`` against
:class:`~pipeline.server.FakeOpenAIServer` (in this process) with a seeded mix of faults, killed
at seeded points (SIGKILL, SIGTERM, SIGINT), then started again with the same command until a
run ends by itself with exit 0. Kill points are server-side progress counts ("kill once the
server has answered N chat requests of this run"), never sleeps.

What is counted, and the bound it must meet
-------------------------------------------

The server sees every request and decides its outcome: a fault from the mix, or the model's
answer (HTTP 200). The mix's faults are of two sorts:

- **cost faults** ``F``: the request brings no usable answer (429 with retry-after, 500, 503,
  a dropped connection, a hang the server ends by closing, a hang past ``--timeout``), or a 200
  whose answer is damaged (``D`` of them: breaks the schema, is not JSON, is cut at
  ``max_tokens``). Each costs at most one more request;
- ``slow``: the answer comes, within ``--timeout``. It costs nothing extra.

So every request is either a cost fault or an undamaged 200 answer (``O`` of them). For the
``A`` distinct articles, each undamaged answer ends its article: it is the article's one
answer, unless it was lost. An answer is lost only at a kill, and only if it had not been
journalled (:mod:`pipeline.store._journal` writes every 200 before anything else is done with
it; the next run takes a journalled answer instead of asking again). The engine holds a
``--concurrency`` slot from before a request is sent until its answer is journalled, with no
await in between, so at most ``C = --concurrency`` answers are lost per kill. One more way to
pay twice is outside the client's power: an answer the server gives after the client gave up
at ``--timeout`` (``late``; 0 unless the machine stalls for seconds). Hence, with ``lost_k``
the 200s of killed run ``k`` that the store does not hold::

    A <= O <= A + late + sum(lost_k)                    lost_k <= C for every kill k
    paid (server 200s) = O + D <= A + D + late + sum(lost_k) <= A + D + late + K*C
    all requests       = O + F <= A + F + late + sum(lost_k) <= A + F + late + K*C

``lost_k`` is measured, not assumed: once run ``k`` is dead and the server idle, it is the
run's 200s (server count) minus the store's record of them: the run's attempts with status 200
sent live, plus the journal rows the run added that are still there. The run that finishes is
not killed, so for it the same difference must be exactly 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.articles import article_id
from pipeline.server import FakeOpenAIServer, Fault, ServerConfig
from pipeline.server._responders import _default_responder

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-chaos-test-key-0000000000"
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}
#: the exit status each signal must end the run with (SIGKILL: killed, no say in it)
EXIT = {"SIGKILL": -signal.SIGKILL, "SIGTERM": 143, "SIGINT": 130}
#: 200 answers that are damaged: each costs a re-ask or a retry with a bigger budget
DAMAGED = ("schema_invalid", "malformed_json", "truncated")


def default_mix(timeout: float) -> list[tuple[float, Fault]]:
    """(probability, fault): about a quarter of all requests get one."""
    return [
        (0.04, Fault("rate_limit", retry_after_s=0.05)),
        (0.02, Fault("rate_limit", retry_after_s=0.3)),
        (0.03, Fault("server_error")),
        (0.02, Fault("unavailable")),
        (0.03, Fault("drop")),
        (0.02, Fault("hang", hang_s=0.2)),  # the server closes the connection, no answer
        (0.003, Fault("hang", hang_s=timeout + 0.5)),  # --timeout cuts it
        (0.03, Fault("slow", hang_s=0.2)),  # answers, within --timeout
        (0.04, Fault("schema_invalid")),
        (0.02, Fault("malformed_json")),
        (0.02, Fault("truncated")),
    ]


class FaultMix:
    """A seeded fault per chat request, installed as the server's rules: the first rule's
    matcher draws once for the request (rules are matched in order under the server's lock),
    the others match the fault drawn."""

    def __init__(self, mix: list[tuple[float, Fault]], seed: int) -> None:
        assert sum(p for p, _ in mix) < 1.0
        self.mix = mix
        self.rng = random.Random(f"chaos-faults:{seed}")
        self.current: Fault | None = None

    def _draw(self, body: dict[str, Any]) -> bool:
        draw = self.rng.random()
        self.current = None
        for p, fault in self.mix:
            if draw < p:
                self.current = fault
                break
            draw -= p
        return False

    def install(self, srv: FakeOpenAIServer) -> None:
        srv.add_rule(self._draw, "ok")  # never matches: draws this request's fault
        for _, fault in self.mix:
            srv.add_rule(lambda body, f=fault: self.current is f, fault)


class Timed:
    """The default responder (the built-in model), noting when it answered each request body
    (the server hands the responder the very dict its request record keeps)."""

    def __init__(self) -> None:
        self.answered: dict[int, float] = {}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        completion = _default_responder(body)
        with self._lock:
            self.answered[id(body)] = time.monotonic()
        return completion


def article_text(i: int, rng: random.Random) -> str:
    place = rng.choice(["Riverton", "Lakeside", "Northfield", "Ashford", "Milbrook"])
    return (
        f"CHAOS-{i:05d} The council of {place} approved a budget of {rng.randint(5, 900)} "
        f"million dollars on Monday. Mayor Jane Doe said the plan would pay for "
        f"{rng.randint(2, 40)} new schools by {rng.randint(2026, 2031)}. Opposition members "
        "criticised the spending, according to local reports. The vote passed by "
        f"{rng.randint(5, 9)} votes to {rng.randint(0, 4)} after a debate that lasted "
        f"{rng.randint(2, 9)} hours."
    )


def write_inputs(path: Path, n: int, seed: int, duplicates: int = 0) -> list[str]:
    """``n`` distinct articles as JSONL, with ``duplicates`` of them repeated at seeded later
    positions (a repeat is served from the store, never asked twice). Returns the ids in input
    order."""
    rng = random.Random(f"chaos-inputs:{seed}")
    texts = [article_text(i, rng) for i in range(n)]
    for _ in range(duplicates):
        at = rng.randint(1, len(texts))
        texts.insert(at, texts[rng.randrange(at)])
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return [article_id(t) for t in texts]


@dataclass
class Kill:
    signal: str
    at: int  # the run's 200 answers (server count) that triggered it
    exit_code: int
    paid: int  # the run's 200 answers in all
    kept: int  # ... the store holds (attempts sent live with status 200 + new journal rows)
    late: int  # ... given after the client had given up at --timeout
    server_in_flight: int  # requests the server was answering when the signal went
    stderr: str = ""

    @property
    def lost(self) -> int:
        return self.paid - self.kept - self.late


@dataclass
class ChaosResult:
    articles: int
    inputs: list[str]
    concurrency: int
    kills: list[Kill] = field(default_factory=list)
    runs: int = 0
    exit_codes: list[int] = field(default_factory=list)
    run_starts: list[int] = field(default_factory=list)  # the server's request index
    records: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    paid: int = 0
    by_fault: Counter[str] = field(default_factory=Counter)
    late: int = 0
    final_lost: int = 0
    unkilled_exits: list[int] = field(default_factory=list)
    from_journal: int = 0
    stderr: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)  # the stacks of runs that never ended
    seconds: float = 0.0

    @property
    def damaged(self) -> int:
        return sum(self.by_fault[k] for k in DAMAGED)

    @property
    def faults(self) -> int:
        return sum(n for k, n in self.by_fault.items() if k != "slow")

    @property
    def lost(self) -> int:
        return sum(k.lost for k in self.kills)

    @property
    def paid_bound(self) -> int:
        return self.articles + self.damaged + self.late + self.lost

    @property
    def total_bound(self) -> int:
        return self.articles + self.faults + self.late + self.lost

    def problems(self) -> list[str]:
        """Every promise the run broke, as a sentence (empty: none)."""
        out: list[str] = [f"a run hung; its stacks: {h}" for h in self.hangs]
        got = [r.get("article_id") for r in self.records]
        if got != self.inputs:
            out.append(
                f"the last output has {len(got)} records for {len(self.inputs)} inputs, or not "
                "in input order"
            )
        bad = [r for r in self.records if r.get("status") != "ok"]
        if bad:
            out.append(f"{len(bad)} records are not ok: {bad[0].get('error')}")
        for k in self.kills:
            if k.exit_code != EXIT[k.signal]:
                out.append(
                    f"{k.signal} ended a run with {k.exit_code}, not {EXIT[k.signal]}: "
                    f"{k.stderr.strip()[-600:]}"
                )
            if k.lost > self.concurrency:
                out.append(
                    f"{k.lost} answers were paid for and lost at a {k.signal} (at most "
                    f"--concurrency {self.concurrency} may be in flight)"
                )
            if k.lost < 0:
                out.append(f"the store holds {k.kept} answers of a run the server gave {k.paid}")
        for code in self.unkilled_exits:
            if code not in (0, 1):  # 1: some articles failed (the faults), asked again next run
                out.append(f"a run nobody stopped exited {code}")
        if self.final_lost:
            out.append(f"the run that finished lost {self.final_lost} answers it was given")
        if self.paid > self.paid_bound:
            out.append(
                f"{self.paid} answers paid for, over the bound {self.paid_bound} = "
                f"{self.articles} articles + {self.damaged} damaged + {self.late} late + "
                f"{self.lost} lost at kills"
            )
        if self.total > self.total_bound:
            out.append(
                f"{self.total} requests, over the bound {self.total_bound} = {self.articles} "
                f"articles + {self.faults} faults + {self.late} late + {self.lost} lost at kills"
            )
        # a near-duplicate of an earlier article reuses its summary: no answer of its own
        copies = len({r.get("article_id") for r in self.records if r.get("duplicate_of")})
        if self.paid - self.damaged < self.articles - copies:
            out.append(f"only {self.paid - self.damaged} good answers for {self.articles} articles")
        for err in self.stderr:
            if "Traceback" in err or "unexpected" in err:
                out.append(f"a run crashed: {err.strip()[-400:]}")
        return out

    def summary(self) -> str:
        kills = Counter(k.signal for k in self.kills)
        return (
            f"{self.articles} articles ({len(self.inputs)} inputs), {self.runs} runs, "
            f"{len(self.kills)} kills ({', '.join(f'{n} {s}' for s, n in sorted(kills.items()))}); "
            f"requests {self.total} (bound {self.total_bound}: {self.faults} faults), "
            f"paid {self.paid} (bound {self.paid_bound}: {self.damaged} damaged, {self.late} "
            f"late), lost at kills {self.lost} (max {max((k.lost for k in self.kills), default=0)}"
            f" per kill, C={self.concurrency}), answers taken from the journal {self.from_journal}"
        )


def _db_counts(db: Path, run_id: int) -> tuple[int, set[tuple[Any, ...]]]:
    """(the run's attempts sent live with status 200, the journal's rows)."""
    if not db.exists():
        return 0, set()
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        try:
            (live,) = con.execute(
                "SELECT COUNT(*) FROM attempts WHERE run_id=? AND status_code=200"
                " AND origin='live'",
                (run_id,),
            ).fetchone()
            rows = set(con.execute("SELECT id, request_sha256, created_at FROM answers"))
        except sqlite3.OperationalError:  # no tables yet
            return 0, set()
    return int(live), rows


def _last_run(db: Path) -> int:
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        try:
            row = con.execute("SELECT MAX(id) FROM runs").fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(row[0] or 0)


def _paid(srv: FakeOpenAIServer) -> int:
    return int(srv.stats.by_status[200])


def _wait_idle(srv: FakeOpenAIServer, timeout: float = 60.0) -> None:
    """Until the server is answering nothing (a hang's sleep after its answer is not counted:
    it never answers)."""
    deadline = time.monotonic() + timeout
    while srv.stats.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)


def plan_kills(rng: random.Random, kills: int, articles: int) -> list[tuple[str, int]]:
    """Seeded (signal, the run's 200 answers before it) for each kill: each signal at least
    once when ``kills`` >= 3. The points add up to at most 90% of the articles, so every
    planned kill finds its run still going (and never just as it finishes by itself)."""
    names = list(SIGNALS)
    chosen = names[:kills] + [rng.choice(names) for _ in range(kills - len(names))]
    rng.shuffle(chosen)
    span = max(3, int(0.6 * articles / max(1, kills)))
    return [(s, rng.randint(2, int(1.5 * span))) for s in chosen]


def run_chaos(
    tmp: Path,
    *,
    articles: int,
    kills: int,
    seed: int,
    concurrency: int = 4,
    timeout: float = 3.0,
    duplicates: int = 3,
    mix: list[tuple[float, Fault]] | None = None,
    max_runs: int | None = None,
    process_timeout: float = 120.0,
) -> ChaosResult:
    """Run, kill, resume until done; count everything (see the module docstring)."""
    started = time.perf_counter()
    rng = random.Random(f"chaos-kills:{seed}")
    src, db, out = tmp / "in.jsonl", tmp / "store.db", tmp / "out.jsonl"
    inputs = write_inputs(src, articles, seed, duplicates)
    result = ChaosResult(articles=len(set(inputs)), inputs=inputs, concurrency=concurrency)
    plan = plan_kills(rng, kills, articles)
    timed = Timed()
    config = ServerConfig(seed=seed, keep_requests=10**7)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_"))}
    env.update(OPENAI_API_KEY=KEY, SUMMARISE_HOME=str(tmp / "home"))
    env.pop("SUMMARISE_DEBUG", None)
    env["PYTHONFAULTHANDLER"] = "1"  # a run that hangs is made to show where
    max_runs = max_runs or kills + 10
    with FakeOpenAIServer(config, responder=timed) as srv:
        FaultMix(mix or default_mix(timeout), seed).install(srv)
        command = [sys.executable, "-m", "pipeline", "run", str(src), "--out", str(out)]
        command += ["--db", str(db), "--base-url", srv.base_url, "--model", "chaos-model"]
        command += ["--concurrency", str(concurrency), "--timeout", str(timeout), "-q"]
        while result.runs < max_runs:
            result.runs += 1
            before, first_request = _paid(srv), srv.stats.total
            result.run_starts.append(first_request)
            journal_before = _db_counts(db, 0)[1]
            kill = plan.pop(0) if plan else None
            p = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            signalled, in_flight = False, 0
            deadline = time.monotonic() + process_timeout
            with _reaped(p):
                if kill is not None:
                    while (
                        p.poll() is None
                        and _paid(srv) - before < kill[1]
                        and time.monotonic() < deadline
                    ):
                        time.sleep(0.002)
                    if p.poll() is None:
                        in_flight = srv.stats.in_flight
                        os.kill(p.pid, SIGNALS[kill[0]])
                        signalled = True
                err = _communicate(p, deadline, result)
            result.stderr.append(err)
            result.exit_codes.append(p.returncode)
            _wait_idle(srv)
            run_id = _last_run(db)
            live, journal = _db_counts(db, run_id)
            paid = _paid(srv) - before
            kept = live + len(journal - journal_before)
            late = _late(srv, timed, timeout, first_request)
            result.late += late
            if signalled:
                assert kill is not None
                result.kills.append(
                    Kill(kill[0], kill[1], p.returncode, paid, kept, late, in_flight, err)
                )
                continue
            result.final_lost += paid - kept - late
            result.unkilled_exits.append(p.returncode)
            if p.returncode == 0:
                break
        result.total = srv.stats.chat_requests
        result.paid = _paid(srv)
        result.by_fault = Counter(srv.stats.by_fault)
    result.from_journal = _stored_attempts(db)
    if out.exists():
        result.records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    result.seconds = time.perf_counter() - started
    return result


def _late(srv: FakeOpenAIServer, timed: Timed, timeout: float, first: int) -> int:
    """200 answers to requests from index ``first`` on that the server gave ``timeout`` or
    more after the request came (the client had given up on them)."""
    return sum(
        1
        for r in srv.stats.records()
        if r.index >= first
        and r.status == 200
        and timed.answered.get(id(r.body), r.t) - r.t >= timeout
    )


def _stored_attempts(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        (n,) = con.execute("SELECT COUNT(*) FROM attempts WHERE origin='stored'").fetchone()
    return int(n)


def _communicate(p: subprocess.Popen[str], deadline: float, result: ChaosResult) -> str:
    """The run's stderr once it exits; a run still going at ``deadline`` is a hang: its
    threads' Python stacks are dumped (faulthandler, on SIGABRT) into the result."""
    try:
        return p.communicate(timeout=max(1.0, deadline - time.monotonic()))[1]
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGABRT)
        err = p.communicate(timeout=30)[1]
        result.hangs.append(err[-4000:])
        return err


@contextlib.contextmanager
def _reaped(p: subprocess.Popen[str]) -> Iterator[None]:
    """Never leave the run behind (a failed assertion, a timeout): kill it by its own pid."""
    try:
        yield
    finally:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
