"""The command line: parses arguments, calls the library, turns errors into exit codes.

Exit status: 0 every article ok; 1 the run finished but some articles failed; 2 usage or
configuration error, with a one-line message that names the fix.

Modules: ``_common`` (error handling, shared options, output, progress), ``_run``, ``_compare``,
``_prompts`` and ``_tools`` (``score``, ``judge``, ``serve``): one command group each.
"""

from __future__ import annotations

import click

from pipeline import __version__
from pipeline.cli._common import _Group


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="summarise")
def cli() -> None:
    """Summarise news articles with versioned prompts and validated structured output."""


from pipeline.cli import _batch, _compare, _prompts, _run, _tools  # noqa: E402,F401  (register commands)


def main() -> None:
    cli(prog_name="summarise")


__all__ = ["cli", "main"]
