"""``summarise run --batch`` on a terminal: the live table of open batches (stderr) and the
records (stdout) share the screen but never a line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from batch_support import MODEL, SEEDS, batch_server
from terminal import run_on_terminal, screen


def test_batch_records_and_the_live_table_never_share_a_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["SUMMARISE_HOME"] = str(tmp_path / "home")
    with batch_server(time_scale=20.0) as srv:  # slow enough for the table to be drawn
        code, output = run_on_terminal(
            [sys.executable, "-m", "pipeline", "run", str(SEEDS), "--batch",
             "--base-url", srv.base_url, "--model", MODEL, "--poll-interval", "0.05"],
            cwd=tmp_path,
            env=env,
            columns=100,
        )  # fmt: skip
    assert code == 0, output
    assert "batch_" in output  # the table (or its lines) named the open batch
    lines = [line for line in screen(output) if '"article_id"' in line]
    assert len(lines) == 21
    for line in lines:  # each record line is the record alone: no table border glued to it
        assert line.startswith('{"article_id"'), line[:80]
        json.loads(line)
