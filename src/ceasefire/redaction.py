"""Secrets never leave the process: API keys are scrubbed from our messages and from every
log record, ours or a library's (an OpenAI-compatible server may echo a key in an error)."""

from __future__ import annotations

import logging
import threading

REDACTED = "[REDACTED]"
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(secret: str | None) -> None:
    """Remember `secret` so that `redact` and every later log record hide it."""
    global _installed
    if not secret or len(secret) < 8:  # too short to be a key, and would redact common words
        return
    with _lock:
        _secrets.add(secret)
        if not _installed:
            _install_log_scrubber()
            _installed = True


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


def _install_log_scrubber() -> None:
    # A record factory sees every record of every logger before any handler formats it,
    # which a filter on one logger cannot (filters do not apply to child loggers' records).
    make_record = logging.getLogRecordFactory()

    def scrubbed(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(scrubbed)
