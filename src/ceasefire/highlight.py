"""Article text as HTML with evidence spans highlighted: for the notebook view and eval reports.

Every value from the article or the model is escaped; the markup carries no script and
fetches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Highlight:
    start: int
    end: int
    css_class: str
    title: str = ""
    evidence_id: str = ""
    """Written to `data-evidence`, so each highlight can be found again when pieces overlap."""


def highlight_html(text: str, highlights: list[Highlight]) -> str:
    """`text` escaped, with each highlight wrapped in `<mark class=... title=...>`.

    Overlapping highlights are cut at every boundary, so each piece of text is wrapped once
    with the classes of every highlight covering it, and with their `evidence_id`s, space
    separated, in `data-evidence` when they have one.
    """
    valid = [h for h in highlights if 0 <= h.start < h.end <= len(text)]
    cuts = sorted({0, len(text), *(h.start for h in valid), *(h.end for h in valid)})
    parts = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        piece = escape(text[start:end])
        covering = [h for h in valid if h.start <= start and end <= h.end]
        if not covering:
            parts.append(piece)
            continue
        classes = " ".join(dict.fromkeys(h.css_class for h in covering))
        title = "\n".join(dict.fromkeys(h.title for h in covering if h.title))
        ids = " ".join(dict.fromkeys(h.evidence_id for h in covering if h.evidence_id))
        data = f' data-evidence="{escape(ids)}"' if ids else ""
        parts.append(f'<mark class="{escape(classes)}" title="{escape(title)}"{data}>{piece}</mark>')
    return "".join(parts)
