"""How one article's summary changed between two versions: the word diff, figures,
entities and quotes added or lost, figures re-attributed, and a change score."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pipeline.compare._metrics import METRIC_BY_KEY, _list, _str, _summary
from pipeline.compare._references import _norm
from pipeline.compare._results import ArticleChange, DiffSegment


def word_diff(a: str, b: str) -> tuple[list[DiffSegment], float]:
    """Word-level diff of ``a`` to ``b`` (difflib) and the similarity ratio (0..1)."""
    wa, wb = a.split(), b.split()
    sm = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    out: list[DiffSegment] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out.append(DiffSegment("equal", " ".join(wa[i1:i2])))
            continue
        if i2 > i1:
            out.append(DiffSegment("delete", " ".join(wa[i1:i2])))
        if j2 > j1:
            out.append(DiffSegment("insert", " ".join(wb[j1:j2])))
    return out, sm.ratio()


def _added_lost(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    def key(s: str) -> str:
        return _norm(s.strip(" \"'“”‘’").lower())

    ka, kb = {key(x) for x in a}, {key(x) for x in b}
    added = list(dict.fromkeys(x for x in b if key(x) not in ka))
    lost = list(dict.fromkeys(x for x in a if key(x) not in kb))
    return added, lost


def _field(summary: Mapping[str, Any] | None, key: str, sub: str) -> list[str]:
    return [
        str(item[sub]) for item in _list(summary, key) if isinstance(item, dict) and item.get(sub)
    ]


def _reattributed(sa: Mapping[str, Any] | None, sb: Mapping[str, Any] | None) -> list[str]:
    def sources(summary: Mapping[str, Any] | None) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for f in _list(summary, "figures"):
            if isinstance(f, dict) and isinstance(f.get("value"), str):
                out.setdefault(_norm(f["value"].lower()), _str(f.get("source")) or None)
        return out

    a_src, b_src = sources(sa), sources(sb)
    shown = {_norm(str(f["value"]).lower()): str(f["value"]) for f in _list(sb, "figures")
             if isinstance(f, dict) and f.get("value")}  # fmt: skip
    return [
        f"{shown.get(k, k)}: {a_src[k] or 'unattributed'} \u2192 {b_src[k] or 'unattributed'}"
        for k in b_src
        if k in a_src and _norm((a_src[k] or "").lower()) != _norm((b_src[k] or "").lower())
    ]


def _error_kind(record: Mapping[str, Any]) -> str | None:
    err = record.get("error")
    return str(err.get("kind")) if isinstance(err, dict) and err.get("kind") else None


def article_change(
    index: int,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    va: Mapping[str, float | None],
    vb: Mapping[str, float | None],
    *,
    baseline: str,
    candidate: str,
) -> ArticleChange:
    """How record ``b`` (candidate) differs from record ``a`` (baseline) for one input."""
    sa, sb = _summary(a), _summary(b)
    ta = _str(sa.get("summary")) if sa else None
    tb = _str(sb.get("summary")) if sb else None
    segments: list[DiffSegment] = []
    similarity: float | None = None
    if ta is not None and tb is not None:  # a diff against a failure says nothing
        segments, similarity = word_diff(ta, tb)
    fig_add, fig_lost = _added_lost(_field(sa, "figures", "value"), _field(sb, "figures", "value"))
    ent_add, ent_lost = _added_lost(_field(sa, "entities", "name"), _field(sb, "entities", "name"))
    q_add, q_lost = _added_lost(_field(sa, "quotes", "text"), _field(sb, "quotes", "text"))
    deltas = {
        k: (vb[k] - va[k]) if va.get(k) is not None and vb.get(k) is not None else None  # type: ignore[operator]
        for k in METRIC_BY_KEY
    }
    status_a, status_b = str(a.get("status")), str(b.get("status"))
    reattributed = _reattributed(sa, sb)
    n_fields = sum(map(len, (fig_add, fig_lost, ent_add, ent_lost, q_add, q_lost, reattributed)))
    headline_a = _str(sa.get("headline")) if sa else None
    headline_b = _str(sb.get("headline")) if sb else None
    fields_changed = (
        [k for k in dict.fromkeys([*sa, *sb]) if sa.get(k) != sb.get(k)] if sa and sb else []
    )
    changed = status_a != status_b or bool(fields_changed) or _error_kind(a) != _error_kind(b)
    score = (10.0 if status_a != status_b else 0.0) + (
        (1 - similarity) if similarity is not None else 0.0
    )
    score += abs(deltas["faithfulness"] or 0.0) + 0.05 * n_fields + 0.01 * len(fields_changed)
    return ArticleChange(
        index=index,
        article_id=_str(b.get("article_id")) or _str(a.get("article_id")),
        source=_str(b.get("source")) or _str(a.get("source")),
        title=_str(b.get("title")) or _str(a.get("title")),
        baseline=baseline,
        candidate=candidate,
        status_a=status_a,
        status_b=status_b,
        error_a=_error_kind(a),
        error_b=_error_kind(b),
        headline_a=headline_a,
        headline_b=headline_b,
        summary_a=ta,
        summary_b=tb,
        diff=segments,
        similarity=similarity,
        figures_added=fig_add,
        figures_lost=fig_lost,
        entities_added=ent_add,
        entities_lost=ent_lost,
        quotes_added=q_add,
        quotes_lost=q_lost,
        figures_reattributed=reattributed,
        fields_changed=fields_changed,
        deltas=deltas,
        changed=changed,
        change_score=round(score, 6),
    )
