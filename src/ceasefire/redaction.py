"""Secrets never leave ceasefire: API keys are scrubbed from the messages ceasefire builds and
from the log records of the loggers that carry its requests (its own, and those of instructor,
openai and httpx, where a server's echo of a key may land).

The process's logging is left as it was: no record factory, no handler, no level, and no
logger but those named in SCRUBBED_LOGGERS gets a filter. A malformed log call anywhere
behaves as the standard library says: its handler prints "--- Logging error ---", and
nothing is raised to the caller.
"""

from __future__ import annotations

import logging
import threading

REDACTED = "[REDACTED]"
SCRUBBED_LOGGERS = ("ceasefire", "instructor", "openai", "anthropic", "httpx", "httpcore")
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Remember `secret` so that `redact` and the scrubbed loggers hide it."""
    if not secret or len(secret) < 8:  # too short to be a key, and would redact common words
        return
    with _lock:
        _secrets.add(secret)
    _attach_filter()


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record whose message or traceback holds a registered secret; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True  # a malformed call: its handler reports it, exactly as without us
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set: the traceback they print is the scrubbed one.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()


def _attach_filter() -> None:
    # A logger's filters see only the records logged on it, not its children's, so every
    # existing logger under each name gets the filter (these libraries create theirs at import).
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if any(name == root or name.startswith(root + ".") for root in SCRUBBED_LOGGERS)
    ]
    for name in {*SCRUBBED_LOGGERS, *names}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
