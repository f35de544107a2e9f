"""The OpenAI Batch API path: the same lines as a synchronous batch, reasks in a follow-up batch
or at once, failed lines and expired batches sent again, and a kill -9 while polling resumed
without a second submission; against a local server speaking the Files and Batches endpoints."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest

from batch_server import BatchServer
from ceasefire.batch import run_batch
from ceasefire.errors import ConfigurationError
from ceasefire.openai_batch import MAX_TRIES, BatchState, state_path
from chat_server import ChatServer, Reply, article_of, plausible_answer, schema_name
from conftest import ROOT
from test_batch import read_out, write_jsonl

SECTIONS = ("overview", "ceasefire_talks", "security_guarantees", "attacks", "territorial_control")
INVENTED = {
    "territorial_control": [
        {"evidence": [{"quote": "Kyiv fell"}], "controller": "Russia", "territory": "Kyiv"}
    ]
}


def via_batch(source, out, server, **options) -> Any:
    return run_batch(
        source,
        out,
        model="openai/test",
        base_url=server.base_url,
        api_key="sk-test",
        progress=False,
        via="openai-batch",
        **options,
    )


def article_id(request: dict[str, Any]) -> str:
    return article_of(request).split(".")[0].removeprefix("Report ")


def is_reask(request: dict[str, Any]) -> bool:
    return len(request["messages"]) > 2


def faulty_once(faults: dict[tuple[str, str], str]):
    """Answers plausibly, except the first request of (article, schema) in `faults`: an invalid
    answer, an ungrounded one, a 500 once, or a 503 every time ("down")."""

    def answer(request: dict[str, Any]) -> Reply:
        fault = None if is_reask(request) else faults.get((article_id(request), schema_name(request)))
        if fault == "down":
            return Reply(status=503, body=b'{"error": {"message": "overloaded"}}')
        if fault == "invalid":
            return Reply(content=json.dumps({"headline": "no summary"}))
        if fault == "ungrounded":
            return Reply(content=json.dumps(INVENTED))
        if fault == "500":
            faults.pop((article_id(request), schema_name(request)))  # fails once, in the batch
            return Reply(status=500, body=b'{"error": {"message": "boom", "code": "server_error"}}')
        return plausible_answer(request)

    return answer


def input_lines(server: BatchServer, number: int) -> list[dict[str, Any]]:
    batch = server.batches[f"batch_{number}"]
    return [json.loads(line) for line in server.files[batch["input_file_id"]].splitlines()]


def without_latency(record: dict[str, Any]) -> dict[str, Any]:
    record["summary"]["metadata"].pop("latency_s")
    return record


def test_one_batch_gives_the_lines_of_a_synchronous_run(tmp_path):
    source = tmp_path / "in.jsonl"
    ids = write_jsonl(source, 6)
    with BatchServer() as server:
        tally = via_batch(source, tmp_path / "batch.jsonl", server)
    with ChatServer() as chat:
        run_batch(
            source,
            tmp_path / "sync.jsonl",
            model="openai/test",
            base_url=chat.base_url,
            api_key="k",
            progress=False,
        )
    assert (tally.done, tally.failed, tally.reasked, tally.batches) == (6, 0, 0, 1)
    by_batch = [without_latency(r) for r in read_out(tmp_path / "batch.jsonl")]
    by_sync = [without_latency(r) for r in read_out(tmp_path / "sync.jsonl")]
    assert sorted(by_batch, key=str) == sorted(by_sync, key=str)
    lines = input_lines(server, 1)
    assert sorted(line["custom_id"] for line in lines) == sorted(f"{i}/{s}/1" for i in ids for s in SECTIONS)
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}
    assert {line["body"]["model"] for line in lines} == {"test"}


def test_invalid_and_ungrounded_answers_are_reasked_in_a_follow_up_batch(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, 4)
    faults = {("a001", "Overview"): "invalid", ("a002", "TerritorySection"): "ungrounded"}
    with BatchServer(faulty_once(faults)) as server:
        tally = via_batch(source, out, server)
    assert (tally.done, tally.failed, tally.reasked, tally.batches) == (4, 0, 2, 2)
    assert sorted(line["custom_id"] for line in input_lines(server, 2)) == [
        "a001/overview/2",
        "a002/territorial_control/2",
    ]
    records = {r["id"]: r["summary"] for r in read_out(out)}
    assert records["a001"]["summary"] == "A summary."
    assert records["a001"]["metadata"]["attempts"] == 6  # the reask counts, as in a synchronous run
    assert records["a002"]["territorial_control"] == []  # the invented quote was withdrawn on reask
    reask = input_lines(server, 2)[0]["body"]["messages"]
    assert "Field required" in json.dumps(reask) or "not in the article" in json.dumps(reask)


def test_reask_sync_asks_at_once(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, 4)
    faults = {("a001", "Overview"): "invalid", ("a002", "TerritorySection"): "ungrounded"}
    with BatchServer(faulty_once(faults)) as server:
        tally = via_batch(source, out, server, reask="sync")
        assert (server.created, server.sync_requests) == (1, 2)
    assert (tally.done, tally.reasked) == (4, 2)


def test_failed_lines_and_an_expired_batch_are_sent_again(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_jsonl(source, 6)
    with BatchServer(faulty_once({("a004", "AttacksSection"): "500"})) as server:
        server.expire = {1}  # the first batch expires half done
        tally = via_batch(source, out, server)
        assert server.batches["batch_1"]["status"] == "expired"
    assert (tally.done, tally.failed) == (6, 0)
    assert Counter(r["id"] for r in read_out(out)) == Counter(ids)
    retried = {line["custom_id"] for line in input_lines(server, 2)}
    assert "a004/attacks/1" in retried and len(retried) >= 15  # the failed line and the expired half


def test_a_request_that_fails_in_every_batch_fails_its_article_only(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, 3)

    def down_for_a001(request):
        if article_id(request) == "a001" and schema_name(request) == "AttacksSection":
            return Reply(status=503, body=b'{"error": {"message": "overloaded"}}')
        return plausible_answer(request)

    with BatchServer(down_for_a001) as server:
        tally = via_batch(source, out, server)
        assert server.created == MAX_TRIES
    assert (tally.done, tally.failed) == (2, 1)
    (error,) = [r["error"] for r in read_out(out) if "error" in r]
    assert f"failed {MAX_TRIES} times" in error["message"] and "overloaded" in error["message"]


def test_a_batch_created_but_not_recorded_is_found_again(tmp_path, monkeypatch):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_jsonl(source, 3)
    recorded = BatchState.set_batch

    def crash_after_create(self, part, *, input_file_id=None, batch_id=None):
        if batch_id:
            raise KeyboardInterrupt("killed between creating the batch and recording it")
        recorded(self, part, input_file_id=input_file_id)

    with BatchServer() as server:
        monkeypatch.setattr(BatchState, "set_batch", crash_after_create)
        with pytest.raises(KeyboardInterrupt):
            via_batch(source, out, server)
        monkeypatch.setattr(BatchState, "set_batch", recorded)
        tally = via_batch(source, out, server)
        assert server.created == 1 and len(server.files) == 2  # one input, one output file
    assert (tally.done, tally.batches) == (3, 0)
    assert sorted(r["id"] for r in read_out(out)) == ids


def test_kill_9_while_polling_then_resume_submits_nothing_twice(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_jsonl(source, 20)
    with BatchServer(duration_s=4.0) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
        command = [sys.executable, "-m", "ceasefire", "batch", str(source), str(out)]
        command += ["--model", "openai/test", "--via", "openai-batch", "--reask", "batch", "--no-progress"]
        first = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while server.retrieved < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        assert server.created == 1 and server.batches["batch_1"]["status"] != "completed", (
            "killed while polling"
        )
        assert not out.exists() or out.read_text() == ""
        state = BatchState(state_path(out))
        assert [p["batch_id"] for p in state.open_parts()] == ["batch_1"]
        second = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert server.created == 1  # the same batch was picked up, none submitted again
    assert Counter(r["id"] for r in read_out(out)) == Counter(ids)
    assert "done 20, failed 0" in second.stderr
    resumed = second.stderr.strip()
    print(f"\nkill -9 while polling: batches created 1, polls {server.retrieved}, resumed: {resumed}")


def test_200_articles_with_reasks_failed_lines_and_an_expired_batch(tmp_path):
    rng = random.Random(16)
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_jsonl(source, 200)
    kinds = {"Overview": "invalid", "TerritorySection": "ungrounded", "AttacksSection": "500"}
    faults = {(i, schema): kind for i in ids for schema, kind in kinds.items() if rng.random() < 0.08}
    faults.update({(i, "GuaranteesSection"): "down" for i in rng.sample(ids, 3)})  # fail in every batch
    planned = Counter(faults.values())
    faults_at_start = dict(faults)  # a "500" fault is spent when it fires
    with BatchServer(faulty_once(faults)) as server:
        server.expire = {2}  # the first follow-up batch expires half done
        tally = via_batch(source, out, server)
        created = server.created
    records = read_out(out)
    assert Counter(r["id"] for r in records) == Counter(ids)
    assert tally.done + tally.failed == 200
    down = {i for (i, _), kind in faults_at_start.items() if kind == "down"}
    assert tally.failed == len(down) == 3
    assert {r["id"] for r in records if "error" in r} == down
    reasked = {i for (i, _), kind in faults_at_start.items() if kind in ("invalid", "ungrounded")}
    assert tally.reasked == len(reasked)
    print(
        f"\n200 articles via the Batch API: done {tally.done}, reasked {tally.reasked}, failed "
        f"{tally.failed}; faults planted {dict(planned)}; requests {tally.requests}; batches {created}"
    )


def test_the_batch_api_needs_an_openai_model(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, 1)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match="openai/<model>"):
        run_batch(source, tmp_path / "out.jsonl", model="anthropic/claude", api_key="k", via="openai-batch")
