"""The web options of ``summarise run`` (``--urls``, ``--limit``, ``--new``,
``--dedupe/--no-dedupe``, ``--per-host``) and the item source they make: paths and URLs to
articles (:class:`pipeline.web.WebSource`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # imported where used: `summarise --help` starts fast
    from pipeline.web import WebSource

F = TypeVar("F", bound=Callable[..., Any])


def web_options(fn: F) -> F:
    options = [
        click.option(
            "--urls",
            "urls",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            help="Read page or feed URLs from this file, one a line (# comments allowed); "
            "repeatable.",
        ),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            help="At most this many entries from each feed, newest first (default: all).",
        ),
        click.option(
            "--new",
            "only_new",
            is_flag=True,
            help="Output only articles never summarised before with this prompt and model "
            "(recognised by canonical URL and by content); for scheduled runs.",
        ),
        click.option(
            "--dedupe/--no-dedupe",
            default=True,
            show_default=True,
            help="A later copy of a story (the same wire story from another outlet) reuses the "
            "first copy's summary (duplicate_of set, no model call).",
        ),
        click.option(
            "--per-host",
            type=click.IntRange(1, 64),
            default=4,
            show_default=True,
            help="Requests in flight at once to one web site.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def web_source(paths: list[str], kw: dict[str, Any], *, exclude: Sequence[str] = ()) -> WebSource:
    """Every input, in order: PATHS (files, folders, stdin, URLs), then each ``--urls`` file."""
    from pipeline.web import WebOptions, WebSource

    options = WebOptions(per_host=kw["per_host"], limit=kw["limit"])
    return WebSource(paths, options=options, db=kw["db"], url_files=kw["urls"], exclude=exclude)
