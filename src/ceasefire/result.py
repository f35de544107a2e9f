"""What summarizing one article gives back: the summary, the article it summarizes, the cost.

The contract (`ArticleSummary`) is data only; a result carries the article beside it, so a
notebook can show the evidence in place (`ceasefire.visualize`, or just display the result).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .schema import ArticleSummary
from .usage import Usage

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SummaryResult:
    article: str
    summary: ArticleSummary
    usage: Usage

    def _repr_html_(self) -> str:
        from .notebook import summary_html

        return summary_html(self.summary, self.article)

    def _repr_markdown_(self) -> str:
        from .notebook import summary_markdown

        return summary_markdown(self.summary)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """One pandas DataFrame per section, one row per item (needs `ceasefire[notebook]`)."""
        from .notebook import to_frames

        return to_frames([self.summary])
