"""Tokens and requests a summary cost, summed over every attempt and retry."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Usage:
    """Tokens and requests spent, summed over every attempt."""

    tokens_in: int = 0
    tokens_out: int = 0
    attempts: int = 0
    """Requests sent, whether or not an answer came back."""
    raw_completions: list[str] = field(default_factory=list)

    def add(self, tokens_in: int, tokens_out: int, raw: str | None) -> None:
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        if raw is not None:
            self.raw_completions.append(raw)
