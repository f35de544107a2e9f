"""Eval reports: a rich table for the terminal and a self-contained HTML page per run."""

from __future__ import annotations

from html import escape
from typing import Any

from rich.table import Table

from ..highlight import Highlight, highlight_html
from ..schema import SECTIONS, ArticleSummary
from .dataset import Sample
from .scoring import FIELD_SCORERS, score_section


def _prf(d: dict[str, Any]) -> tuple[str, str, str]:
    return f"{d['precision']:.2f}", f"{d['recall']:.2f}", f"{d['f1']:.2f}"


def scores_table(scores: dict[str, Any]) -> Table:
    """Per-section item and field P/R/F1, with the run's overall figures as the caption."""
    table = Table(
        title=f"run {scores['run_id']} · {scores['model']} · {scores.get('split') or ''} "
        f"· {scores['n_articles']} articles"
    )
    for column in ("section", "items P", "items R", "items F1", "fields P", "fields R", "fields F1"):
        table.add_column(column, justify="left" if column == "section" else "right")
    for section, s in scores["sections"].items():
        table.add_row(section, *_prf(s["items"]), *_prf(s["fields"]))
    o, m = scores["overall"], scores["macro"]
    table.add_row("[bold]overall (micro)", "", "", "", *(f"[bold]{x}" for x in _prf(o)))
    table.add_row("macro (fields)", "", "", "", *_prf(m))
    table.caption = (
        f"valid {scores['valid_rate']:.0%} · grounded {scores['grounded_rate']:.0%} · "
        f"{scores['latency_s']['median']:.1f} s/article (median) · "
        f"{scores['tokens_in_per_article']:.0f} tokens in, "
        f"{scores['tokens_out_per_article']:.0f} out per article"
    )
    return table


def fields_table(scores: dict[str, Any]) -> Table:
    table = Table(title="per field")
    for column in ("field", "P", "R", "F1", "tp", "fp", "fn"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for name, c in scores["fields"].items():
        table.add_row(name, *_prf(c), str(c["tp"]), str(c["fp"]), str(c["fn"]))
    return table


def compare_table(diff: dict[str, Any]) -> Table:
    table = Table(
        title=f"{diff['a']} → {diff['b']}: overall F1 {diff['overall']['a']:.3f} → "
        f"{diff['overall']['b']:.3f} ({diff['overall']['delta']:+.3f})"
    )
    for column in ("field", "F1 A", "F1 B", "delta"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for name, d in diff["fields"].items():
        style = "red" if d["delta"] < 0 else "green" if d["delta"] > 0 else ""
        table.add_row(name, f"{d['a']:.2f}", f"{d['b']:.2f}", f"[{style}]{d['delta']:+.2f}" if style else "0")
    return table


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
h2 { border-top: 2px solid #ccc; padding-top: .6em; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
table { border-collapse: collapse; margin: .3em 0 1em; font-size: 12px; }
td, th { border: 1px solid #ddd; padding: 2px 6px; vertical-align: top; text-align: left; }
.matched { background: #e6f4ea; } .missed { background: #fdecea; } .spurious { background: #fff4e0; }
.text { white-space: pre-wrap; border: 1px solid #ddd; padding: 1em; background: #fafafa; }
mark.gold { background: #cfe3ff; } mark.pred { background: #ffe59e; }
mark.gold.pred { background: #b8e6b8; }
.legend span { padding: 0 .4em; margin-right: .5em; }
"""


def _item_rows(section: str, items: list[Any], marks: dict[int, str]) -> str:
    fields = [f for f in FIELD_SCORERS[section] if f != "evidence"]
    head = "".join(f"<th>{escape(f)}</th>" for f in ["", *fields])
    rows = []
    for i, item in enumerate(items):
        cells = []
        for f in fields:
            value = getattr(item, f)
            if isinstance(value, list):
                value = ", ".join(
                    getattr(v, "name", None) or getattr(v, "party", None) or str(v) for v in value
                )
            cells.append(f"<td>{escape('' if value is None else str(getattr(value, 'value', value)))}</td>")
        mark = marks.get(i, "")
        rows.append(f'<tr class="{mark}"><td>{escape(mark)}</td>{"".join(cells)}</tr>')
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>" if items else "<p>(none)</p>"


def html_report(scores: dict[str, Any], samples: list[Sample], results: list[dict[str, Any]]) -> str:
    """One self-contained HTML page: per article, gold and prediction side by side."""
    by_id = {r["article_id"]: r for r in results}
    body = [
        f"<h1>ceasefire eval {escape(scores['run_id'])}</h1>",
        f"<p>model <b>{escape(scores['model'])}</b> · prompts {escape(scores.get('prompt_version', ''))} · "
        f"overall F1 <b>{scores['overall']['f1']:.3f}</b> (P {scores['overall']['precision']:.3f}, "
        f"R {scores['overall']['recall']:.3f}) · valid {scores['valid_rate']:.0%} · "
        f"grounded {scores['grounded_rate']:.0%}</p>",
        '<p class="legend"><span class="matched">matched</span><span class="missed">missed (gold only)</span>'
        '<span class="spurious">spurious (predicted only)</span> · text: '
        '<mark class="gold">gold evidence</mark>'
        '<mark class="pred">predicted evidence</mark><mark class="gold pred">both</mark></p>',
    ]
    for sample in samples:
        row = by_id.get(sample.id, {})
        pred = ArticleSummary.model_validate_json(row["summary"]) if row.get("summary") else None
        f1 = (row.get("scores") or {}).get("f1")
        body.append(f"<h2>{escape(sample.id)}" + (f" · F1 {f1:.2f}" if f1 is not None else "") + "</h2>")
        if row.get("error"):
            body.append(f"<p class='missed'>error: {escape(row['error'])}</p>")
        highlights: list[Highlight] = []
        for section in SECTIONS:
            gold_items = getattr(sample.gold, section)
            pred_items = getattr(pred, section) if pred else []
            result = score_section(section, gold_items, pred_items)
            gold_marks = {g: "matched" for g, _ in result.pairs} | {g: "missed" for g in result.missed}
            pred_marks = {p: "matched" for _, p in result.pairs} | {p: "spurious" for p in result.spurious}
            body.append(
                f"<h3>{escape(section)}</h3><div class='cols'><div><b>gold</b>"
                f"{_item_rows(section, gold_items, gold_marks)}</div><div><b>predicted</b>"
                f"{_item_rows(section, pred_items, pred_marks)}</div></div>"
            )
            for who, items in (("gold", gold_items), ("pred", pred_items)):
                for item in items:
                    for e in item.evidence:
                        if e.start is not None and e.end is not None:
                            highlights.append(Highlight(e.start, e.end, who, f"{who} {section}"))
        body.append(f"<div class='text'>{highlight_html(sample.text, highlights)}</div>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>ceasefire eval "
        f"{escape(scores['run_id'])}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )
