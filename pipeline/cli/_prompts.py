"""`summarise prompts list | show | diff | lock`.

These start fast (no rich, no jsonschema for released built-in prompts, no engine): the
listing is plain text fitted to the terminal's width.
"""

from __future__ import annotations

import shutil
import sys

import click

from pipeline import prompts
from pipeline.cli import cli
from pipeline.errors import PromptError


@cli.group(name="prompts")
def prompts_group() -> None:
    """List, show, diff and lock prompt versions."""


def fit(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters, cut at a word with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: max(1, width - 1)]
    if " " in cut and text[len(cut)] != " ":
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"


def _row(
    entry: prompts.Entry,
) -> tuple[list[str], str]:
    lock = prompts.read_lock(entry.folder.path)
    origin = entry.folder.origin + ("*" if entry.overrides else "")
    try:
        p = prompts.load_file(entry.path, entry.folder, check_lock=False)
    except PromptError as exc:
        return [entry.ref, "?", "INVALID", origin, "?", "?"], exc.message
    if entry.ref not in lock:
        state = "draft"
    elif lock[entry.ref] == p.sha256:
        state = "released"
    else:
        state = "EDITED"
    return [p.ref, p.kind, state, origin, p.schema, p.sha256[:12]], p.description


@prompts_group.command(name="list")
def prompts_list() -> None:
    """Every prompt version: kind, release state, where it comes from, schema and hash."""
    width = shutil.get_terminal_size((80, 24)).columns
    header = ["prompt", "kind", "state", "from", "schema", "sha256"]
    rows = [_row(e) for e in prompts.entries()]
    if not rows:
        folders = prompts.search_folders()
        raise PromptError(f"no prompt versions found; {prompts.where(folders)}")
    widths = [max(len(r[0][i]) for r in [(header, ""), *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    for cells, description in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        lines.append("  " + fit(description, max(20, width - 3)))
    notes = [f"{f.origin}: {f.path.absolute()}" for f in prompts.search_folders()]
    if any(e.overrides for e in prompts.entries()):
        notes.append("*: overrides the built-in version of the same name@version")
    click.echo("\n".join(lines + [""] + notes))


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
    """Release every new prompt version of your prompt folder by recording its hash in its lock.

    The folder is $SUMMARISE_PROMPTS, or ./prompts (in the project's checkout: its prompts/).
    """
    report = prompts.lock(check=check)
    for ref in report.added if not check else []:
        click.echo(f"released {ref} in {report.folder / 'lock' if report.folder else 'its lock'}")
    if report.messages:
        for m in report.messages:
            click.echo(f"summarise: error: {m}", err=True)
        sys.exit(2)
    if check:
        click.echo(f"ok: {len(report.unchanged)} released version(s) match their lock")
