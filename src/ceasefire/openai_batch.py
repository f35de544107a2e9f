"""Past one machine: the OpenAI Batch API, at half the price of synchronous calls.

Every section request of every article goes into a Batch input JSONL (`custom_id` =
`<article id>/<section>/<attempt>`), is uploaded, and a batch is created and polled. The answers
are not read here: each article is run through the ordinary pipeline (`Summarizer.run`) with a
backend that replays them, so they are validated, reasked and grounded by the very code that
serves synchronous calls. A request the pipeline makes that no batch has answered yet (a reask
after a validation error or an ungrounded quote) goes into the next batch, or, with
`reask="sync"`, is sent at once.

Everything lives in a SQLite file beside OUT: each request (its body, its answer or why it
failed) and each batch (input file id, batch id). A run killed at any point is resumed by
running it again: open batches are polled, never submitted twice; a batch whose creation was
not recorded is found again by its input file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TextIO

import openai
from openai.types.chat import ChatCompletion

from .backends import Backend, _transport_retrying, openai_client
from .batch import Article, Tally, error_record, write_record
from .errors import CeasefireError, ConfigurationError, InvalidAnswerError
from .runner import progress_bar
from .summarize import SECTION_CALLS, Summarizer, check_article
from .usage import Usage

MAX_TRIES = 3
"""Batches a request may fail in (a 5xx line, an expired or failed batch) before its article fails."""

MAX_REQUESTS_PER_BATCH = 50_000
MAX_BYTES_PER_BATCH = 150_000_000
"""OpenAI's limits are 50,000 requests and 200 MB per input file; the rest spills into more batches."""

FINISHED = {"completed", "failed", "expired", "cancelled"}

_SECTION_OF = {call.response_model.__name__: call.name for call in SECTION_CALLS}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,         -- sha256 of the request body: the same request is sent once
    custom_id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    section TEXT NOT NULL,
    attempt INTEGER NOT NULL,     -- 1 for the first request of a section, 2.. for its reasks
    body TEXT NOT NULL,
    state TEXT NOT NULL,          -- waiting (for the next batch), submitted, answered, failed
    part INTEGER,                 -- the batch that carries it
    answer TEXT,                  -- the chat completion
    error TEXT,
    tries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS requests_by_article ON requests (article_id, section);
