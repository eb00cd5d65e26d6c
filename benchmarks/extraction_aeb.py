"""Main-text extraction on Zyte's (Scrapinghub's) article extraction benchmark: 181 real news
and blog pages from 181 sites, the hold-out issue #12 names, none of which the extraction
code was developed on. Ours (what ``summarise run page.html`` does) against trafilatura alone,
side by side.

    git clone https://github.com/scrapinghub/article-extraction-benchmark aeb
    git -C aeb checkout 4a3bc979f76c0df73cb95fe272e2fc1b96f9f010
    python -m benchmarks.extraction_aeb --aeb aeb [--bootstrap 1000] [--html-news DIR]

The pages (``html/<id>.html.gz``) and their truth (``ground-truth.json``, each page's
``articleBody``, annotated by people) are the benchmark's, MIT-licensed, © 2020 Scrapinghub;
they are not in this repository. The script refuses a clone whose truth or pages differ from
the commit above (SHA-256 of ``ground-truth.json`` and of every page's bytes, folded into one
digest). ``--html-news DIR`` also checks that no page is among the html-news set the rules were
chosen on (by SHA-256 of the page bytes and by URL): at that commit none is.

**Scoring** is the benchmark's own ``evaluate.py`` rule, the same as the html-news set's (see
:mod:`benchmarks.extraction_holdout`): 4-token shingles of ``\\w+`` tokens counted with
multiplicity, per-page precision and recall, each averaged over the pages where it is
defined, F1 of the two means; ± is the bootstrap standard deviation over page resamplings.

Extractors: **ours** is :func:`benchmarks.extraction_holdout.ours` (the page's raw bytes
through :func:`pipeline.articles.load_article_text`); **trafilatura as the benchmark runs
it** is ``trafilatura.extract(page decoded as UTF-8, include_comments=False)``, the call in
the benchmark's ``extractors/run_trafilatura.py``; the benchmark's README publishes 0.958 for
trafilatura 2.0.0 with that call.

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
import sys
from pathlib import Path
from typing import Any

from benchmarks.extraction_holdout import PR, Extractor, _cell, aggregate, f1, ours, page_pr

COMMIT = "4a3bc979f76c0df73cb95fe272e2fc1b96f9f010"
TRUTH_SHA256 = "512e9a9498912047a966e22f47302e849dfa45dca1f555d97588317dac7e5a3d"
PAGES_DIGEST = "918111797e8865d4052e5b639f204d2c71c2765ba83efd3fb443fb11f31122e0"


def trafilatura_as_run(raw: bytes) -> str | None:
    import trafilatura

    result = trafilatura.extract(raw.decode("utf-8", "replace"), include_comments=False)
    return result if isinstance(result, str) else None


EXTRACTORS: list[tuple[str, Extractor]] = [
    ("trafilatura as the benchmark runs it", trafilatura_as_run),
    ("**ours** (`summarise run page.html`)", ours),
]


def pages_digest(pages: dict[str, bytes]) -> str:
    """One SHA-256 over every page's id and the SHA-256 of its bytes, in id order."""
    h = hashlib.sha256()
    for key in sorted(pages):
        h.update(f"{key} {hashlib.sha256(pages[key]).hexdigest()}\n".encode())
    return h.hexdigest()


def load(root: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The truth and the raw page bytes of a clone at :data:`COMMIT`, or ValueError."""
    truth_file = root / "ground-truth.json"
    if hashlib.sha256(truth_file.read_bytes()).hexdigest() != TRUTH_SHA256:
        raise ValueError(f"{truth_file} is not the commit's; check out {COMMIT} in {root}")
    truth: dict[str, Any] = json.loads(truth_file.read_text(encoding="utf-8"))
    pages = {key: gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()) for key in truth}
    if pages_digest(pages) != PAGES_DIGEST:
        raise ValueError(f"the pages in {root / 'html'} are not the commit's; check out {COMMIT}")
    return truth, pages


def html_news_overlap(pages: dict[str, bytes], truth: dict[str, Any], html_news: Path) -> int:
    """How many pages are in the html-news set (same bytes or same URL)."""
    shas, urls = set(), set()
    with (html_news / "truth.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            shas.add(row["html_sha256"])
            if row.get("url"):
                urls.add(row["url"])
    return sum(
        hashlib.sha256(raw).hexdigest() in shas or truth[key].get("url") in urls
        for key, raw in pages.items()
    )


def paired_difference(
    ours_: list[PR], theirs: list[PR], n: int, seed: int = 0
) -> tuple[float, float]:
    """F1(ours) - F1(theirs) over the same page resamplings: (mean, standard deviation)."""
    rng = random.Random(seed)
    diffs = []
    for _ in range(n):
        idx = [rng.randrange(len(ours_)) for _ in ours_]
        diffs.append(aggregate([ours_[i] for i in idx])[2] - aggregate([theirs[i] for i in idx])[2])
    mean = sum(diffs) / len(diffs)
    return mean, (sum((d - mean) ** 2 for d in diffs) / max(1, len(diffs) - 1)) ** 0.5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--aeb", type=Path, required=True, help=f"a clone at commit {COMMIT}")
    ap.add_argument("--bootstrap", type=int, default=1000, metavar="N")
    ap.add_argument("--html-news", type=Path, metavar="DIR", help="check no page is in this set")
    ap.add_argument("--per-page", type=Path, metavar="OUT", help="per-page scores, JSON lines")
    args = ap.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.ERROR)

    truth, pages = load(args.aeb)
    if args.html_news:
        print(f"pages also in the html-news set: {html_news_overlap(pages, truth, args.html_news)}")
    scores: dict[str, dict[str, PR]] = {name: {} for name, _ in EXTRACTORS}
    for key, raw in pages.items():
        for name, extract in EXTRACTORS:
            scores[name][key] = page_pr(truth[key].get("articleBody") or "", extract(raw))

    print(
        f"{len(pages)} pages; P / R / F1 (4-token shingles), "
        f"± = bootstrap SD over {args.bootstrap} resamplings\n"
    )
    print("| extractor | P / R / F1 |")
    print("| --- | ---: |")
    for name, _ in EXTRACTORS:
        print(f"| {name} | {_cell(list(scores[name].values()), args.bootstrap)} |")
    page_f1 = {
        name: {k: f1(*(x or 0.0 for x in pr)) for k, pr in by.items()}
        for name, by in scores.items()
    }
    theirs, mine = (page_f1[name] for name, _ in EXTRACTORS)
    wins = sum(mine[k] > theirs[k] + 1e-9 for k in pages)
    losses = sum(mine[k] < theirs[k] - 1e-9 for k in pages)
    print(
        f"\npage F1, ours against trafilatura: better on {wins}, worse on {losses}, "
        f"level on {len(pages) - wins - losses}"
    )
    worst = sorted(pages, key=lambda k: mine[k])[:5]
    if args.bootstrap:
        keys = sorted(pages)
        (a, _), (b, _) = EXTRACTORS
        mean, sd = paired_difference(
            [scores[b][k] for k in keys], [scores[a][k] for k in keys], args.bootstrap
        )
        print(
            f"F1, ours minus trafilatura, paired over the same resamplings: {mean:+.3f} ± {sd:.3f}"
        )
    print("ours, worst pages: " + ", ".join(f"{truth[k]['url']} {mine[k]:.3f}" for k in worst))
    if args.per_page:
        with args.per_page.open("w", encoding="utf-8") as out:
            for key in sorted(pages):
                rec: dict[str, Any] = {"id": key, "url": truth[key].get("url")}
                rec.update({name: scores[name][key] for name, _ in EXTRACTORS})
                out.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
