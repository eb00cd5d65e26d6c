"""Syndicated copies summarised once: near-duplicate detection with MinHash and LSH
(``datasketch``) over word shingles, and the step a driver calls for each article.

Two texts are **the same story** when both hold:

1. the MinHash estimate of the Jaccard similarity of their word :data:`SHINGLE`-grams
   (lower-cased ``\\w+`` words) is at least :data:`THRESHOLD`; and
2. their leads agree: at least :data:`LEAD_MIN` of the word 3-grams of each text's lead (its
   first paragraph, at most :data:`LEAD_WORDS` words; lines under eight words, such as
   bylines and credits, do not count) occur in the other's first :data:`LEAD_WINDOW` words.
   A wire copy keeps the lead (an outlet adds a byline, a line, changes a few words); an
   update that rewrites the lead with new facts ("talks will take place" -> "talks ended
   without agreement") is a new story, even when most of its text is the same;
3. their figures agree: all the numbers of one text (years aside) occur in the other (a copy
   cut short loses figures; a figure changed is news, and two stories written from one
   template, "a budget of 10 million" / "of 11 million", differ both ways).

The values were chosen on measured data (``benchmarks/dedupe.py``: BBC articles, their built
outlet copies, and same-topic different stories, including real updates from the BBC set).

Candidates come from LSH bands (:data:`BANDS` bands of :data:`ROWS` rows: datasketch's
optimum for :data:`CANDIDATE_THRESHOLD`, below the rule's threshold so that copies are not
lost to banding): an in-memory band index for the articles of this run, and the same bands in
the store (``web_lsh``, indexed) for the articles of earlier runs, so a look-up costs a few
indexed queries whatever the store holds. Each candidate is then checked against the rule
above with its signature and lead.

A look-up's work is bounded, whatever the input: texts written from one template (results
tables, market reports, weather) share most bands yet are different stories (their figures
differ), and without a bound each new one would be checked against every earlier one, a run
quadratic in its length. So a bucket keeps its first :data:`BUCKET_CAP` members (later ones
still find them, and still join the other buckets), and only the :data:`CHECK_CAP` candidates
sharing the most bands are checked. A true copy shares most of its bands with its first copy
(at similarity 0.8, 19 of 37 on average), so it ranks above the template's others.

:class:`Dedupe` is the step any driver (live or batch) calls: :meth:`Dedupe.claim` in input
order (the first copy in input order is the one summarised, whatever finishes first),
:meth:`Dedupe.reuse` for the earlier copy's record, :meth:`Dedupe.settle` when a first copy's
record is known (a batch run keeps a copy's wait in the store instead, and makes its record
with :func:`as_copy` when the first copy's answer is collected).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pipeline.articles import Article
from pipeline.records import Record, utc_now
from pipeline.store import Store
from pipeline.store._tx import transaction

#: words per shingle
SHINGLE = 5
#: the least estimated Jaccard similarity of two copies of one story
THRESHOLD = 0.5
#: the lead check (see the module docstring)
LEAD_WORDS, LEAD_WINDOW, LEAD_MIN = 30, 100, 0.5
NUM_PERM = 128
SEED = 1
SCHEME = "affine32"
#: the fingerprint's version: signatures made with other parameters are never compared
VERSION = 1

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"(?:19|20)\d\d")  # not a figure: datelines, copyright lines, "in 2027"


def _optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    from datasketch.lsh import _optimal_param

    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


#: LSH bands are laid for a lower similarity than the rule's, so that a copy just above the
#: threshold is a candidate almost surely (s = 0.5: 99.3 %); every candidate is then checked
CANDIDATE_THRESHOLD = 0.3
BANDS, ROWS = _optimal_bands(CANDIDATE_THRESHOLD, NUM_PERM)
#: members a bucket keeps, and candidates checked per look-up (see the module docstring)
BUCKET_CAP, CHECK_CAP = 64, 16


def _strongest(hits: dict[str, int], order: Any) -> list[str]:
    """The :data:`CHECK_CAP` candidates sharing the most bands, in ``order`` (a sort key)."""
    best = sorted(hits, key=lambda a: (-hits[a], order(a)))[:CHECK_CAP]
    return sorted(best, key=order)


class _Bands:
    """This run's first copies by LSH bucket (band number folded into the bucket's hash):
    a bucket holds one article id, or a list of at most :data:`BUCKET_CAP`."""

    def __init__(self) -> None:
        self._buckets: dict[int, str | list[str]] = {}

    @staticmethod
    def _keys(fp: Fingerprint) -> list[int]:
        return [hash((band, bucket)) for band, bucket in enumerate(fp.buckets())]

    def insert(self, article_id: str, fp: Fingerprint) -> None:
        for key in self._keys(fp):
            held = self._buckets.get(key)
            if held is None:
                self._buckets[key] = article_id
            elif isinstance(held, str):
                self._buckets[key] = [held, article_id]
            elif len(held) < BUCKET_CAP:
                held.append(article_id)

    def remove(self, article_id: str, fp: Fingerprint) -> None:
        for key in self._keys(fp):
            held = self._buckets.get(key)
            if held == article_id:
                del self._buckets[key]
            elif isinstance(held, list) and article_id in held:
                held.remove(article_id)

    def query(self, fp: Fingerprint) -> dict[str, int]:
        """Article id -> how many of ``fp``'s bands it shares."""
        hits: dict[str, int] = {}
        for key in self._keys(fp):
            held = self._buckets.get(key)
            for aid in (held,) if isinstance(held, str) else held or ():
                hits[aid] = hits.get(aid, 0) + 1
        return hits


