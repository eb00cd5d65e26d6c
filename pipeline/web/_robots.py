"""robots.txt, honoured with the standard library's parser (``urllib.robotparser``).

Each origin's robots.txt is fetched once a run (conditionally, like any page, through the
same fetcher and host limit) and consulted for every address on that origin, redirect hops
included. Its answer, as the standard library reads it: 200 is parsed; 401 or 403 disallows
everything; any other 4xx allows everything (no robots.txt). Beyond that, a robots.txt that
cannot be read (5xx after retries, a timeout, a refused connection) disallows the origin for
this run: a site that cannot say what it allows is not crawled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.robotparser import RobotFileParser

from pipeline.web._fetch import Fetched, FetchFailed
from pipeline.web._urls import origin

FetchText = Callable[[str], Awaitable[Fetched]]


class Robots:
    """Per-origin verdicts for one run; ``agent`` is the User-Agent robots.txt rules name."""

    def __init__(self, fetch: FetchText, agent: str) -> None:
        self._fetch = fetch
        self._agent = agent
        self._rules: dict[str, asyncio.Future[RobotFileParser | str]] = {}

    async def refusal(self, url: str) -> str | None:
        """None when ``url`` may be fetched; else the reason it may not."""
        site = origin(url)
        if site not in self._rules:
            self._rules[site] = asyncio.ensure_future(self._load(site))
        rules = await asyncio.shield(self._rules[site])
        if isinstance(rules, str):
            return rules
        if rules.can_fetch(self._agent, url):
            return None
        return (
            f"disallowed by {site}/robots.txt for {self._agent} (the site asks not to be fetched)"
        )

    async def _load(self, site: str) -> RobotFileParser | str:
        parser = RobotFileParser(site + "/robots.txt")
        try:
            got = await self._fetch(site + "/robots.txt")
        except FetchFailed as exc:
            if exc.status in (401, 403):
                parser.parse(["User-agent: *", "Disallow: /"])
            elif exc.status is not None and 400 <= exc.status < 500:
                parser.parse([])
            elif exc.status is None:  # the site cannot be reached at all: say so
                return exc.reason
            else:
                return (
                    f"{site}/robots.txt could not be read ({exc.reason}): nothing is fetched there"
                )
            return parser
        text = (got.body or b"").decode("utf-8", "replace")
        parser.parse(text.splitlines())
        return parser
