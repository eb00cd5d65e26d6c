"""Load articles from files, folders, JSON, JSONL and stdin, and normalise their text.

Every input gives exactly one item: an :class:`Article`, or a :class:`BadInput` that says
what is wrong and how to fix it. Only a path that does not exist raises
(:class:`~pipeline.errors.ConfigError`), and it does so when :func:`iter_articles` is
called, before anything is read.

Inputs
------
- ``-`` is stdin (bytes). If its first non-blank line is a JSON object it is read as JSONL
  (streamed; sources ``-:LINE``); else the whole input is one article (source ``-``), or,
  when the whole input is a JSON object or list, it is read like a ``.json`` file.
- A folder is walked recursively in sorted path order. Hidden files and folders, and files
  whose extension is not one of ``.txt .md .markdown .html .htm .json .jsonl``, are skipped.
- A file named explicitly is read whatever its extension (unknown ones as plain text).
- ``.jsonl``: one object per line, streamed line by line; blank lines are skipped; source is
  ``path:LINE`` (1-based). ``.json``: an object is one article; a list gives one article per
  item, with source ``path#N`` (1-based). Text comes from the first of the fields ``text``,
  ``article``, ``body``, ``content``, ``document`` that holds a non-empty string; also
  ``title``, ``url``, ``date`` (or ``published``, ``published_at``) and ``id``.
- ``.md``: YAML-style front matter (``title:``, ``date:``, ``url:``) is read and dropped; a
  leading ``# Title`` (or setext ``Title`` / ``=====``) is the title; images ``![..](..)`` and
  reference definitions are dropped; ``[text](url)`` keeps ``text``; heading marks, emphasis,
  inline code ticks, block-quote marks, bullets and rules are removed.
- ``.html``/``.htm``: the page's main text and metadata (title, date as the page writes it,
  author, site name, canonical URL) extracted with trafilatura, the encoding sniffed from the
  bytes (:mod:`._html`, :mod:`._html_meta`); a fragment trafilatura rejects is read by the
  fallback reader (:mod:`._html_fallback`). :func:`html_article` is the same for any page's
  bytes (the web stage uses it).
- JSON fields and Markdown front matter also give ``author`` (or ``authors``, ``byline``) and
  ``site_name`` (or ``site``, ``publisher``).

Safety (``_safe``)
-----------------
Every input item gives its own record, whatever it holds. A FIFO, socket or device (in a
folder or named) is never opened for a blocking read: it is a ``bad_input``. A file read
whole is capped by its ``fstat`` size before a byte is read (8 MiB; a ``.json`` file 64 MiB)
and a JSONL line by a bounded ``readline`` (8 MiB): what goes over is ``too_long``. A line
with a lone surrogate escape in a field that is used, JSON nested past the recursion limit
or an integer over Python's 4,300-digit limit is that line's ``bad_input``. A file name that
is not UTF-8 is read, and shown with ``\\xNN`` escapes in ``source``.

Decoding
--------
UTF-8 (a BOM is dropped; UTF-16 with a BOM is read too, JSONL included). Bytes that are
not UTF-8 are read as cp1252 when that gives plausible Western text (at most 20 % of the letters
non-ASCII, 90 % of those Latin-1 letters or typographic marks: detectors misjudge short
Latin-1 / cp1252 texts), else as whatever charset-normalizer detects. A NUL byte, or more than 10 %
control bytes in the first 8 KiB, means a binary file.

Normalisation (:func:`normalise_text`; idempotent)
--------------------------------------------------
Unicode NFC (not NFKC: curly quotes, dashes and the like are kept); CR/CRLF, form feeds and
Unicode line separators become newlines; non-breaking and other odd spaces and tabs become
spaces; zero-width characters, soft hyphens, bidi marks and control characters are dropped;
runs of spaces collapse; each line is stripped; at most one blank line separates paragraphs.
Then page furniture is removed, line by line, and only when the WHOLE line matches one of
``_FURNITURE`` (e.g. "Support us on Patreon", "Share this article", "Subscribe to our
newsletter", "Follow us on Twitter", "Advertisement", "Image copyright ...", "Image caption
...", "Getty Images", "Photo: ...", "Read more: ...", "Click here to ...", cookie notices), or
when one of the distinctive, capitalised phrases in ``_GLUED`` ends a short line (<= 160
chars) after other text: the phrase is cut and the rest of the line kept. Lines that merely
contain such words ("Shares rose 5%", "she would support the bill") are never touched.

Header (plain text, Markdown, and JSON text without a ``title`` field)
---------------------------------------------------------------------
1. Leading lines that are dates ("date 2025-03-27", "Published: 27 March 2025",
   "27/03/2025") or furniture are dropped; the first date is kept as ``date`` (ISO when
   the form is unambiguous, else as written).
2. The first block (lines up to the first blank line, at most 6 of them, with more text
   after it) is examined: its date lines, furniture lines and photo-credit lines ("Source:
   Name", or "Caption. Source: Name") are set aside. If the last remaining line is
   headline-like (<= 120 chars, at least two words, one sentence, not ending in ``.``,
   ``:``, ``,`` or ``;``; a trailing ellipsis is allowed) it is the title, and the
   set-aside lines are dropped. The other lines above the headline are kept, except
   pull-quotes: lines of 6+ words of which at least 80 % occur in the body (dropping them
   loses nothing). If no headline is found the
   block is left as it was. This gives the BBC convention "Title\\n\\nBody" and handles
   scraped pages whose headline comes after a teaser, a date and a lead-photo caption.
   "Source:" credits are only recognised here, above a headline: in the body a "Source:"
   line may be a data attribution and is kept.

The title is not part of ``text``. ``Article.id`` is the first 16 hex digits of the SHA-256
of the normalised text (UTF-8); :func:`article_id` normalises before hashing, so
``article_id(a.text) == a.id``.

Modules
-------
``_article`` (:class:`Article`, :class:`BadInput`, ids, building an article from text),
``_normalise`` (normalisation and furniture), ``_header`` (title and date), ``_decode``
(bytes to text), ``_safe`` (size caps, special files, file names, hostile JSON),
``_formats`` (plain text, Markdown, JSON, JSONL), ``_html`` (HTML pages: trafilatura and the
rules around it), ``_html_meta`` (a page's charset and metadata), ``_html_fallback`` (the
BeautifulSoup reader) and ``_iterate`` (paths, folders and stdin).
"""

from __future__ import annotations

from pipeline.articles._article import Article, BadInput, article_id
from pipeline.articles._formats import TEXT_FIELDS, load_article_text
from pipeline.articles._html import html_article
from pipeline.articles._iterate import iter_articles
from pipeline.articles._normalise import normalise_text

__all__ = [
    "TEXT_FIELDS",
    "Article",
    "BadInput",
    "article_id",
    "html_article",
    "iter_articles",
    "load_article_text",
    "normalise_text",
]
