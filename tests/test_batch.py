"""Batch runs lose nothing: faults, crashes, torn lines, bad input; every article one answer."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from ceasefire import ArticleSummary, summarize_many
from ceasefire.backends import RetryPolicy
from ceasefire.batch import run_batch
from chat_server import ChatServer, Reply, plausible_answer
from conftest import ROOT

QUICK = RetryPolicy(transport_attempts=4, max_wait_s=0.05, total_timeout_s=10, reasks=2)

FAULTS = {
    "429 retry-after": lambda r: Reply(
        status=429, body=b'{"error": {"message": "slow"}}', headers={"retry-after": "0.01"}
    ),
    "429": lambda r: Reply(status=429, body=b'{"error": {"message": "slow"}}'),
    "500": lambda r: Reply(status=500, body=b'{"error": {"message": "boom"}}'),
    "503": lambda r: Reply(status=503, body=b'{"error": {"message": "down"}}'),
    "reset": lambda r: Reply(reset=True),
    "read timeout": lambda r: Reply(content="{}", delay_s=1.0),  # the client gives up at 0.3 s
    "slow": lambda r: Reply(content=plausible_answer(r).content, delay_s=0.1),
    "truncated json": lambda r: Reply(content=plausible_answer(r).content[:-7]),
    "schema-invalid json": lambda r: Reply(content=json.dumps({"unexpected": True})),
}


def write_jsonl(path, n: int, prefix: str = "a") -> list[str]:
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    with path.open("w") as f:
        for i in ids:
            f.write(
                json.dumps({"id": i, "text": f"Report {i}. Drones struck a fuel depot in region {i}."}) + "\n"
            )
    return ids


def read_out(path) -> list[dict]:
    text = path.read_text()
    assert text.endswith("\n"), "no torn last line"
    return [json.loads(line) for line in text.splitlines()]


def test_200_articles_with_30_percent_faults_lose_nothing(tmp_path):
    rng = random.Random(7)
    injected: Counter[str] = Counter()

    def faulty(request):
        if rng.random() < 0.30:
            kind = rng.choice(list(FAULTS))
            injected[kind] += 1
            return FAULTS[kind](request)
        return plausible_answer(request)

    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_jsonl(source, 200)
    with ChatServer(faulty) as server:
        tally = run_batch(
            source,
            out,
            model="openai/test",
            base_url=server.base_url,
            api_key="sk-test",
            concurrency=16,
            progress=False,
            policy=QUICK,
            timeout=0.3,
        )
        requests = len(server.requests)
    records = read_out(out)
    assert Counter(r["id"] for r in records) == Counter(ids)  # none missing, none twice
    assert tally.done + tally.failed == 200 and tally.skipped == 0
    for r in records:
        assert ("summary" in r) != ("error" in r)
        if "error" in r:
            assert set(r["error"]) == {"type", "message", "attempts"}
    assert set(injected) == set(FAULTS)
    assert requests > 200 * 5  # faults were retried or reasked
    print(
        f"\nfault matrix: {dict(injected)}; requests {requests}; done {tally.done}; "
        f"failed {tally.failed}; lost 0"
    )


def test_concurrency_caps_requests_in_flight_and_fills_every_slot(tmp_path):
    def slow(request):
        return dataclasses.replace(plausible_answer(request), delay_s=0.05)

    texts = [f"Report {i}. Drones struck a fuel depot in region {i}." for i in range(24)]
    with ChatServer(slow) as server:
        results = summarize_many(
            texts, model="openai/test", base_url=server.base_url, api_key="sk-test", concurrency=4
        )
        assert all(isinstance(r, ArticleSummary) for r in results)
        # Never more than asked, and articles queue for the slots, so all four are used.
        assert server.most_in_flight == 4


def test_resume_skips_done_and_redoes_a_torn_line(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_jsonl(source, 6)
    with ChatServer() as server:
        options = {"model": "openai/test", "base_url": server.base_url, "api_key": "k", "progress": False}
        run_batch(source, out, **options)
        lines = out.read_text().splitlines()
        # A crash mid-write: the last answer is torn.
        out.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
        calls = len(server.requests)
        tally = run_batch(source, out, **options)
        assert len(server.requests) - calls == 5  # only the torn article was done again
    assert (tally.done, tally.skipped) == (1, 5)
    assert sorted(r["id"] for r in read_out(out)) == ids


def test_failed_articles_are_retried_only_when_asked(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, 3)
    down = lambda r: Reply(status=503, body=b"{}")  # noqa: E731
    with ChatServer(down) as server:
        options = {
            "model": "openai/test",
            "base_url": server.base_url,
            "api_key": "k",
            "progress": False,
            "policy": QUICK,
        }
        assert run_batch(source, out, **options).failed == 3
        assert run_batch(source, out, **options).skipped == 3
        server.default = plausible_answer
        tally = run_batch(source, out, retry_failed=True, **options)
    assert tally.done == 3
    assert all("summary" in r for r in read_out(out)) and len(read_out(out)) == 3


def test_folder_input_with_bad_files_reports_each(tmp_path):
    folder, out = tmp_path / "articles", tmp_path / "out.jsonl"
    folder.mkdir()
    (folder / "good.txt").write_text("Russia controls about 75% of the Donetsk region.")
    (folder / "latin1.txt").write_bytes("Négociations à Genève".encode("latin-1"))
    (folder / "empty.txt").write_text("  \n")
    (folder / "page.txt").write_text("<!DOCTYPE html><html><body><p>Talks.</p></body></html>")
    with ChatServer() as server:
        tally = run_batch(
            folder, out, model="openai/test", base_url=server.base_url, api_key="k", progress=False
        )
    records = {r["id"]: r for r in read_out(out)}
    assert "summary" in records["good"]
    assert "not UTF-8" in records["latin1"]["error"]["message"]
    assert "empty" in records["empty"]["error"]["message"]
    assert "HTML" in records["page"]["error"]["message"]
    assert (tally.done, tally.failed) == (1, 3)


def test_kill_9_then_resume_gives_every_article_once(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_jsonl(source, 60)
    slow = lambda r: Reply(content=plausible_answer(r).content, delay_s=0.03)  # noqa: E731
    with ChatServer(slow) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
        command = [
            sys.executable,
            "-m",
            "ceasefire",
            "batch",
            str(source),
            str(out),
            "--model",
            "openai/test",
            "--concurrency",
            "2",
            "--no-progress",
        ]
        first = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and out.read_text().count("\n") >= 15:
                break
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        done_at_kill = out.read_text().count("\n")
        assert 15 <= done_at_kill < 60, "killed halfway"
        second = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    records = read_out(out)
    assert Counter(r["id"] for r in records) == Counter(ids)
    assert f"skipped {done_at_kill}" in second.stderr or f"skipped {done_at_kill - 1}" in second.stderr


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "not JSON"),
        ('{"id": "x"}', 'no "text"'),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_bad_jsonl_lines_become_errors(tmp_path, line, message):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(line + "\n")
    with ChatServer() as server:
        tally = run_batch(
            source, out, model="openai/test", base_url=server.base_url, api_key="k", progress=False
        )
    (record,) = read_out(out)
    assert tally.failed == 1 and message in record["error"]["message"]


def test_an_error_line_counts_every_request_and_reads_in_one_line(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, 2)
    replies = {
        "a000": lambda r: Reply(status=500, body=b'{"error": {"message": "boom"}}'),
        "a001": lambda r: Reply(content=json.dumps({"headline": "h", "summary": ["not", "text"]})),
    }
    with ChatServer(lambda r: replies["a000" if "a000" in json.dumps(r) else "a001"](r)) as server:
        run_batch(
            source,
            out,
            model="openai/test",
            base_url=server.base_url,
            api_key="k",
            progress=False,
            policy=QUICK,
        )
    errors = {r["id"]: r["error"] for r in read_out(out)}
    assert errors["a000"]["attempts"] == QUICK.transport_attempts  # five 500s are five attempts
    assert "InternalServerError" in errors["a000"]["message"]
    assert errors["a001"]["attempts"] == QUICK.reasks + 1
    assert "last error: summary: Input should be a valid string" in errors["a001"]["message"]
    for error in errors.values():
        assert "\n" not in error["message"] and "<failed_attempts>" not in error["message"]
        assert len(error["message"]) < 400
