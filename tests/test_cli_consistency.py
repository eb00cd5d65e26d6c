"""Every command speaks the same way: click's help and errors (serve included, with the
server's own options), and a consistent ``-q`` on each command that prints progress or a
summary on stderr."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.server._cli import _parser

REPO = Path(__file__).resolve().parent.parent
SEED = str(REPO / "seeds" / "000_8155cee7efb7811f.txt")
PAIRS = {"source": "Rain fell on Monday in Leeds, the council said.", "summary": "Rain fell."}


def _command(*path: str) -> click.Command:
    cmd: click.Command = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd


def test_serve_takes_the_servers_options_in_click_style() -> None:
    server_opts = {
        s for a in _parser()._actions for s in a.option_strings if s not in ("-h", "--help")
    }
    serve_opts = {o for p in _command("serve").params for o in getattr(p, "opts", [])}
    assert server_opts <= serve_opts, server_opts - serve_opts
    result = CliRunner().invoke(cli, ["serve", "--help"], prog_name="summarise")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: summarise serve [OPTIONS]")
    assert "--fault-rate KIND=P[,KIND=P]" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--port", "x"], "Invalid value for '--port'"),
        (["--fault-rate", "nope=0.5"], "unknown fault kind 'nope'"),
        (["--fault-rate", "rate_limit=2"], "P between 0 and 1"),
        (["--enqueue", "boom"], "unknown fault kind 'boom'"),
        (["--error-style", "azure"], "Invalid value for '--error-style'"),
    ],
)
def test_serve_usage_errors_are_clicks(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(cli, ["serve", *args], prog_name="summarise")
    assert result.exit_code == 2
    assert "Usage: summarise serve [OPTIONS]" in result.stderr and fragment in result.stderr


@pytest.mark.parametrize("quiet", [False, True])
def test_serve_serves_and_quiet_drops_the_final_stats(quiet: bool, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "pipeline", "serve", "--port", "0"] + (["-q"] if quiet else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.split()[-1].removesuffix("/v1")
        with urllib.request.urlopen(url + "/_fake/stats", timeout=10) as r:
            assert json.loads(r.read())["chat_requests"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    if quiet:
        assert err.strip() == ""
    else:
        assert json.loads(err.strip().splitlines()[-1])["chat_requests"] == 0


@pytest.mark.parametrize(
    "path",
    [("run",), ("compare",), ("judge",), ("score",), ("serve",), ("batch", "collect")],
)
def test_every_command_that_reports_on_stderr_has_q(path: tuple[str, ...]) -> None:
    opts = {o for p in _command(*path).params for o in getattr(p, "opts", [])}
    assert {"-q", "--quiet"} <= opts


def test_q_leaves_stderr_empty(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps(PAIRS) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    runs = {
        "score": ["score", str(pairs)],
        "judge": ["judge", str(pairs)],
        "run": ["run", SEED],
        "compare": ["compare", "summarise@v1", "summarise@v2", SEED, "--format", "json"],
    }
    for name, args in runs.items():
        loud = CliRunner(env=env).invoke(cli, args)
        quiet = CliRunner(env=env).invoke(cli, [*args, "-q"])
        assert loud.exit_code == quiet.exit_code == 0, (name, quiet.output)
        assert loud.stderr.strip(), name  # it does report something without -q
        assert quiet.stderr == "", (name, quiet.stderr)
        assert quiet.stdout.strip(), name  # the output itself is not quietened
