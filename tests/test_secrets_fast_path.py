"""The scrubs' fast paths (:meth:`Secrets.found_in_data`, the one scan in `scrub_text`) never let a
secret through.

``scrub_record`` first scans all of a record's strings joined, and skips the per-string scrub
when that scan finds nothing. These properties say the skip is safe: whenever the full scrub
would change anything, the scan finds something; and a record scrubbed through the fast path
equals one scrubbed the slow way.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.records import Record
from pipeline.secrets import Secrets

KEY = "sk-proj-" + "A1b2C3d4" * 4
PASSWORD = "hunter2-Passw0rd"
SECRETS = Secrets((KEY, PASSWORD))

# text that is near a secret in every way that matters: pieces of keys, key prefixes,
# separators the patterns care about (white space, '-', '_', NUL, quotes, backslashes)
pieces = st.sampled_from(
    [
        KEY,
        PASSWORD,
        KEY[:12],
        PASSWORD[:7],
        "sk-",
        "Bearer ",
        "Bearer\n",
        "org-",
        "proj_",
        "user-",
        "*****",
        "abcdefghijklmnopqrstuvwxyz0123",
        "-",
        "_",
        "\0",
        "\n",
        '"',
        "\\",
        " ",
        "é",
        "x",
    ]
)
texts = st.lists(pieces, max_size=8).map("".join)
json_like = st.recursive(
    texts | st.integers() | st.none() | st.booleans(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(json_like)
def test_whatever_the_full_scrub_would_change_the_scan_finds(data: Any) -> None:
    if SECRETS.scrub_data(data) != data:
        assert SECRETS.found_in_data(data)


@settings(max_examples=200, deadline=None)
@given(json_like, texts, texts)
def test_a_record_scrubbed_on_either_path_is_the_same(summary: Any, title: str, err: str) -> None:
    record = Record(
        "a", "s", title, "p", "v", "h", "summary.v1", "m", "ok",
        summary={"summary": summary}, error={"message": err},
    )  # fmt: skip
    slow = copy.deepcopy(record)
    for name in ("summary", "error", "checks", "title", "source"):
        value = getattr(slow, name)
        if value is not None:
            setattr(slow, name, SECRETS.scrub_data(value))
    assert SECRETS.scrub_record(record) == slow
    assert KEY not in record.to_json() and PASSWORD not in record.to_json()


def test_a_key_split_across_two_fields_is_neither_missed_nor_a_problem() -> None:
    # the joined scan may see a key across a boundary (NUL between): that only costs the
    # full scrub, which leaves both halves as they are
    data = {"a": KEY[:10], "b": KEY[10:]}
    assert SECRETS.scrub_data(data) == data


@settings(max_examples=400, deadline=None)
@given(texts)
def test_scrub_text_with_its_one_scan_equals_the_six_substitutions(text: str) -> None:
    from pipeline.secrets import _SECRETS, _placeholder, scrub_text

    slow = text
    for secret in SECRETS.values:
        slow = slow.replace(secret, _placeholder(secret))
    for pattern, replacement in _SECRETS:
        slow = pattern.sub(replacement, slow)
    assert scrub_text(text, SECRETS.values) == slow


def test_every_key_pattern_needs_one_of_the_literals_the_quick_check_looks_for() -> None:
    # scrub_text skips its patterns when a text holds none of these literals: a pattern added
    # without its literal would be skipped on every text
    from pipeline.secrets import _SECRET_LITERALS, _SECRETS

    for pattern, _ in _SECRETS:
        assert not pattern.flags & re.IGNORECASE, pattern.pattern
        assert any(lit in pattern.pattern for lit in _SECRET_LITERALS), pattern.pattern