def _opening(text: str) -> tuple[list[str], int]:
    """The first :data:`LEAD_WINDOW` words of the lines of eight words or more, and how many
    of them are the lead: the first such line (paragraph), at most :data:`LEAD_WORDS`."""
    lines = [line for line in text.split("\n") if len(line.split()) >= 8] or [text]
    window = _WORD.findall(" ".join(lines).lower())[:LEAD_WINDOW]
    lead = min(len(_WORD.findall(lines[0].lower())), LEAD_WORDS, len(window))
    return window, lead


def _trigrams(words: list[str]) -> set[str]:
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))} if words else set()


def lead_agreement(a: Fingerprint, b: Fingerprint) -> float:
    """The smaller of: the share of ``a``'s lead 3-grams found in ``b``'s opening, and back."""

    def share(x: Fingerprint, y: Fingerprint) -> float:
        grams = _trigrams(x.window.split()[: x.lead])
        return len(grams & _trigrams(y.window.split())) / len(grams) if grams else 0.0

    return min(share(a, b), share(b, a))


_PERMUTATIONS: Any = None


def _minhash(hashvalues: Any = None) -> Any:
    global _PERMUTATIONS
    from datasketch import MinHash

    if _PERMUTATIONS is None:
        _PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
    return MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        permutations=_PERMUTATIONS,
        hashvalues=hashvalues,
        scheme=SCHEME,
    )


@dataclass
class Fingerprint:
    """What near-duplicate detection keeps of a text: its MinHash, its opening words and how
    many of them are the lead."""

    minhash: Any
    window: str  # the opening words, joined by spaces (held for a run: one string, not a list)
    lead: int
    numbers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, text: str, *, shingle: int = SHINGLE) -> Fingerprint:
        words = _WORD.findall(text.lower())
        n = shingle
        shingles = {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}
        m = _minhash()
        m.update_batch([s.encode("utf-8") for s in shingles])
        window, lead = _opening(text)
        figures = frozenset(n for n in _NUMBER.findall(text) if not _YEAR.fullmatch(n))
        return cls(m, " ".join(window), lead, figures)

    @classmethod
    def load(cls, signature: bytes, opening: str) -> Fingerprint:
        values = np.frombuffer(signature, dtype=np.uint32).astype(np.uint64)
        data = json.loads(opening or "{}")
        return cls(
            _minhash(values),
            " ".join(str(data.get("window", "")).split()),
            int(data.get("lead", 0)),
            frozenset(data.get("numbers", ())),
        )

    def opening(self) -> str:
        """What the store keeps besides the signature (JSON): the opening words, the lead's
        length and the numbers."""
        return json.dumps(
            {"lead": self.lead, "window": self.window, "numbers": sorted(self.numbers)},
            ensure_ascii=False,
        )

    def figures_agree(self, other: Fingerprint) -> bool:
        return not (self.numbers - other.numbers) or not (other.numbers - self.numbers)

    def signature(self) -> bytes:
        return bytes(np.asarray(self.minhash.hashvalues, dtype=np.uint32).tobytes())

    def buckets(self) -> list[int]:
        """One signed 64-bit hash per LSH band (what ``web_lsh`` indexes)."""
        raw = self.signature()
        width = ROWS * 4
        out = []
        for band in range(BANDS):
            digest = hashlib.blake2b(
                raw[band * width : (band + 1) * width], digest_size=8, salt=b"v%d" % VERSION
            ).digest()
            out.append(int.from_bytes(digest, "big", signed=True))
        return out

    def similarity(self, other: Fingerprint) -> float:
        return float(self.minhash.jaccard(other.minhash))

    def same_story(
        self, other: Fingerprint, *, threshold: float = THRESHOLD, lead_min: float = LEAD_MIN
    ) -> bool:
        return (
            self.similarity(other) >= threshold
            and lead_agreement(self, other) >= lead_min
            and self.figures_agree(other)
        )


