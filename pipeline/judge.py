"""An LLM judge: G-Eval style scores of summaries against their sources, through the pipeline.

``summarise judge FILE`` reads JSONL lines holding ``source`` (the article text) and
``summary`` (a string or a summary object), renders the ``judge`` prompt (source in
``<article>``, summary in ``<summary>``), sends it through the same engine as ``run``
(one retry layer, re-asks on schema failures, structured-output fallbacks) and writes each
line back, every field kept, with ``judgement`` (valid against ``schemas/judgement.v1.json``)
or ``judge_error``.

It needs a real model to mean anything. The built-in offline model answers the judge schema
with its lexical faithfulness scorer mapped onto consistency (1-5) and a null score for the
criteria it cannot judge (``judgement.v2``; under ``judge@v1``, whose schema has no null, it
refuses rather than invent a score), and says so in every reason: plumbing, not judgement.
The judge has not been validated against human scores here, because no model is reachable
from this project's machines; its plumbing is tested with cassettes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import IO, Any

from pipeline.articles import Article
from pipeline.engine import Summariser
from pipeline.runner import RunOptions, cassette_context, endpoint_for


def summary_as_text(summary: Any) -> str:
    if isinstance(summary, str):
        return summary
    if isinstance(summary, dict):
        parts = [str(summary.get("headline") or ""), str(summary.get("summary") or "")]
        points = summary.get("key_points") or []
        if isinstance(points, list) and points:
            parts.append("\n".join(f"- {p}" for p in points))
        return "\n\n".join(p for p in parts if p)
    raise ValueError("summary must be a string or a summary object")


def judge_jsonl(inp: Iterable[str], out: IO[str], options: RunOptions) -> tuple[int, int]:
    """Judge every line of ``inp`` and write it back to ``out``; returns (judged, failed)."""
    from pipeline.prompts import check_command, load_prompt

    prompt = load_prompt(options.prompt)
    check_command(prompt, "judge")
    endpoint = endpoint_for(options)
    settings = replace(options.settings, check_faithfulness=False)
    lines: list[dict[str, Any]] = []
    jobs: list[tuple[int, Article, str]] = []
    for n, raw in enumerate(inp, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            if not isinstance(row, dict):
                raise ValueError("the line is not a JSON object")
            source = row.get("source")
            if not isinstance(source, str) or not source.strip():
                raise ValueError("no `source` text (the article the summary was made from)")
            text = summary_as_text(row.get("summary"))
            if not text.strip():
                raise ValueError("no `summary`")
        except ValueError as exc:
            lines.append(
                {
                    "line": n,
                    "raw": raw.rstrip("\n"),
                    "judge_error": f"line {n}: {exc}; fix or remove the line",
                }
            )
            continue
        digest = hashlib.sha256((source + "\x00" + text).encode()).hexdigest()[:16]
        title = row.get("title") if isinstance(row.get("title"), str) else None
        article = Article(id=digest, source=f"line {n}", text=source, title=title)
        jobs.append((len(lines), article, text))
        lines.append(row)

    async def go() -> list[tuple[int, dict[str, Any]]]:
        summariser = Summariser(prompt, endpoint, settings=settings)
        sem = asyncio.Semaphore(settings.concurrency)

        async def one(index: int, article: Article, text: str) -> tuple[int, dict[str, Any]]:
            async with sem:
                record, _ = await summariser.summarise(article, variables={"summary": text})
            if record.status == "ok":
                return index, {
                    "judgement": record.summary,
                    "judge_model": record.model,
                    "judge_prompt": prompt.ref,
                }
            return index, {"judge_error": record.error, "judge_model": record.model}

        try:
            return await asyncio.gather(*(one(i, a, t) for i, a, t in jobs))
        finally:
            await summariser.client.close()

    cm = cassette_context(options)
    with cm:
        results = asyncio.run(go()) if jobs else []
    failed = sum(1 for row in lines if "judge_error" in row)
    for index, extra in results:
        lines[index] = {**lines[index], **extra}
        failed += "judge_error" in extra
    for row in lines:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(lines) - failed, failed
