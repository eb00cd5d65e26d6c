"""URLs: telling a URL from a path, the canonical form an article is recognised by (tracking
parameters removed), and the origin a host limit and robots.txt belong to."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_URL = re.compile(r"https?://[^\s/?#]+", re.IGNORECASE)

# Query parameters that say how a reader arrived, never which article it is.
_TRACKING_PREFIXES = ("utm_", "at_", "ns_", "mc_", "pk_", "mtm_", "hsa_", "oly_")
_TRACKING = frozenset(
    """
    fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid twclid ttclid li_fat_id igshid
    mkt_tok _ga _gl _hsenc _hsmi cmpid ocid ito itm_source itm_medium itm_campaign
    guccounter guce_referrer guce_referrer_sig smid smtyp sr_share taid
    ref_src ref_url ncid wt_mc wt.mc_id
    """.split()
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_url(text: str) -> bool:
    """An ``http://`` or ``https://`` URL (what ``summarise run`` fetches rather than opens)."""
    return bool(_URL.match(text.strip()))


def _tracking(name: str) -> bool:
    key = name.lower()
    return key in _TRACKING or key.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The form an article's address is recognised by across runs and feeds.

    Scheme and host lower-cased, the default port and the fragment dropped, an empty path made
    ``/``, percent-escapes normalised, tracking parameters (``utm_*``, ``fbclid``, ``gclid``
    and the like) removed and the rest sorted. ``http`` and ``https`` stay different (a site
    may serve different things), as do ``www.`` and the bare host.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%") or "/"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def origin(url: str) -> str:
    """``scheme://host[:port]``: what robots.txt and the per-host request limit apply to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