# -- the store's index ---------------------------------------------------------------------------


class StoredIndex:
    """Fingerprints of summarised articles, in the store (``web_minhash``, ``web_lsh``)."""

    def __init__(self, store: Store) -> None:
        self._db: sqlite3.Connection = store._db
        self._lock: threading.Lock = store._lock

    def add(self, article_id: str, fp: Fingerprint) -> None:
        with self._lock, transaction(self._db) as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO web_minhash (article_id, signature, added_at, lead,"
                " version, seq) VALUES (?,?,?,?,?,"
                " (SELECT COALESCE(MAX(seq), 0) + 1 FROM web_minhash))",
                (article_id, fp.signature(), utc_now(), fp.opening(), VERSION),
            )
            if cur.rowcount:
                db.executemany(
                    "INSERT OR IGNORE INTO web_lsh (band, bucket, article_id) VALUES (?,?,?)",
                    [(n, b, article_id) for n, b in enumerate(fp.buckets())],
                )

    def add_many(self, rows: Iterable[tuple[str, Fingerprint]]) -> None:
        """Bulk load (benchmarks): one transaction."""
        now = utc_now()
        with self._lock, transaction(self._db) as db:
            seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM web_minhash").fetchone()[0])
            for article_id, fp in rows:
                seq += 1
                db.execute(
                    "INSERT OR IGNORE INTO web_minhash (article_id, signature, added_at,"
                    " lead, version, seq) VALUES (?,?,?,?,?,?)",
                    (article_id, fp.signature(), now, fp.opening(), VERSION, seq),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO web_lsh (band, bucket, article_id) VALUES (?,?,?)",
                    [(n, b, article_id) for n, b in enumerate(fp.buckets())],
                )

    def matches(self, fp: Fingerprint, *, exclude: str | None = None) -> list[str]:
        """Stored articles that are the same story as ``fp``, first added first (of the
        :data:`CHECK_CAP` sharing the most bands, each bucket read to :data:`BUCKET_CAP`)."""
        buckets = fp.buckets()
        with self._lock:
            hits: dict[str, int] = {}
            for band, bucket in enumerate(buckets):
                for (aid,) in self._db.execute(
                    "SELECT article_id FROM web_lsh WHERE band=? AND bucket=? LIMIT ?",
                    (band, bucket, BUCKET_CAP),
                ):
                    hits[aid] = hits.get(aid, 0) + 1
            hits.pop(exclude or "", None)
            if not hits:
                return []
            found = _strongest(hits, order=lambda a: 0)
            marks = ",".join("?" * len(found))
            rows = self._db.execute(
                f"SELECT article_id, signature, lead FROM web_minhash WHERE article_id IN ({marks})"
                " AND version=? ORDER BY seq",
                (*found, VERSION),
            ).fetchall()
        return [aid for aid, sig, lead in rows if fp.same_story(Fingerprint.load(sig, lead))]


# -- the driver's step ---------------------------------------------------------------------------


@dataclass
class Twin:
    """The earlier copy of a story: its article id, and its record (a stored one at once; one
    of this run when that copy's record is settled)."""

    article_id: str
    record: Record | None = None
    pending: asyncio.Future[Record | None] | None = None


@dataclass
class _First:
    fingerprint: Fingerprint
    done: asyncio.Future[Record | None]  # its record, once known (None: it ended without)


