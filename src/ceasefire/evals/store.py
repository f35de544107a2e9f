"""The run store: every eval run, and the cache of model answers, in one SQLite file.

Runs keep their configuration, each article's raw completions, parsed summary, usage and
scores, so a run can be listed, re-scored and compared later without calling a model. The
cache maps (configuration, article hash) to a summary, so an unchanged configuration never
calls the model twice for the same article. `PRAGMA user_version` is the schema version;
MIGRATIONS bring an older file up to date.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_STORE = Path(".ceasefire") / "runs.sqlite"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        created TEXT NOT NULL,
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        dataset TEXT NOT NULL,
        split TEXT,
        config TEXT NOT NULL,
        scores TEXT NOT NULL,
        wall_s REAL NOT NULL
    );
    CREATE TABLE results (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        article_id TEXT NOT NULL,
        summary TEXT,
        error TEXT,
        raw TEXT NOT NULL,
        tokens_in INTEGER NOT NULL,
        tokens_out INTEGER NOT NULL,
        latency_s REAL NOT NULL,
        cached INTEGER NOT NULL,
        scores TEXT,
        PRIMARY KEY (run_id, article_id)
    );
    CREATE TABLE cache (
        key TEXT PRIMARY KEY,
        summary TEXT NOT NULL,
        raw TEXT NOT NULL,
        tokens_in INTEGER NOT NULL,
        tokens_out INTEGER NOT NULL,
        latency_s REAL NOT NULL,
        created TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def cache_key(config: dict[str, Any], article: str) -> str:
    """Hash of the summarizer configuration and the article text."""
    payload = json.dumps(config, sort_keys=True, default=str) + "\0" + article
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunStore:
    """A SQLite file of runs and cached answers. Safe to share between threads."""

    def __init__(self, path: str | Path = DEFAULT_STORE):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has store schema {version}; this ceasefire knows {SCHEMA_VERSION}"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._db:
                self._db.executescript(script)
                self._db.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def close(self) -> None:
        self._db.close()

    # The cache of model answers.
    def cached(self, key: str) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute("SELECT * FROM cache WHERE key = ?", (key,)).fetchone()

    def put_cache(
        self, key: str, summary_json: str, raw: list[str], tokens_in: int, tokens_out: int, latency_s: float
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, summary_json, json.dumps(raw), tokens_in, tokens_out, latency_s, now()),
            )

    # Runs.
    def save_run(self, run: dict[str, Any], results: list[dict[str, Any]]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (:run_id, :created, :model, :prompt_version, :dataset, "
                ":split, :config, :scores, :wall_s)",
                {**run, "config": json.dumps(run["config"]), "scores": json.dumps(run["scores"])},
            )
            db.executemany(
                "INSERT OR REPLACE INTO results VALUES (:run_id, :article_id, :summary, :error, :raw, "
                ":tokens_in, :tokens_out, :latency_s, :cached, :scores)",
                [
                    {
                        **r,
                        "run_id": run["run_id"],
                        "raw": json.dumps(r["raw"]),
                        "scores": json.dumps(r["scores"]),
                    }
                    for r in results
                ],
            )

    def update_scores(self, run_id: str, scores: dict[str, Any], per_article: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET scores = ? WHERE run_id = ?", (json.dumps(scores), run_id))
            db.executemany(
                "UPDATE results SET scores = ? WHERE run_id = ? AND article_id = ?",
                [(json.dumps(s), run_id, a) for a, s in per_article.items()],
            )

    def runs(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM runs ORDER BY created, rowid").fetchall()
        return [_run_dict(r) for r in rows]

    def run(self, run_id: str) -> dict[str, Any]:
        """A run by id, or by a unique prefix of its id."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\'",
                (run_id.replace("%", "\\%").replace("_", "\\_") + "%",),
            ).fetchall()
        if len(rows) != 1:
            raise KeyError(f"{'no' if not rows else 'more than one'} run matches {run_id!r} in {self.path}")
        return _run_dict(rows[0])

    def results(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM results WHERE run_id = ? ORDER BY article_id", (run_id,)
            ).fetchall()
        return [
            {
                **dict(r),
                "raw": json.loads(r["raw"]),
                "scores": json.loads(r["scores"]) if r["scores"] else None,
            }
            for r in rows
        ]


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "config": json.loads(row["config"]), "scores": json.loads(row["scores"])}
