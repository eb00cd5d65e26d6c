"""Recording and replaying HTTP exchanges with vcrpy.

``summarise run --record FILE`` records every request the SDK makes; ``--replay FILE``
answers every request from FILE (or from every cassette in a folder, read as one) with no
network and no key. The same settings serve the test suite (``tests/conftest.py``) through
:func:`use_cassette`, which is the way in: it raises a refused write once vcrpy has unpatched.

- Matching: method, endpoint path and the canonical JSON body (key order ignored), never
  headers or host, so a cassette recorded against one server replays against any base URL.
  Identical requests replay in recorded order (a 429 then a 200; an invalid answer then a
  valid one): an interaction is played at most once.
- Scrubbing, before anything is written. Request headers: only ``content-type``, ``accept``
  and ``accept-encoding`` are kept, so ``authorization``, ``api-key``,
  ``openai-organization``, ``openai-project``, cookies and any custom gateway header never
  reach a file. Response headers: only what a replay needs is kept (``content-type``,
  ``content-length``, ``retry-after``, ``retry-after-ms``, ``x-should-retry``,
  ``x-ratelimit-*``); ``openai-organization``, ``openai-project``, ``set-cookie``, request
  ids and the like are dropped. Bodies, URIs and kept header values: the values of the
  key-bearing ``OPENAI_*`` variables, key-like strings (``sk-…``, ``Bearer …``, masked keys)
  and account ids (``org-…``, ``proj_…``, ``user-…``) become ``REDACTED`` placeholders, and
  JSON fields named like an account id (``organization``, ``project_id`` …) are blanked.
  Credentials in the URI (user info, ``?api-key=``) are removed.
- Compressed bodies (gzip, deflate, br and zstd when their decoders are installed) are
  decoded and ``content-encoding`` dropped, so the replay works and the cassette is readable.
- Writing: interactions are sorted by request (stable, so identical requests keep their
  recorded order), which makes a re-recording diff cleanly; the file is checked once more for
  anything key-like and for a body left compressed, and is written only if clean, atomically.

Modules: ``_secrets`` (the ``OPENAI_*`` values and key-like patterns; :func:`scrub_text`,
:func:`find_secrets`), ``_scrub`` (kept headers, account-id fields, URIs, and the vcrpy hooks
that scrub each request and response), ``_decode`` (compressed bodies), ``_match`` (the
endpoint-path and JSON-body matchers, the sort order), ``_persist`` (reading a file or a
folder, the checked atomic write), ``_use`` (:func:`make_vcr`, :func:`use_cassette`),
``_cli`` (``--replay`` / ``--record``, :func:`cassette_info`, :func:`rerecord_command`) and
``_errors`` (:class:`CassetteError`).
"""

from __future__ import annotations

from vcr.errors import CannotOverwriteExistingCassetteException

from pipeline.cassettes._cli import cassette_info, recording, replaying, rerecord_command
from pipeline.cassettes._decode import decoder_for
from pipeline.cassettes._errors import CassetteError
from pipeline.cassettes._match import MATCH_ON, canonical_body, endpoint_path
from pipeline.cassettes._match import endpoint_path_matcher as endpoint_path_matcher
from pipeline.cassettes._match import json_body_matcher as json_body_matcher
from pipeline.cassettes._persist import CassettePersister
from pipeline.cassettes._scrub import (
    ACCOUNT_FIELDS,
    KEPT_REQUEST_HEADERS,
    KEPT_RESPONSE_HEADERS,
    SECRET_REQUEST_HEADERS,
    SECRET_RESPONSE_HEADERS,
    scrub_body,
)
from pipeline.cassettes._scrub import (
    KEPT_RESPONSE_HEADER_PREFIXES as KEPT_RESPONSE_HEADER_PREFIXES,
)
from pipeline.cassettes._scrub import SECRET_QUERY_PARAMETERS as SECRET_QUERY_PARAMETERS
from pipeline.cassettes._secrets import REDACTED as REDACTED
from pipeline.cassettes._secrets import find_secrets, known_secrets, scrub_text
from pipeline.cassettes._use import (
    RECORD_MODES,
    describe_request,
    make_vcr,
    track_misses,
    use_cassette,
)

__all__ = [
    "ACCOUNT_FIELDS",
    "CannotOverwriteExistingCassetteException",
    "CassetteError",
    "CassettePersister",
    "KEPT_REQUEST_HEADERS",
    "KEPT_RESPONSE_HEADERS",
    "MATCH_ON",
    "RECORD_MODES",
    "SECRET_REQUEST_HEADERS",
    "SECRET_RESPONSE_HEADERS",
    "canonical_body",
    "cassette_info",
    "decoder_for",
    "describe_request",
    "endpoint_path",
    "find_secrets",
    "known_secrets",
    "make_vcr",
    "recording",
    "replaying",
    "rerecord_command",
    "scrub_body",
    "scrub_text",
    "track_misses",
    "use_cassette",
]
