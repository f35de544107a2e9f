"""Exceptions a caller of ceasefire can catch, each with a message that says what to do."""

from __future__ import annotations

from .usage import Usage


class CeasefireError(Exception):
    """Base of every error ceasefire raises on purpose."""


class InvalidArticleError(CeasefireError, ValueError):
    """The input is not an article ceasefire can read (empty, bytes, not text)."""


class ArticleTooLongError(InvalidArticleError):
    """The article does not fit the model's context window."""

    def __init__(self, size: int, limit: int, model: str, unit: str = "tokens"):
        self.size, self.limit, self.model, self.unit = size, limit, model, unit
        super().__init__(
            f"article is {size} {unit}; ceasefire accepts at most {limit} {unit} with {model}: "
            "split it into several articles"
        )


class ModelNotFoundError(CeasefireError, LookupError):
    """A model string names no backend or no weights that can be found."""


class ConfigurationError(CeasefireError):
    """A backend is missing something it needs, such as an API key."""


class ExtractionError(CeasefireError):
    """The model gave no valid answer after every retry and reask."""

    def __init__(self, message: str, usage: Usage):
        self.usage = usage
        self.attempts = usage.attempts
        super().__init__(f"{message} (after {usage.attempts} attempts)")


class InvalidAnswerError(ExtractionError):
    """The model answered, but never with valid JSON of the schema (or it was cut off)."""
