"""Notebook view of summaries: HTML with the evidence highlighted in the article, and DataFrames.

`ArticleSummary` displays itself through `summary_html` (Jupyter calls its `_repr_html_`).
The HTML is self-contained: inline CSS, no script, nothing fetched, and every value from
the article or the model escaped, since either may hold markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from html import escape
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .highlight import Highlight, highlight_html
from .schema import (
    SECTIONS,
    ArticleSummary,
    Attack,
    CeasefireTalks,
    SecurityGuarantee,
    TerritorialControl,
)

if TYPE_CHECKING:
    import pandas as pd

ITEM_MODELS: dict[str, type[BaseModel]] = {
    "ceasefire_talks": CeasefireTalks,
    "security_guarantees": SecurityGuarantee,
    "attacks": Attack,
    "territorial_control": TerritorialControl,
}

# (title, label prefix, colour): the prefix names an item in its table and on hover.
SECTION_STYLE: dict[str, tuple[str, str, str]] = {
    "ceasefire_talks": ("Ceasefire talks", "T", "#cfe3ff"),
    "security_guarantees": ("Security guarantees", "G", "#cdeccd"),
    "attacks": ("Attacks", "A", "#ffd3cc"),
    "territorial_control": ("Territorial control", "C", "#ffe59e"),
}

# Every selector is under .cf-summary: a notebook page shares one stylesheet between outputs.
_CSS = (
    ".cf-summary{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:75em}"
    ".cf-summary h3{margin:.2em 0}.cf-summary h4{margin:1em 0 .2em}"
    ".cf-summary .cf-meta{color:#666;font-size:12px}"
    ".cf-summary table{border-collapse:collapse;font-size:12px;margin:.2em 0 .6em}"
    ".cf-summary td,.cf-summary th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}"
    ".cf-summary tr.cf-ungrounded td{background:#fdecea}"
    ".cf-summary .cf-flag{color:#b00020;font-weight:bold}"
    ".cf-summary .cf-text{white-space:pre-wrap;border:1px solid #ddd;padding:1em;background:#fafafa}"
    ".cf-summary mark{color:inherit;border-radius:2px;padding:0 1px}"
    # A piece quoted by several items shows one colour only; the underline says there is more.
    ".cf-summary mark[data-evidence*=' '],.cf-summary .cf-several{text-decoration:underline double #555}"
    ".cf-summary .cf-legend span{padding:0 .4em;margin-right:.5em;border-radius:2px}"
    + "".join(f".cf-summary .cf-{s}{{background:{c}}}" for s, (_, _, c) in SECTION_STYLE.items())
)


def summary_html(summary: ArticleSummary, article: str | None) -> str:
    """The summary as an HTML fragment: headline and summary, a table per section, then the
    article (when given) with each evidence span highlighted in its section's colour.

    >>> from IPython.display import HTML                          # doctest: +SKIP
    >>> HTML(summary_html(summary, article))                      # doctest: +SKIP
    """
    body = [
        f"<h3>{escape(summary.headline)}</h3>",
        f"<p>{escape(summary.summary)}</p>",
        f"<p class='cf-meta'>{escape(_meta_line(summary))}</p>",
    ]
    highlights: list[Highlight] = []
    failed = summary.metadata.failed_sections if summary.metadata else []
    for section in SECTIONS:
        title, prefix, _ = SECTION_STYLE[section]
        items = getattr(summary, section)
        body.append(f"<h4><span class='cf-{section}'>&nbsp;</span> {escape(title)} ({len(items)})</h4>")
        if section in failed:
            body.append("<p class='cf-flag'>the model gave no valid answer for this section</p>")
        body.append(_section_table(section, items, article is not None))
        for i, item in enumerate(items, 1):
            hover = f"{prefix}{i} {title}: {_describe(item)}"
            for j, e in enumerate(item.evidence, 1):
                if e.start is not None and e.end is not None:
                    highlights.append(Highlight(e.start, e.end, f"cf-{section}", hover, f"{prefix}{i}.{j}"))
    if article is None:
        body.append("<p class='cf-meta'>No article attached: its evidence quotes are in the tables.</p>")
    else:
        legend = "".join(
            f"<span class='cf-{s}'>{escape(title)}</span>" for s, (title, _, _) in SECTION_STYLE.items()
        )
        legend += "<span class='cf-several'>quoted by several items</span>"
        body.append(f"<h4>Article</h4><p class='cf-legend'>{legend}</p>")
        body.append(f"<div class='cf-text'>{highlight_html(article, highlights)}</div>")
    return f"<div class='cf-summary'><style>{_CSS}</style>{''.join(body)}</div>"


def summary_markdown(summary: ArticleSummary, article: str | None) -> str:
    """A plain-text view for frontends without HTML: items listed with their quotes."""
    lines = [f"**{_md(summary.headline)}**", "", _md(summary.summary), ""]
    for section in SECTIONS:
        title, prefix, _ = SECTION_STYLE[section]
        items = getattr(summary, section)
        lines.append(f"**{title}** ({len(items)})")
        for i, item in enumerate(items, 1):
            flag = "" if item.grounded else " ⚠ ungrounded"
            quotes = " ".join(f"“{_md(e.quote)}”" for e in item.evidence)
            lines.append(f"- {prefix}{i} {_md(_describe(item))}{flag}: {quotes}")
        lines.append("")
    return "\n".join(lines)


def to_frames(
    summaries: ArticleSummary | Mapping[Any, ArticleSummary] | Sequence[ArticleSummary],
) -> dict[str, pd.DataFrame]:
    """One DataFrame per section, one row per item, with an `article_id` column (the dict key,
    or the position in a list), the item's fields, `grounded`, and `evidence` (a list of
    `{quote, start, end, alignment}`). Needs pandas: `pip install 'ceasefire[notebook]'`.

    >>> frames = to_frames({"a1": summary_a, "a2": summary_b})       # doctest: +SKIP
    >>> frames["attacks"].groupby("weapon").size()                   # doctest: +SKIP
    """
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("to_frames needs pandas: pip install 'ceasefire[notebook]'") from exc
    if isinstance(summaries, ArticleSummary):
        summaries = [summaries]
    pairs: Iterable[tuple[Any, ArticleSummary]] = (
        summaries.items() if isinstance(summaries, Mapping) else enumerate(summaries)
    )
    rows: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
    for article_id, summary in pairs:
        for section, item in summary.items():
            rows[section].append(
                {
                    "article_id": article_id,
                    **item.model_dump(mode="json", exclude={"evidence"}),
                    "grounded": item.grounded,
                    "evidence": [e.model_dump(mode="json") for e in item.evidence],
                }
            )
    frames = {}
    for section, model in ITEM_MODELS.items():
        # Columns are fixed by the schema, so an empty section still has them.
        fields = [f for f in model.model_fields if f != "evidence"]
        frames[section] = pd.DataFrame(rows[section], columns=["article_id", *fields, "grounded", "evidence"])
    return frames


def _section_table(section: str, items: list[Any], with_article: bool) -> str:
    if not items:
        return "<p class='cf-meta'>none</p>"
    _, prefix, _ = SECTION_STYLE[section]
    fields = [f for f in ITEM_MODELS[section].model_fields if f != "evidence"]
    # Columns empty for every item only widen the table.
    fields = [f for f in fields if any(_cell(getattr(item, f)) for item in items)]
    head = "".join(f"<th>{escape(f.replace('_', ' '))}</th>" for f in ["", *fields, "evidence"])
    rows = []
    for i, item in enumerate(items, 1):
        cells = "".join(f"<td>{escape(_cell(getattr(item, f)))}</td>" for f in fields)
        css = "" if item.grounded else " class='cf-ungrounded'"
        label = f"<td class='cf-{section}'>{prefix}{i}</td>"
        rows.append(f"<tr{css}>{label}{cells}<td>{_evidence_cell(item, with_article)}</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _evidence_cell(item: Any, with_article: bool) -> str:
    """How each quote aligned; the quote itself where it cannot be seen highlighted."""
    parts = []
    for e in item.evidence:
        alignment = e.alignment.value if e.alignment else "none"
        if with_article and e.start is not None:
            parts.append(f"<span title='{escape(e.quote)}'>{alignment}</span>")
        else:
            parts.append(f"{alignment}: “{escape(e.quote)}”")
    flag = "" if item.grounded else "<span class='cf-flag'>⚠ ungrounded</span> "
    return flag + "<br>".join(parts)


def _describe(item: Any) -> str:
    """A one-line name for an item, shown on hover over its evidence."""
    if isinstance(item, CeasefireTalks):
        return f"{item.title} ({item.status.value})"
    if isinstance(item, SecurityGuarantee):
        return f"{item.guarantor} → {item.beneficiary}: {item.kind.value}, {item.status.value}"
    if isinstance(item, Attack):
        where = f" in {item.location}" if item.location else ""
        return f"{item.attacker or '?'} → {item.target} ({item.weapon.value}){where}"
    share = f" {_cell(item.share_percent)}%" if item.share_percent is not None else ""
    return f"{item.controller}: {item.territory}{share}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, BaseModel):
        # A participant or position: its first field, the others in parentheses.
        first, *rest = (_cell(v) for v in value.__dict__.values())
        rest = [r for r in rest if r]
        return f"{first} ({', '.join(rest)})" if rest else first
    return str(value)


def _meta_line(summary: ArticleSummary) -> str:
    parts = [summary.conflict or ""]
    if m := summary.metadata:
        parts += [m.model, f"prompts {m.prompt_version}", f"{m.tokens_in} tokens in, {m.tokens_out} out"]
        parts.append(f"{m.latency_s:.1f} s")
    return " · ".join(p for p in parts if p)


def _md(text: str) -> str:
    # Markdown passes raw HTML through, so markup in a value must be escaped here too.
    return escape(text, quote=False)