CREATE INDEX IF NOT EXISTS requests_by_part ON requests (part, state);
CREATE TABLE IF NOT EXISTS batches (
    part INTEGER PRIMARY KEY,
    input_file_id TEXT,
    batch_id TEXT,
    status TEXT NOT NULL DEFAULT 'new'   -- new, submitted, done
);
"""


@dataclass
class BatchTally(Tally):
    reasked: int = 0
    """Articles that needed a reask (validation or grounding), over the whole run."""
    requests: int = 0
    """Requests made, reasks included, over the whole run."""
    batches: int = 0
    """Batches created by this invocation."""


class Unanswered(Exception):
    """No batch has answered this request yet: it waits for the next one."""


class BatchState:
    """Requests, answers and batch ids of one run, in SQLite beside its OUT file."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.row_factory = sqlite3.Row
        # A commit survives a killed process without waiting for the disk (only a power cut
        # may lose the last few): one request recorded costs microseconds, not an fsync.
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        with self.db:
            self.db.executescript(_SCHEMA)

    def get(self, key: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM requests WHERE key = ?", (key,)).fetchone()

    def has_requests(self, article_id: str) -> bool:
        found = self.db.execute("SELECT 1 FROM requests WHERE article_id = ? LIMIT 1", (article_id,))
        return found.fetchone() is not None

    def add(self, key: str, article_id: str, section: str, body: str, answer: str | None = None) -> str:
        """Record a request (waiting for a batch, or answered at once); its custom_id."""
        with self.db:
            row = self.get(key)
            if row is None:
                (attempt,) = self.db.execute(
                    "SELECT COUNT(*) + 1 FROM requests WHERE article_id = ? AND section = ?",
                    (article_id, section),
                ).fetchone()
                custom_id = f"{article_id}/{section}/{attempt}"
                self.db.execute(
                    "INSERT INTO requests (key, custom_id, article_id, section, attempt, body, state)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'waiting')",
                    (key, custom_id, article_id, section, attempt, body),
                )
                row = self.get(key)
            if answer is not None:
                self.db.execute(
                    "UPDATE requests SET state = 'answered', answer = ? WHERE key = ?", (answer, key)
                )
        return row["custom_id"]

    def open_parts(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM batches WHERE status != 'done' ORDER BY part").fetchall()

    def new_parts(self) -> int:
        """Put every waiting request into new batches, within the API's per-batch limits; how many."""
        with self.db:
            (last,) = self.db.execute("SELECT COALESCE(MAX(part), 0) FROM batches").fetchone()
            part, count, size = last, MAX_REQUESTS_PER_BATCH, 0
            for row in self.db.execute("SELECT key, body FROM requests WHERE state = 'waiting'").fetchall():
                if count >= MAX_REQUESTS_PER_BATCH or size + len(row["body"]) > MAX_BYTES_PER_BATCH:
                    part, count, size = part + 1, 0, 0
                    self.db.execute("INSERT INTO batches (part) VALUES (?)", (part,))
                count, size = count + 1, size + len(row["body"]) + 100
                self.db.execute(
                    "UPDATE requests SET state = 'submitted', part = ? WHERE key = ?", (part, row["key"])
                )
        return part - last

    def input_lines(self, part: int) -> Iterator[str]:
        for row in self.db.execute(
            "SELECT custom_id, body FROM requests WHERE part = ? AND state = 'submitted'", (part,)
        ):
            line = {"custom_id": row["custom_id"], "method": "POST", "url": "/v1/chat/completions"}
            yield json.dumps({**line, "body": json.loads(row["body"])}, ensure_ascii=False) + "\n"

    def set_batch(self, part: int, *, input_file_id: str | None = None, batch_id: str | None = None) -> None:
        with self.db:
            if input_file_id:
                self.db.execute("UPDATE batches SET input_file_id = ? WHERE part = ?", (input_file_id, part))
            if batch_id:
                self.db.execute(
                    "UPDATE batches SET batch_id = ?, status = 'submitted' WHERE part = ?", (batch_id, part)
                )

    def record(self, part: int, answers: dict[str, str], errors: dict[str, str], otherwise: str) -> None:
        """The results of a finished batch, at once: answered, or failed and sent again (up to
        MAX_TRIES batches); a request in neither file failed with `otherwise`."""
        with self.db:
            rows = self.db.execute(
                "SELECT key, custom_id, tries FROM requests WHERE part = ? AND state = 'submitted'", (part,)
            ).fetchall()
            for row in rows:
                if row["custom_id"] in answers:
                    self.db.execute(
                        "UPDATE requests SET state = 'answered', answer = ? WHERE key = ?",
                        (answers[row["custom_id"]], row["key"]),
                    )
                    continue
                tries = row["tries"] + 1
                self.db.execute(
                    "UPDATE requests SET state = ?, tries = ?, error = ? WHERE key = ?",
                    (
                        "failed" if tries >= MAX_TRIES else "waiting",
                        tries,
                        errors.get(row["custom_id"], otherwise),
                        row["key"],
                    ),
                )
            self.db.execute("UPDATE batches SET status = 'done' WHERE part = ?", (part,))

    def retry_failed(self) -> None:
        with self.db:
            self.db.execute("UPDATE requests SET state = 'waiting', tries = 0 WHERE state = 'failed'")

    def counts(self) -> tuple[int, int]:
        """(articles reasked, requests) over the whole run."""
        reasked = self.db.execute(
            "SELECT COUNT(DISTINCT article_id) FROM requests WHERE attempt > 1"
        ).fetchone()
        (requests,) = self.db.execute("SELECT COUNT(*) FROM requests").fetchone()
        return reasked[0], requests


def state_path(out: Path) -> Path:
    """Where the batch state of OUT lives: beside it."""
    return out.with_name(out.name + ".batch.sqlite")


def run_openai_batch(
    todo: list[Article],
    out: Path,
    summarizer: Summarizer,
    tally: Tally,
    *,
    reask: Literal["batch", "sync"] = "batch",
    retry_failed: bool = False,
    progress: bool = True,
    poll_s: float = 60.0,
    **options: Any,
) -> BatchTally:
    """Summarize `todo` into `out` through the OpenAI Batch API (called by `run_batch(...,
    via="openai-batch")`). `options` are the backend's: base_url, api_key, timeout."""
    if reask not in ("batch", "sync"):
        raise ValueError("reask must be 'batch' or 'sync'")
    model = summarizer.backend.model
    if not model.startswith("openai/"):
        raise ConfigurationError(f"the OpenAI Batch API needs an openai/<model>, not {model}")
    name = model.removeprefix("openai/")
    client = openai_client(
        name,
        base_url=options.get("base_url"),
        api_key=options.get("api_key"),
        timeout=options.get("timeout", 60.0),
    )
    state = BatchState(state_path(out))
    if retry_failed:
        state.retry_failed()
    result = BatchTally(**dataclasses.asdict(tally))
    replay = Replay(state, summarizer, name, live=reask == "sync")
    with (
        out.open("a", encoding="utf-8") as sink,
        progress_bar(enabled=progress, total=None, label="openai batch", unit=" requests") as bar,
    ):
        while True:
            parts = state.open_parts()
            if parts:
                result.batches += _submit(client, state, parts)
                _wait(client, state, summarizer.backend, bar, poll_s)
                continue
            todo = [article for article in todo if not replay.settle(article, sink, result)]
            if not todo:
                break
            if not state.new_parts():  # a bug, not a state to wait in: say so rather than spin
                raise RuntimeError(f"{len(todo)} articles wait for answers that no batch was asked for")
    result.reasked, result.requests = state.counts()
    if progress:
        print(
            f"openai batch: {result.requests} requests, {result.reasked} articles reasked, "
            f"{result.batches} batches created",
            file=sys.stderr,
        )
    return result


class Replay:
    """Runs the pipeline on batch answers: a request already answered is replayed, one not yet
    asked is recorded for the next batch (or, live, sent now)."""

    def __init__(self, state: BatchState, summarizer: Summarizer, name: str, *, live: bool):
        self.state, self.summarizer, self.name, self.live = state, summarizer, name, live

    def settle(self, article: Article, sink: TextIO, tally: Tally) -> bool:
        """Write the article's line if every request it needs is answered; False if it waits."""
        if article.problem is not None:
            return write_record(sink, error_record(article.id, article.problem), tally)
        missing: list[str] = []
        try:
            text = check_article(article.text)
            if not self.state.has_requests(article.id) and self._fits(text):
                # The first batch carries every section's request at once, never sent live.
                offline = replace(self.summarizer, backend=self._backend(article.id, missing, live=False))
                self._ask_every_section(offline, text)
                return False
            summarizer = replace(self.summarizer, backend=self._backend(article.id, missing, live=self.live))
            summary = summarizer(text)
        except Unanswered:  # only if a reask path lets it through unwrapped: it waits all the same
            return False
        except CeasefireError as exc:
            return not missing and write_record(sink, error_record(article.id, exc), tally)
        return not missing and write_record(
            sink, {"id": article.id, "summary": summary.model_dump(mode="json")}, tally
        )

    def _fits(self, text: str) -> bool:
        return self.summarizer.backend.count_tokens(text) <= self.summarizer.max_article_tokens

    def _ask_every_section(self, summarizer: Summarizer, text: str) -> None:
        for request in summarizer.section_requests(text):
            try:
                summarizer.backend.extract(
                    request.messages,
                    request.response_model,
                    max_tokens=summarizer.answer_budget(request.call),
                    usage=Usage(),
                    constrain=request.constrain,
                )
            except (InvalidAnswerError, Unanswered):
                pass  # recorded for the batch

    def _backend(self, article_id: str, missing: list[str], *, live: bool) -> Backend:
        live_backend = self.summarizer.backend

        def create(**kwargs: Any) -> ChatCompletion:
            body = json.dumps({"model": self.name, **kwargs}, sort_keys=True, ensure_ascii=False)
            key = hashlib.sha256(body.encode()).hexdigest()
            row = self.state.get(key)
            if row is not None and row["state"] == "answered":
                return ChatCompletion.model_validate_json(row["answer"])
            schema = (kwargs.get("response_format") or {}).get("json_schema", {}).get("name", "")
            section = _SECTION_OF.get(schema, schema)
            if live:
                completion = live_backend.create(**kwargs)
                self.state.add(key, article_id, section, body, completion.model_dump_json())
                return completion
            if row is not None and row["state"] == "failed":
                raise openai.OpenAIError(
                    f"batch request {row['custom_id']} failed {row['tries']} times: {row['error']}"
                )
            missing.append(self.state.add(key, article_id, section, body))
            raise Unanswered(key)

        return dataclasses.replace(live_backend, create=create, slots=None)


def _submit(client: openai.OpenAI, state: BatchState, parts: list[sqlite3.Row]) -> int:
    """Upload and create each new batch, once: a batch created but not recorded (a crash in
    between) is found again by its input file. The number of batches created."""
    created = 0
    for part in parts:
        if part["batch_id"] is not None:
            continue
        file_id, batch = part["input_file_id"], None
        if file_id is None:
            data = "".join(state.input_lines(part["part"])).encode()
            file_id = client.files.create(file=(f"ceasefire-{part['part']}.jsonl", data), purpose="batch").id
            state.set_batch(part["part"], input_file_id=file_id)
        else:  # uploaded by a run that stopped: did it create the batch too?
            batch = next((b for b in client.batches.list(limit=100) if b.input_file_id == file_id), None)
        if batch is None:
            created += 1
            batch = client.batches.create(
                input_file_id=file_id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
                metadata={"ceasefire_part": str(part["part"])},
            )
        state.set_batch(part["part"], batch_id=batch.id)
    return created


def _wait(client: openai.OpenAI, state: BatchState, backend: Backend, bar: Any, poll_s: float) -> None:
    """Poll the open batches until each has finished, and record their results."""
    retrying = _transport_retrying(backend.policy)
    delay = min(1.0, poll_s)
    while parts := state.open_parts():
        done = failed = total = 0
        for part in parts:
            batch = retrying(client.batches.retrieve, part["batch_id"])
            counts = batch.request_counts
            if counts is not None:
                done, failed, total = done + counts.completed, failed + counts.failed, total + counts.total
            if batch.status in FINISHED:
                _record(client, state, part["part"], batch, retrying)
        bar.total, bar.n = total or None, done + failed
        bar.set_postfix_str(f"{done} done, {failed} failed of {total}")  # also redraws
        if state.open_parts():
            time.sleep(delay)
            delay = min(2 * delay, poll_s)


def _record(client: openai.OpenAI, state: BatchState, part: int, batch: Any, retrying: Any) -> None:
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        for line in retrying(client.files.content, file_id).text.splitlines():
            if not line.strip():
                continue
            result = json.loads(line)
            response = result.get("response") or {}
            if response.get("status_code") == 200 and not result.get("error"):
                answers[result["custom_id"]] = json.dumps(response["body"])
            else:
                error = result.get("error") or (response.get("body") or {}).get("error") or {}
                said = [response.get("status_code"), error.get("code"), error.get("message")]
                errors[result["custom_id"]] = " ".join(str(part) for part in said if part)
    why = "; ".join(e.message or e.code or "" for e in (batch.errors.data or [])) if batch.errors else ""
    state.record(
        part, answers, errors, otherwise=f"batch {batch.id} {batch.status}{': ' + why if why else ''}"
    )