@dataclass
class Dedupe:
    """Near-duplicates for one run of one prompt version on one model.

    ``key(article_id)`` is the store's cache key of an article for this prompt and model;
    ``run_id`` the run's; ``stored`` False keeps to this run (``--force``).

    Only first copies still being summarised are held in memory (at most the engine's
    read-ahead window). A settled one leaves memory: an ok one is in the store's index by
    then (:meth:`settle`), where later copies find it as they find earlier runs' articles; a
    failed one is no one's twin. So a long run's memory stays flat.
    """

    store: Store
    key: Any  # Callable[[str], str]
    run_id: int
    stored: bool = True
    _index: _Bands = field(default_factory=_Bands)
    _firsts: dict[str, _First] = field(default_factory=dict)
    _order: dict[str, int] = field(default_factory=dict)  # article id -> registration order
    _fingerprints: dict[str, Fingerprint] = field(default_factory=dict)
    _registered: int = 0  # first copies registered so far (their order)

    def __post_init__(self) -> None:
        self._stored = StoredIndex(self.store)

    def fingerprint(self, article: Article) -> Fingerprint:
        fp = self._fingerprints.get(article.id)
        if fp is None:
            fp = Fingerprint.of(article.text)
            self._fingerprints[article.id] = fp
        return fp

    def stored_twin(self, article: Article) -> Twin | None:
        """An article in the store's index (summarised in an earlier run with this prompt and
        model, or earlier in this one) that is the same story as ``article``: the first one
        stored."""
        for aid in self._stored.matches(self.fingerprint(article), exclude=article.id):
            record = self._ok_record(aid)
            if record is not None and record.duplicate_of is None:
                return Twin(aid, record=record)
        return None

    def _ok_record(self, article_id: str) -> Record | None:
        """The newest ok record of ``article_id`` for this prompt and model: of this run or
        an earlier one (``stored``), or of this run only."""
        return _ok_result(
            self.store, self.key(article_id), self.run_id, "<=" if self.stored else "="
        )

    def claim(self, article: Article) -> Twin | None:
        """Call in input order, before ``article`` is summarised. None: summarise it (it is a
        first copy, registered so later copies wait for it); else the earlier copy."""
        if article.id in self._firsts:  # the very same text again: the store serves it
            return None
        if self.stored and _ok_result(self.store, self.key(article.id), self.run_id, "<"):
            self._register(article)  # summarised before: not a copy, and copies may follow
            return None
        fp = self.fingerprint(article)
        hits = self._index.query(fp)
        hits.pop(article.id, None)
        for aid in _strongest(hits, order=self._order.__getitem__) if hits else ():
            first = self._firsts[aid]
            if fp.same_story(first.fingerprint):
                self._fingerprints.pop(article.id, None)  # a copy's is not needed again
                return Twin(aid, pending=first.done)
        twin = self.stored_twin(article)
        if twin is not None:
            return twin
        self._register(article)
        return None

    def _register(self, article: Article) -> None:
        fp = self.fingerprint(article)
        self._firsts[article.id] = _First(fp, asyncio.get_running_loop().create_future())
        self._order[article.id] = self._registered
        self._registered += 1
        self._index.insert(article.id, fp)

    async def reuse(self, twin: Twin, article: Article) -> Record | None:
        """``article``'s record as a copy of ``twin`` (no model call), or None when the earlier
        copy failed (then ``article`` is summarised itself)."""
        first = twin.record
        if first is None and twin.pending is not None:
            first = await asyncio.shield(twin.pending)
        if first is None or first.status != "ok":
            return None
        return as_copy(first, article, twin.article_id)

    def remember(self, article: Article) -> None:
        """A first copy sent in a batch joins the store's index now, not when its record is
        known: that record may be collected by another process (``summarise batch collect``),
        which has no run of its own to settle. The index serves only articles with an ok
        result (:meth:`stored_twin`), so a first copy that fails is never anyone's twin."""
        with contextlib.suppress(sqlite3.Error):  # as in settle: a broken store stops the run
            self._stored.add(article.id, self.fingerprint(article))

    def settle(self, article: Article, record: Record | None) -> None:
        """A first copy's record is known (None: it ended without one). Copies waiting for it
        go on; a summarised article joins the store's index, and the first copy leaves
        memory (later copies find it in the index)."""
        first = self._firsts.pop(article.id, None)
        fp = self._fingerprints.pop(article.id, None) or (first and first.fingerprint)
        if first is not None:
            if not first.done.done():
                first.done.set_result(record)
            self._index.remove(article.id, first.fingerprint)
            self._order.pop(article.id, None)
        if record is not None and record.status == "ok" and record.duplicate_of is None:
            # the record is stored already; without its fingerprint a later copy is only
            # summarised again. A full or broken store stops the run at the next result.
            with contextlib.suppress(sqlite3.Error):
                self._stored.add(article.id, fp or Fingerprint.of(article.text))


def as_copy(first: Record, article: Article, first_id: str) -> Record:
    """``article``'s record as a later copy of ``first_id``, whose ok record is ``first``: the
    same summary, with ``duplicate_of`` set, no model call (no attempts, tokens or cost) and the
    copy's own source and metadata. Live and batch runs make copies with this alone."""
    return replace(
        first,
        article_id=article.id,
        source=article.source,
        title=article.title,
        url=article.url,
        published=article.date,
        author=article.author,
        site_name=article.site_name,
        duplicate_of=first_id,
        attempts=0,
        usage={"prompt_tokens": 0, "completion_tokens": 0},
        cost_usd=0.0,
        latency_ms=0,
        cached=False,
        created_at=utc_now(),
    )


def _ok_result(store: Store, key: str, run_id: int, runs: str) -> Record | None:
    """The newest ok result for ``key`` from the runs whose id is ``runs`` (``<``, ``<=`` or
    ``=``) ``run_id``."""
    assert runs in ("<", "<=", "=")
    with store._lock:
        row = store._db.execute(
            f"SELECT record FROM results WHERE cache_key=? AND status='ok' AND run_id{runs}?"
            " ORDER BY id DESC LIMIT 1",
            (key, run_id),
        ).fetchone()
    return Record.from_dict(json.loads(row[0])) if row else None
