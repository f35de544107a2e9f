"""ceasefire: source-grounded structured summaries of war and peace diplomacy news.

>>> from ceasefire import summarize          # doctest: +SKIP
>>> summary = summarize(article_text)        # doctest: +SKIP
"""

from .batch import run_batch
from .errors import (
    ArticleTooLongError,
    CeasefireError,
    ConfigurationError,
    ExtractionError,
    InvalidAnswerError,
    InvalidArticleError,
    ModelNotFoundError,
)
from .notebook import to_frames
from .schema import (
    ArticleSummary,
    Attack,
    CeasefireTalks,
    Evidence,
    SecurityGuarantee,
    TerritorialControl,
)
from .summarize import Summarizer, asummarize, summarize, summarize_many

__all__ = [
    "ArticleSummary",
    "ArticleTooLongError",
    "Attack",
    "CeasefireError",
    "CeasefireTalks",
    "ConfigurationError",
    "Evidence",
    "ExtractionError",
    "InvalidAnswerError",
    "InvalidArticleError",
    "ModelNotFoundError",
    "SecurityGuarantee",
    "Summarizer",
    "TerritorialControl",
    "asummarize",
    "run_batch",
    "summarize",
    "summarize_many",
    "to_frames",
]
