"""What the commands share: the error console, the one-line failure, the engine options,
the output stream, the progress bar and the end-of-run table.

Start-up matters (``summarise --help`` should start about as fast as Python itself): nothing
heavy is imported here at module level. rich's console is made on first use, and the engine,
the SDK and the rest are imported inside the commands that use them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import click

from pipeline.errors import ConfigError, SummariseError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from pipeline.engine import RunSettings, RunSummary

F = TypeVar("F", bound=Callable[..., Any])


class _LazyConsole:
    """rich's stderr ``Console``, made on first use (importing rich costs start-up time)."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def _real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
        return self._console

    # special methods bypass __getattr__: rich's Live enters its console (``with console:``)
    def __enter__(self) -> Console:
        return self._real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._real().__exit__(*exc)


err_console = cast("Console", _LazyConsole())


def _fail(message: str, code: int = 2) -> None:
    from pipeline.secrets import terminal_safe

    click.echo(f"summarise: error: {terminal_safe(message)}", err=True)
    sys.exit(code)


def _reader_gone() -> None:
    """stdout's reader went away (``summarise run | head``): stop quietly, as Unix tools do.

    Finished articles are already stored. stdout is pointed at /dev/null so that Python's
    final flush does not raise again on the way out.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass
    sys.exit(1)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        from pipeline.cli._signals import handling_sigterm, interrupted

        # the command's own words, before parsing (click 9 will keep them all in ctx.args)
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            with handling_sigterm():
                return super().invoke(ctx)
        except SummariseError as exc:
            _fail(exc.message, exc.exit_code)
        except KeyboardInterrupt:
            _fail(*interrupted(args))
        except BrokenPipeError:
            _reader_gone()
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected bug: one line, the traceback only on request
            if os.environ.get("SUMMARISE_DEBUG"):
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (set SUMMARISE_DEBUG=1 for details)", 1)


def _engine_options(fn: F) -> F:
    options = [
        click.option(
            "--model",
            help="Model name; 'builtin' for the offline baseline "
            "(default: builtin unless OPENAI_API_KEY or OPENAI_BASE_URL is set).",
        ),
        click.option("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL)."),
        click.option(
            "--db",
            type=click.Path(dir_okay=False),
            help="SQLite store (default: $SUMMARISE_HOME/summarise.db).",
        ),
        click.option("--concurrency", type=click.IntRange(1, 1000), default=8, show_default=True),
        click.option(
            "--rpm",
            type=click.FloatRange(min=0, min_open=True),
            help="Requests per minute ceiling (default: none).",
        ),
        click.option(
            "--tpm",
            type=click.FloatRange(min=0, min_open=True),
            help="Tokens per minute ceiling (default: none).",
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(1, 50),
            default=6,
            show_default=True,
            help="HTTP requests per article: retries, re-asks and fallbacks included.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=60.0,
            show_default=True,
            help="Seconds per request.",
        ),
        click.option("--force", is_flag=True, help="Ignore stored results and ask again."),
        click.option(
            "--replay",
            type=click.Path(),
            help="Answer every request from this cassette, or from every cassette in this "
            "folder (no network, no key).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


_quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress display and no summary on stderr (errors are still shown).",
)


def _settings(kw: dict[str, Any]) -> RunSettings:
    from pipeline.engine import RunSettings

    return RunSettings(
        concurrency=kw["concurrency"],
        rpm=kw["rpm"],
        tpm=kw["tpm"],
        max_attempts=kw["max_attempts"],
        force=kw["force"],
    )


_URL = re.compile(r"https?://[^\s/?#]+", re.IGNORECASE)  # as pipeline.web.is_url, unimported


def _check_paths(paths: tuple[str, ...], *, default: bool = True) -> list[str]:
    """The paths as given (``seeds`` when none and ``default``); an http(s) URL is fetched,
    not opened, so it is not checked here."""
    chosen = list(paths) or (["seeds"] if default else [])
    for p in chosen:
        if p != "-" and not _URL.match(p.strip()) and not Path(p).exists():
            hint = " (the default is seeds/ in the project folder)" if not paths else ""
            raise ConfigError(f"no such file or folder: {p}{hint}")
    return chosen


def _summary_table(summary: RunSummary, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False)
    for col in ("articles", "ok", "failed", "cached", "tokens in", "tokens out", "time"):
        table.add_column(col, justify="right")
    table.add_row(
        str(summary.n),
        str(summary.ok),
        str(summary.failed),
        str(summary.cached),
        f"{summary.prompt_tokens:,}",
        f"{summary.completion_tokens:,}",
        f"{summary.seconds:.1f}s",
    )
    err_console.print(table)
    if summary.failures:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(summary.failures.items()))
        err_console.print(f"failures by kind: {kinds}", markup=False)
    if summary.stopped:
        from pipeline.secrets import terminal_safe

        stopped = terminal_safe(summary.stopped)
        err_console.print(f"run stopped: {stopped}", markup=False, soft_wrap=True)


def _open_out(out: str | None, *, inputs: Sequence[str] = ()) -> IO[str]:
    """stdout, or ``--out`` checked now and written from the first record on (refused when
    it is one of ``inputs``): see :mod:`pipeline.cli._output`."""
    from pipeline.cli._output import open_out

    return open_out(out, inputs=inputs)


def _progress(enabled: bool) -> Progress | None:
    if not enabled:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
