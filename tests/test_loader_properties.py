"""Property tests of the loader (Hypothesis): whatever the bytes, in a file name, a JSONL
line or a folder of files, loading never raises and yields exactly one item per input item,
in order (issue 11, "going further"). ``python -m benchmarks.fuzz_loader`` runs the same
properties with many more examples.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.articles import Article, BadInput, iter_articles, load_article_text
from pipeline.articles._decode import _looks_binary

#: benchmarks/fuzz_loader.py raises this to run many more examples of the same properties
SCALE = float(os.environ.get("SUMMARISE_FUZZ_SCALE", "1"))

# -- strategies ----------------------------------------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_HOSTILE_LINES = st.sampled_from(
    [
        b'{"text": "Rain \\ud83d fell."}',
        b'{"text": "x", "n": ' + b"9" * 5000 + b"}",
        b'{"text": "x", "d": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"text": "ok \\u0000 nul"}',
        b"\xff\xfe\x00{",
        b'{"text": "\xe9t\xe9"}',
        b"   ",
        b"\r",
        b"\x1c\x1d",
    ]
)
LINES = st.one_of(
    st.builds(
        lambda t, extra: json.dumps({"text": t, **extra}).encode(),
        st.text(),
        st.dictionaries(st.sampled_from(["title", "url", "date", "id"]), _JSON_VALUES, max_size=2),
    ),
    _JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    _HOSTILE_LINES,
).map(lambda b: b.replace(b"\n", b" "))

NAME = st.binary(min_size=1, max_size=40).map(
    lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_").lstrip(b".") or b"x"
)
EXTENSION = st.sampled_from([b".txt", b".md", b".json", b".jsonl", b".html", b".xyz"])


def expected_jsonl_items(data: bytes) -> int:
    """How many items a JSONL file of these bytes gives: one per line that is not blank, or
    one for the whole file when it is binary or holds no line at all."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return -1  # UTF-16: not counted by this oracle
    if _looks_binary(data[:8192]):
        return 1
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts = parts[:-1]  # nothing after the last newline
    count = 0
    for number, raw in enumerate(parts, 1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            count += 1
            continue
        if text.strip():
            count += 1
    return count or 1


# -- properties ------------------------------------------------------------------------------------


@settings(
    max_examples=int(1500 * SCALE), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(LINES, max_size=8), st.booleans())
@example([b"\xfe\xff\x00\x00"], True)  # UTF-16 with a stray last byte: found by Hypothesis
def test_any_jsonl_gives_one_item_per_line_in_order(
    lines: list[bytes], newline_at_end: bool
) -> None:
    data = b"\n".join(lines) + (b"\n" if newline_at_end and lines else b"")
    items = list(load_article_text("in.jsonl", data, suffix=".jsonl"))
    expected = expected_jsonl_items(data)
    if expected >= 0:
        assert len(items) == expected, (data, items)
    assert all(isinstance(i, Article | BadInput) for i in items)
    numbers = [int(i.source.rsplit(":", 1)[1]) for i in items if i.source.startswith("in.jsonl:")]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    for item in items:
        item.source.encode("utf-8")  # every later stage can store and print it
        if isinstance(item, Article):
            item.text.encode("utf-8")
            (item.title or "").encode("utf-8")


@settings(
    max_examples=int(150 * SCALE), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.tuples(NAME, EXTENSION, st.binary(max_size=200)), max_size=6))
def test_any_folder_gives_items_for_every_file_in_sorted_order(
    files: list[tuple[bytes, bytes, bytes]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = os.fsencode(tmp)
        written: dict[bytes, bytes] = {}
        for name, ext, content in files:
            path = os.path.join(root, name[:200] + ext)
            with open(path, "wb") as f:
                f.write(content)
            written[os.path.basename(path)] = content
        items = list(iter_articles([Path(tmp)]))
        read = sorted(
            (
                n
                for n in written
                if not n.startswith(b".")
                and os.path.splitext(n)[1].lower()
                in {b".txt", b".md", b".json", b".jsonl", b".html"}
            ),
            key=lambda n: os.fsdecode(n),
        )
        shown = [
            os.fsencode(tmp).decode() + "/" + n.decode("utf-8", "backslashreplace") for n in read
        ]
        # every item names its file; files appear in sorted order, each at least once
        owners = []
        for item in items:
            item.source.encode("utf-8")
            owner = next(
                s
                for s in shown
                if item.source == s
                or item.source.startswith(s + ":")
                or item.source.startswith(s + "#")
            )
            if not owners or owners[-1] != owner:
                owners.append(owner)
        assert owners == shown
        for name in read:
            if name.lower().endswith((b".txt", b".md", b".html")):
                mine = [i for i in items if i.source == shown[read.index(name)]]
                assert len(mine) == 1
