"""Notebook view of summaries: HTML with the evidence highlighted in the article, and DataFrames.

`visualize(result)` draws a summary over its article; a `SummaryResult` displays itself the
same way (Jupyter calls its `_repr_html_`). The HTML is self-contained: inline CSS, no
script, nothing fetched, and every value from the article or the model escaped, since either
may hold markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from html import escape
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .highlight import Highlight, highlight_html
from .result import SummaryResult
from .schema import ArticleSummary
from .sections import BY_NAME, SECTIONS

if TYPE_CHECKING:
    import pandas as pd

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
    + "".join(f".cf-summary .cf-{s.name}{{background:{s.colour}}}" for s in SECTIONS)
)


class Html(str):
    """HTML text that Jupyter displays as HTML; a plain str everywhere else (write it to a file)."""

    def _repr_html_(self) -> str:
        return str(self)


def visualize(result: SummaryResult | ArticleSummary, article: str | None = None) -> Html:
    """The summary drawn over its article: a table per section, and the article with each
    evidence span highlighted in its section's colour.

    >>> result = Summarizer.from_model().run(text)     # doctest: +SKIP
    >>> ceasefire.visualize(result)                     # doctest: +SKIP
    >>> ceasefire.visualize(summary, article=text)      # doctest: +SKIP
    """
    if isinstance(result, SummaryResult):
        return Html(summary_html(result.summary, article or result.article))
    return Html(summary_html(result, article))


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
        items = getattr(summary, section.name)
        name, title = section.name, escape(section.title)
        body.append(f"<h4><span class='cf-{name}'>&nbsp;</span> {title} ({len(items)})</h4>")
        if name in failed:
            body.append("<p class='cf-flag'>the model gave no valid answer for this section</p>")
        body.append(_section_table(name, items, article is not None))
        for i, item in enumerate(items, 1):
            hover = f"{section.label}{i} {section.title}: {section.describe(item)}"
            for j, e in enumerate(item.evidence, 1):
                if e.start is not None and e.end is not None:
                    label = f"{section.label}{i}.{j}"
                    highlights.append(Highlight(e.start, e.end, f"cf-{name}", hover, label))
    if article is None:
        body.append("<p class='cf-meta'>No article attached: its evidence quotes are in the tables.</p>")
    else:
        legend = "".join(f"<span class='cf-{s.name}'>{escape(s.title)}</span>" for s in SECTIONS)
        legend += "<span class='cf-several'>quoted by several items</span>"
        body.append(f"<h4>Article</h4><p class='cf-legend'>{legend}</p>")
        body.append(f"<div class='cf-text'>{highlight_html(article, highlights)}</div>")
    return f"<div class='cf-summary'><style>{_CSS}</style>{''.join(body)}</div>"


def summary_markdown(summary: ArticleSummary) -> str:
    """A plain-text view for frontends without HTML: items listed with their quotes."""
    lines = [f"**{_md(summary.headline)}**", "", _md(summary.summary), ""]
    for section in SECTIONS:
        items = getattr(summary, section.name)
        lines.append(f"**{section.title}** ({len(items)})")
        for i, item in enumerate(items, 1):
            flag = "" if item.grounded else " ⚠ ungrounded"
            quotes = " ".join(f"“{_md(e.quote)}”" for e in item.evidence)
            lines.append(f"- {section.label}{i} {_md(section.describe(item))}{flag}: {quotes}")
        lines.append("")
    return "\n".join(lines)


def to_frames(
    summaries: ArticleSummary
    | SummaryResult
    | Mapping[Any, ArticleSummary | SummaryResult]
    | Sequence[ArticleSummary | SummaryResult],
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
    if isinstance(summaries, ArticleSummary | SummaryResult):
        summaries = [summaries]
    pairs: Iterable[tuple[Any, ArticleSummary | SummaryResult]] = (
        summaries.items() if isinstance(summaries, Mapping) else enumerate(summaries)
    )
    rows: dict[str, list[dict[str, Any]]] = {section.name: [] for section in SECTIONS}
    for article_id, summary in pairs:
        if isinstance(summary, SummaryResult):
            summary = summary.summary
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
    for section in SECTIONS:
        # Columns are fixed by the schema, so an empty section still has them.
        fields = [f for f in section.item.model_fields if f != "evidence"]
        columns = ["article_id", *fields, "grounded", "evidence"]
        frames[section.name] = pd.DataFrame(rows[section.name], columns=columns)
    return frames


def _section_table(section: str, items: list[Any], with_article: bool) -> str:
    if not items:
        return "<p class='cf-meta'>none</p>"
    prefix = BY_NAME[section].label
    fields = [f for f in BY_NAME[section].item.model_fields if f != "evidence"]
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
