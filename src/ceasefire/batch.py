"""Batch runs that lose nothing: JSONL or a folder of .txt in, one JSONL line per article out.

Every article gets exactly one output line: its summary, or a structured error. Lines are
appended and flushed as each article finishes, from one writer thread, so a crash leaves at
most one torn last line. Re-running the same command resumes: ids already in the output are
skipped, and a torn or unreadable line is dropped so its article is done again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from .errors import CeasefireError, InvalidArticleError
from .runner import run_all
from .summarize import Summarizer, fan_out


@dataclass
class Tally:
    done: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class Article:
    id: str
    text: str | None
    problem: CeasefireError | None = None
    """Why the input could not be read; the article is reported as failed, not dropped."""


def read_articles(source: str | Path) -> Iterator[Article]:
    """Articles of a JSONL file (`{"id": ..., "text": ...}` per line) or a folder of .txt files."""
    source = Path(source)
    if source.is_dir():
        for path in sorted(source.glob("*.txt")):
            try:
                yield Article(path.stem, path.read_bytes().decode("utf-8-sig"))
            except UnicodeDecodeError as exc:
                yield Article(
                    path.stem, None, InvalidArticleError(f"{path.name} is not UTF-8 text ({exc.reason})")
                )
        return
    with source.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            fallback_id = f"line-{number}"
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield Article(fallback_id, None, InvalidArticleError(f"line {number} is not JSON: {exc}"))
                continue
            if not isinstance(record, dict):
                yield Article(fallback_id, None, InvalidArticleError(f"line {number} is not a JSON object"))
                continue
            article_id = str(record.get("id", fallback_id))
            text = record.get("text")
            if not isinstance(text, str):
                yield Article(article_id, None, InvalidArticleError(f'line {number} has no "text" string'))
            else:
                yield Article(article_id, text)


def finished_ids(out: Path) -> set[str]:
    """Ids already answered in `out`. Torn or unreadable lines are removed from the file
    first (atomically), so their articles are done again."""
    if not out.exists():
        return set()
    data = out.read_bytes()
    good: list[bytes] = []
    ids: set[str] = set()
    for line in data.split(b"\n"):
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(record, dict) and "id" in record and record["id"] not in ids:
            ids.add(record["id"])
            good.append(line)
    clean = b"".join(line + b"\n" for line in good)
    if clean != data:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(clean)
        os.replace(tmp, out)
    return ids


def drop_failed(out: Path) -> None:
    """Remove error lines from `out`, so a resumed run tries those articles again."""
    if not out.exists():
        return
    kept = [line for line in out.read_text("utf-8").splitlines() if line and "error" not in json.loads(line)]
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    os.replace(tmp, out)


def write_record(sink: TextIO, record: dict[str, Any], tally: Tally) -> bool:
    """Append an article's line, flushed at once so a crash loses nothing written, and count it."""
    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    sink.flush()
    if "error" in record:
        tally.failed += 1
    else:
        tally.done += 1
    return True


def error_record(article_id: str, exc: CeasefireError) -> dict[str, Any]:
    return {
        "id": article_id,
        "error": {"type": type(exc).__name__, "message": str(exc), "attempts": getattr(exc, "attempts", 0)},
    }


def run_batch(
    source: str | Path,
    out: str | Path,
    *,
    model: str | None = None,
    concurrency: int = 8,
    retry_failed: bool = False,
    progress: bool = True,
    via: Literal["sync", "openai-batch"] = "sync",
    reask: Literal["batch", "sync"] = "batch",
    **options: Any,
) -> Tally:
    """Summarize every article of `source` into the JSONL file `out`, resuming where it stopped.

    `via="openai-batch"` sends the requests through the OpenAI Batch API (half the price, within
    24 hours); answers that need a reask go into a follow-up batch, or with `reask="sync"` are
    asked at once (see openai_batch.py).

    >>> run_batch("articles/", "summaries.jsonl", model="openai/gpt-4o-mini")   # doctest: +SKIP
    Tally(done=120, failed=2, skipped=0)
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done_before = finished_ids(out)  # also drops a torn last line
    if retry_failed:
        drop_failed(out)
        done_before = finished_ids(out)
    summarizer, workers = fan_out(Summarizer.from_model(model, **options), concurrency)
    tally = Tally()
    read = 0

    def todo() -> Iterator[Article]:
        """The articles still to do, read as the workers free up: not those answered in an
        earlier run, nor a repeated id of the input."""
        nonlocal read
        read, seen = 0, set()
        for article in read_articles(source):
            read += 1
            if article.id not in done_before and article.id not in seen:
                yield article
            seen.add(article.id)

    if via == "openai-batch":
        from .openai_batch import run_openai_batch

        # A batch is one upload of every request: the Batch API needs them all at once.
        articles = list(todo())
        tally.skipped = read - len(articles)
        return run_openai_batch(
            articles,
            out,
            summarizer,
            tally,
            reask=reask,
            retry_failed=retry_failed,
            progress=progress,
            **options,
        )
    if via != "sync":
        raise ValueError(f"via must be 'sync' or 'openai-batch', not {via!r}")

    def summarize_one(article: Article) -> dict[str, Any]:
        if article.problem is not None:
            return error_record(article.id, article.problem)
        try:
            summary = summarizer(article.text or "")
        except CeasefireError as exc:
            return error_record(article.id, exc)
        return {"id": article.id, "summary": summary.model_dump(mode="json")}

    # Counting first costs a read of the input but no memory, and gives the bar its end.
    total = sum(1 for _ in todo()) if progress else None
    with out.open("a", encoding="utf-8") as sink:
        for _, record in run_all(
            summarize_one,
            todo(),
            workers=workers,
            progress=progress,
            total=total,
            label=summarizer.backend.model,
        ):
            write_record(sink, record, tally)
    tally.skipped = read - tally.done - tally.failed
    return tally
