"""Main-text extraction on a hold-out of real news pages the extraction code was not developed
on: ours (what ``summarise run page.html`` does) against trafilatura alone, side by side.

    git clone https://github.com/Murrough-Foley/web-content-extraction-benchmark wcxb
    git -C wcxb checkout c039d5ee9f5a3a984a0e167e63aacd04e76e78a9
    git clone https://github.com/immortal-autumn/Chinese-Web-Content-Extraction-Dataset zh
    git -C zh checkout 99d0ef08419109b5489b12e38f771f25b952d774
    python -m benchmarks.extraction_holdout --wcxb wcxb --zh zh [--bootstrap 1000] [--per-page OUT]

The pages are publishers' and are not in this repository: ``extraction_holdout_manifest.jsonl``
(beside this file) names each one (source, path and commit, URL, the SHA-256 of its bytes,
licence), and the script reads it from the two clones, refusing a page whose bytes differ.

**The pages** (none is among the 62 full-text or 134 snippet pages of the html-news set the
extraction rules were chosen on, checked by URL and by SHA-256 of the HTML bytes; WCXB's
dev and test folders hold some pages twice, and those twins were checked too):

- ``news`` tier, the headline: 22 news articles. 11 from WCXB (reporting, features and
  opinion from news and magazine publishers: NPR, TODAY, Travel + Leisure, POPSUGAR, XDA,
  Utne, SecurityInfoWatch, Gardenista, Field Mag, The Public Domain Review, Abduzeedo); these
  are all the WCXB news articles the html-news set did not already take. 11 from the Chinese
  hand-copied set (Sohu, NetEase, Yahoo China, Henan Daily), the news pages of that set the
  html-news set left out; their sites are in the html-news set (it took at most 2 pages a
  site), so they are other pages of known layouts, not unknown sites.
- ``publisher-list`` tier, reported apart: 47 WCXB pages from news and magazine publishers
  that are lists, buying guides and how-tos (NYT Wirecutter, PCWorld, IGN, Book Riot, ...):
  real publishers' layouts, but not the articles the goal is about.

Truth: WCXB's ``ground_truth.main_content`` verbatim (drafted by a language model, then
reviewed by people, per WCXB's README); the Chinese set's ``cleaned/<id>.txt`` stripped (one
person copied each page's text by hand, title, date and author left out).

**Scoring** is the html-news set's rule (its ``score.py``, copied here as
:func:`shingles` ... :func:`bootstrap`): tokens are maximal runs of ``\\w``, case kept; every
window of 4 tokens is a shingle, counted with multiplicity; per page, precision = matched /
prediction shingles and recall = matched / truth shingles; P is the mean over pages with a
non-empty prediction, R over pages with a non-empty truth; F1 = 2PR/(P+R) of the means;
``±`` is the standard deviation over ``--bootstrap`` resamplings of the pages.

Extractors: **ours** is :func:`pipeline.articles.load_article_text` on the page's raw bytes
with suffix ``.html``, the code path ``summarise run page.html`` takes; **trafilatura
alone** is ``trafilatura.extract(raw_bytes)`` with every option at its default.

Do not tune the extraction on these pages: they stop being a hold-out the moment a rule is
chosen by looking at them.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).resolve().parent / "extraction_holdout_manifest.jsonl"
Extractor = Callable[[bytes], str | None]

# -- the scoring rule (copied from the html-news set's score.py) ------------------------------

WORD = re.compile(r"\w+")
N = 4
PR = tuple[float | None, float | None]


def shingles(text: str | None) -> Counter[tuple[str, ...]]:
    toks = WORD.findall(text or "")
    if not toks:
        return Counter()
    if len(toks) < N:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i : i + N]) for i in range(len(toks) - N + 1))


def page_pr(truth: str | None, pred: str | None) -> PR:
    """(precision, recall) for one page; None where the page does not enter that average."""
    t, p = shingles(truth), shingles(pred)
    nt, np_ = sum(t.values()), sum(p.values())
    matched = sum((t & p).values())
    return (matched / np_ if np_ else None), (matched / nt if nt else None)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def aggregate(prs: list[PR]) -> tuple[float, float, float]:
    p = _mean([x for x, _ in prs if x is not None])
    r = _mean([y for _, y in prs if y is not None])
    return p, r, f1(p, r)


def bootstrap(prs: list[PR], n: int, seed: int = 0) -> tuple[float, float, float]:
    """Standard deviation of P, R, F1 when pages are resampled with replacement."""
    rng = random.Random(seed)
    ps, rs, fs = [], [], []
    for _ in range(n):
        p, r, f = aggregate([prs[rng.randrange(len(prs))] for _ in prs])
        ps.append(p)
        rs.append(r)
        fs.append(f)

    def sd(xs: list[float]) -> float:
        m = _mean(xs)
        return float((sum((x - m) ** 2 for x in xs) / max(1, len(xs) - 1)) ** 0.5)

    return sd(ps), sd(rs), sd(fs)


# -- pages and truth ---------------------------------------------------------------------------


def load_manifest(path: Path = MANIFEST) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_page(row: dict[str, Any], roots: dict[str, Path]) -> tuple[bytes, str]:
    """The page's raw bytes and its truth text, from the clone of its source repository."""
    root = roots[row["source"]]
    data = (root / row["html"]).read_bytes()
    raw = gzip.decompress(data) if row["html"].endswith(".gz") else data
    if hashlib.sha256(raw).hexdigest() != row["html_sha256"]:
        raise ValueError(
            f"{row['id']}: {root / row['html']} is not the page the manifest names (SHA-256 "
            f"differs); check out commit {row['commit']} of {row['repo']}"
        )
    truth_file = root / row["truth"]
    if row["source"] == "wcxb":
        truth = json.loads(truth_file.read_text(encoding="utf-8"))["ground_truth"]["main_content"]
    else:
        truth = truth_file.read_text(encoding="utf-8").strip()
    return raw, str(truth)


