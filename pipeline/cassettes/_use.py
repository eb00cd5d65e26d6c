"""The way in: :func:`make_vcr` puts matching, scrubbing and writing together, and
:func:`use_cassette` records or replays and raises a refused write once vcrpy has unpatched."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import vcr

from pipeline.cassettes._match import MATCH_ON, endpoint_path_matcher, json_body_matcher
from pipeline.cassettes._persist import CassettePersister
from pipeline.cassettes._scrub import _request_filter, _response_filter
from pipeline.cassettes._secrets import known_secrets

#: test-suite record modes: replay only; record when the cassette is missing; record afresh
RECORD_MODES = ("none", "once", "rewrite")
_VCR_MODES = {"none": "none", "once": "once", "rewrite": "all", "all": "all"}


def make_vcr(
    record_mode: str = "none",
    *,
    secrets: Iterable[str] = (),
    match_on: Iterable[str] = MATCH_ON,
) -> vcr.VCR:
    """A ``vcr.VCR`` with this project's matching, scrubbing and writing.

    ``record_mode``: ``none`` (replay only), ``once`` (record a missing cassette),
    ``rewrite`` (record everything afresh; vcrpy's ``all``). ``secrets``: exact values to
    redact wherever they appear, on top of the patterns."""
    if record_mode not in _VCR_MODES:
        raise ValueError(f"record mode {record_mode!r}: choose from {', '.join(RECORD_MODES)}")
    hidden = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
    v = vcr.VCR(
        record_mode=_VCR_MODES[record_mode],
        match_on=tuple(match_on),
        before_record_request=_request_filter(hidden),
        before_record_response=_response_filter(hidden),
        decode_compressed_response=False,  # done by _decode_response, strictly
        record_on_exception=True,
    )
    v.register_matcher("json_body", json_body_matcher)
    v.register_matcher("endpoint_path", endpoint_path_matcher)
    v.persister = CassettePersister(hidden)
    return v


def track_misses(cassette: Any) -> list[Any]:
    """Remember every request ``cassette`` could not answer; returns the (live) list."""
    misses: list[Any] = []
    can_play = cassette.can_play_response_for

    def tracked(request: Any) -> bool:
        ok = bool(can_play(request))
        if not ok and cassette.write_protected:
            misses.append(request)
        return ok

    cassette.can_play_response_for = tracked
    return misses


def describe_request(request: Any) -> str:
    """``POST /v1/chat/completions (model m, 2 messages)``: enough to tell requests apart."""
    detail = ""
    try:
        body = json.loads(request.body or b"{}")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict):
        bits = []
        if body.get("model"):
            bits.append(f"model {body['model']}")
        if isinstance(body.get("messages"), list):
            bits.append(f"{len(body['messages'])} messages")
        detail = f" ({', '.join(bits)})" if bits else ""
    return f"{request.method} {urlsplit(str(request.uri)).path}{detail}"


@contextlib.contextmanager
def use_cassette(
    path: str | Path,
    record_mode: str = "none",
    *,
    secrets: Iterable[str] | None = None,
    **options: Any,
) -> Iterator[Any]:
    """Use the cassette at ``path`` (see :func:`make_vcr` for the modes); yields it.

    ``rewrite`` deletes the file first, so nothing stale survives a re-recording. The
    cassette's ``misses`` attribute lists the requests it could not answer."""
    p = Path(path)
    if record_mode == "rewrite" and p.exists():
        p.unlink()
    hidden = known_secrets() if secrets is None else tuple(secrets)
    v = make_vcr(record_mode, secrets=hidden)
    with v.use_cassette(str(p), **options) as cassette:
        cassette.misses = track_misses(cassette)
        yield cassette
    if v.persister.error is not None:
        raise v.persister.error
