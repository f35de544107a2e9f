"""Human-readable views of a summary: a rich rendering for the terminal."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .schema import ArticleSummary
from .sections import SECTIONS


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "–"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(getattr(value, "value", value))


def render_rich(summary: ArticleSummary) -> Group:
    """A rich renderable of the summary: headline, text, one table per non-empty section."""
    parts: list[object] = [
        Panel(
            Text(summary.summary),
            title=Text(summary.headline, style="bold"),
            subtitle=summary.conflict or None,
        )
    ]
    # Each section's own columns; evidence below with its alignment, ungrounded items marked.
    for section in SECTIONS:
        items, columns = getattr(summary, section.name), section.columns
        if not items:
            continue
        table = Table(title=section.title, title_justify="left", expand=True)
        table.add_column("#")
        for column in columns:
            table.add_column(column.replace("_", " "))
        evidence = Text()
        for number, item in enumerate(items, 1):
            table.add_row(str(number), *(_cell(getattr(item, c)) for c in columns))
            for e in item.evidence:
                evidence.append(f"[{number}] ", style="bold")
                if not item.grounded:
                    evidence.append("UNGROUNDED ", style="bold red")
                evidence.append(f"“{e.quote}”\n", style="italic")
        parts += [table, evidence]
    if summary.metadata:
        m = summary.metadata
        parts.append(
            Text(
                f"{m.model} · prompts {m.prompt_version} · {m.tokens_in} tokens in, "
                f"{m.tokens_out} out · {m.attempts} calls · {m.latency_s:.1f} s",
                style="dim",
            )
        )
    return Group(*parts)