# -- the extractors ----------------------------------------------------------------------------


def ours(raw: bytes) -> str | None:
    """What ``summarise run page.html`` reads from the page's bytes."""
    from pipeline.articles import Article, load_article_text

    items = list(load_article_text("page.html", raw, suffix=".html"))
    return items[0].text if items and isinstance(items[0], Article) else None


def trafilatura_alone(raw: bytes) -> str | None:
    import trafilatura

    result = trafilatura.extract(raw)
    return result if isinstance(result, str) else None


EXTRACTORS: list[tuple[str, Extractor]] = [
    ("trafilatura alone (defaults, raw bytes)", trafilatura_alone),
    ("**ours** (`summarise run page.html`)", ours),
]

SUBSETS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("**news, all**", lambda r: r["tier"] == "news"),
    ("news, WCXB (English)", lambda r: r["tier"] == "news" and r["source"] == "wcxb"),
    ("news, Chinese hand-copied", lambda r: r["tier"] == "news" and r["source"] != "wcxb"),
    ("publisher lists and guides (WCXB)", lambda r: r["tier"] == "publisher-list"),
    ("everything", lambda r: True),
]


def _cell(prs: list[PR], n_boot: int) -> str:
    p, r, f = aggregate(prs)
    if not n_boot:
        return f"{p:.3f} / {r:.3f} / **{f:.3f}**"
    _, _, sf = bootstrap(prs, n_boot)
    return f"{p:.3f} / {r:.3f} / **{f:.3f}** ± {sf:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--wcxb", type=Path, required=True, help="a clone of WCXB at the commit")
    ap.add_argument("--zh", type=Path, required=True, help="a clone of the Chinese set")
    ap.add_argument("--manifest", type=Path, default=MANIFEST)
    ap.add_argument("--bootstrap", type=int, default=1000, metavar="N")
    ap.add_argument("--per-page", type=Path, metavar="OUT", help="per-page scores, JSON lines")
    args = ap.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.ERROR)

    rows = load_manifest(args.manifest)
    roots = {"wcxb": args.wcxb, "zh-handcopied": args.zh}
    pages = [(row, *read_page(row, roots)) for row in rows]
    scores: dict[str, dict[str, PR]] = {name: {} for name, _ in EXTRACTORS}
    for row, raw, truth in pages:
        for name, extract in EXTRACTORS:
            scores[name][row["id"]] = page_pr(truth, extract(raw))

    print(
        f"{len(pages)} pages ({sum(r['tier'] == 'news' for r in rows)} news articles); "
        f"P / R / F1 (4-token shingles), ± = bootstrap SD over {args.bootstrap} resamplings\n"
    )
    header = "| pages | n | " + " | ".join(name for name, _ in EXTRACTORS) + " |"
    print(header)
    print("| --- | ---: | " + " | ".join("---:" for _ in EXTRACTORS) + " |")
    for label, keep in SUBSETS:
        chosen = [r["id"] for r in rows if keep(r)]
        cells = [_cell([scores[name][i] for i in chosen], args.bootstrap) for name, _ in EXTRACTORS]
        print(f"| {label} | {len(chosen)} | " + " | ".join(cells) + " |")
    news = [r["id"] for r in rows if r["tier"] == "news"]
    wins = sum(
        f1(*(x or 0.0 for x in scores[EXTRACTORS[1][0]][i]))
        > f1(*(x or 0.0 for x in scores[EXTRACTORS[0][0]][i]))
        for i in news
    )
    print(f"\nnews articles where ours beats trafilatura alone on page F1: {wins} of {len(news)}")
    if args.per_page:
        with args.per_page.open("w", encoding="utf-8") as out:
            for row in rows:
                rec: dict[str, Any] = {k: row[k] for k in ("id", "tier", "source", "site", "url")}
                for name, _ in EXTRACTORS:
                    rec[name] = scores[name][row["id"]]
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
