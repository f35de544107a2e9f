"""Human-readable views of a summary: a rich rendering for the terminal."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .schema import ArticleSummary

# Columns shown per section; evidence is shown with its alignment, ungrounded items marked.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "ceasefire_talks": ("title", "venue", "date", "status", "progress_percent", "mediators"),
    "security_guarantees": ("guarantor", "beneficiary", "kind", "status", "duration_years", "trigger"),
    "attacks": ("attacker", "target", "target_kind", "weapon", "location", "killed", "injured"),
    "territorial_control": ("controller", "territory", "share_percent"),
}


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
    for section, columns in _COLUMNS.items():
        items = getattr(summary, section)
        if not items:
            continue
        table = Table(title=section.replace("_", " "), title_justify="left", expand=True)
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
