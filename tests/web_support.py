"""What the web tests share: the real pages of ``tests/data/web/pages``, article pages built
from the BBC seed articles, and RSS / Atom feeds built around them (documented as built)."""

from __future__ import annotations

import gzip
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from pipeline.web._site import LocalSite

REPO = Path(__file__).resolve().parent.parent
PAGES = REPO / "tests" / "data" / "web" / "pages"
SEEDS = REPO / "seeds"


def real_page(name: str) -> bytes:
    """The bytes of one real page (``slashdot-comments``, ``sohu-gb2312``, ...)."""
    return gzip.decompress((PAGES / f"{name}.html.gz").read_bytes())


@dataclass(frozen=True)
class Story:
    title: str
    paragraphs: list[str]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def bbc_stories() -> list[Story]:
    """The ten BBC seed articles: title, then paragraphs."""
    out = []
    for path in sorted(SEEDS.glob("*_bbc_*.txt")):
        blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
        out.append(Story(blocks[0], blocks[1:]))
    return out


def article_page(
    story: Story,
    *,
    site: str = "Example News",
    published: str | None = "2025-03-27T09:30:00+00:00",
    author: str | None = "Jane Reporter",
    canonical: str | None = None,
    charset: str | None = "utf-8",
    furniture: bool = True,
) -> str:
    """A news page around ``story``: header, navigation, share links, related stories and
    a footer round the article, as a site's template would put them."""
    metas = [f'<meta property="og:site_name" content="{html.escape(site)}">']
    if charset:
        metas.insert(0, f'<meta charset="{charset}">')
    if published:
        metas.append(f'<meta property="article:published_time" content="{published}">')
    if author:
        metas.append(f'<meta name="author" content="{html.escape(author)}">')
    if canonical:
        metas.append(f'<link rel="canonical" href="{canonical}">')
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    nav = (
        '<header><a href="/">Home</a><nav><a href="/uk">UK</a> <a href="/world">World</a>'
        ' <a href="/business">Business</a></nav></header>'
        if furniture
        else ""
    )
    extra = (
        '<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>'
        '<aside><h2>Related stories</h2><ul><li><a href="/r1">Markets fall on rate fears</a>'
        '</li><li><a href="/r2">Minister resigns over expenses</a></li></ul></aside>'
        if furniture
        else ""
    )
    footer = (
        f"<footer>© 2025 {html.escape(site)}. All rights reserved.</footer>" if furniture else ""
    )
    return (
        "<!doctype html><html><head>"
        + "".join(metas)
        + f"<title>{html.escape(story.title)} - {html.escape(site)}</title></head><body>"
        + nav
        + f"<main><article><h1>{html.escape(story.title)}</h1>{paras}</article>{extra}</main>"
        + footer
        + "</body></html>"
    )


def copy_of(story: Story, *, outlet: str) -> Story:
    """Another outlet's copy: its own headline, a byline and a credit line, a line added."""
    paras = list(story.paragraphs)
    paras.insert(1, "The agency said it would not comment further on the matter.")
    return Story(
        f"{story.title} - {outlet}",
        [f"By {outlet} staff", *paras, f"Copyright {outlet}. All rights reserved."],
    )


def publish(site: LocalSite, path: str, story: Story, site_name: str) -> str:
    """``story`` as a page of ``site_name`` at ``path`` (answering conditional requests)."""
    return site.add(path, article_page(story, site=site_name), conditional=True)


@dataclass(frozen=True)
class FeedEntry:
    title: str
    link: str | None
    published: float | None = None  # unix seconds
    guid: str | None = None
    content: str | None = None  # full HTML content (content:encoded)
    description: str | None = None


def rss(entries: Sequence[FeedEntry], *, title: str = "Example News") -> str:
    """An RSS 2.0 feed of ``entries`` (built here, not recorded)."""
    items = []
    for e in entries:
        parts = [f"<title>{html.escape(e.title)}</title>"]
        if e.link:
            parts.append(f"<link>{html.escape(e.link)}</link>")
        if e.guid:
            parts.append(f'<guid isPermaLink="false">{html.escape(e.guid)}</guid>')
        if e.published is not None:
            parts.append(f"<pubDate>{formatdate(e.published, usegmt=True)}</pubDate>")
        if e.description:
            parts.append(f"<description>{html.escape(e.description)}</description>")
        if e.content:
            parts.append(f"<content:encoded><![CDATA[{e.content}]]></content:encoded>")
        items.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{html.escape(title)}</title><link>https://news.example.com/</link>"
        + "".join(items)
        + "</channel></rss>"
    )


def atom(entries: Iterable[FeedEntry], *, title: str = "Example Atom") -> str:
    """An Atom 1.0 feed of ``entries`` (built here, not recorded)."""
    out = []
    for e in entries:
        stamp = formatdate(e.published or 0, usegmt=True)
        iso = _iso(e.published or 0)
        link = f'<link href="{html.escape(e.link)}"/>' if e.link else ""
        out.append(
            f"<entry><title>{html.escape(e.title)}</title>{link}"
            f"<id>{html.escape(e.guid or e.link or stamp)}</id><updated>{iso}</updated></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>urn:example:feed</id>"
        f"<updated>{_iso(0)}</updated>" + "".join(out) + "</feed>"
    )


def _iso(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
