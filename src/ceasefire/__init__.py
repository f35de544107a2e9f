"""ceasefire: source-grounded structured summaries of war and peace diplomacy news.

>>> from ceasefire import summarize          # doctest: +SKIP
>>> summary = summarize(article_text)        # doctest: +SKIP
"""

from .backends import register_backend
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
from .notebook import to_frames, visualize
from .result import SummaryResult
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
    "SummaryResult",
    "TerritorialControl",
    "asummarize",
    "register_backend",
    "run_batch",
    "summarize",
    "summarize_many",
    "to_frames",
    "visualize",
]
