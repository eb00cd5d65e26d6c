"""`summarise prompts list | show | diff | lock`."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from pipeline import prompts
from pipeline.cli import cli
from pipeline.cli._common import (
    err_console,
)


@cli.group(name="prompts")
def prompts_group() -> None:
    """List, show, diff and lock prompt versions."""


@prompts_group.command(name="list")
def prompts_list() -> None:
    """Every prompt version, with its hash and release state."""
    lock = prompts.read_lock()
    table = Table(show_edge=False)
    for col in ("prompt", "schema", "sha256", "state", "description"):
        table.add_column(col)
    for name, versions in prompts.available().items():
        for version in versions:
            p = prompts.load_prompt(f"{name}@{version}", check_lock=False)
            state = (
                "released"
                if lock.get(p.ref) == p.sha256
                else ("EDITED" if p.ref in lock else "draft")
            )
            table.add_row(p.ref, p.schema, p.sha256[:12], state, p.description[:70])
    Console(highlight=False).print(table)


@prompts_group.command(name="show")
@click.argument("ref")
def prompts_show(ref: str) -> None:
    """Print a prompt version's file."""
    p = prompts.load_prompt(ref)
    click.echo(p.path.read_text(encoding="utf-8"), nl=False)


@prompts_group.command(name="diff")
@click.argument("a")
@click.argument("b")
def prompts_diff(a: str, b: str) -> None:
    """A unified diff of two prompt versions."""
    click.echo(
        prompts.diff(
            prompts.load_prompt(a, check_lock=False), prompts.load_prompt(b, check_lock=False)
        ),
        nl=False,
    )


@prompts_group.command(name="lock")
@click.option(
    "--check", is_flag=True, help="Only check: exit 2 if a version is edited or unreleased."
)
def prompts_lock(check: bool) -> None:
    """Release every new prompt version by recording its hash in prompts/lock."""
    report = prompts.lock(check=check)
    for ref in report.added if not check else []:
        click.echo(f"released {ref}")
    if report.messages:
        for m in report.messages:
            err_console.print(f"summarise: error: {m}", markup=False, soft_wrap=True)
        sys.exit(2)
    if check:
        click.echo(f"ok: {len(report.unchanged)} released version(s) match prompts/lock")
