"""API keys never appear in logs, exception messages, the run store, batch output or reports,
even when a server echoes the key back in an error."""

from __future__ import annotations

import json
import logging
import shutil

from ceasefire.backends import RetryPolicy
from ceasefire.batch import run_batch
from ceasefire.evals import RunStore, run_eval
from ceasefire.evals.dataset import load_dataset
from ceasefire.evals.report import html_report
from chat_server import ChatServer, Reply, plausible_answer
from conftest import ROOT

KEY = "sk-fake-SECRET-0123456789abcdef"


def test_key_never_leaks(tmp_path, capsys):
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    calls = {"n": 0}

    def echoing(request):
        calls["n"] += 1
        if calls["n"] % 4 == 0:  # a server that quotes the credentials it was sent
            auth = server.headers_seen[-1].get("authorization", "")
            return Reply(status=401, body=json.dumps({"error": {"message": f"bad key {auth}"}}).encode())
        return plausible_answer(request)

    data = tmp_path / "data" / "dev"
    for sub in ("articles", "gold"):
        (data / sub).mkdir(parents=True)
    for i in ("a01", "b01", "c03"):
        shutil.copy(ROOT / f"evals/datasets/dev/articles/{i}.txt", data / "articles")
        shutil.copy(ROOT / f"evals/datasets/dev/gold/{i}.json", data / "gold")
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"x{i}", "text": f"Drones hit a depot {i}. Talks stalled."}) + "\n"
            for i in range(12)
        )
    )
    try:
        with ChatServer(echoing) as server:
            options = {"base_url": server.base_url, "api_key": KEY, "policy": RetryPolicy(reasks=1)}
            tally = run_batch(source, tmp_path / "out.jsonl", model="openai/test", progress=False, **options)
            store = RunStore(tmp_path / "runs.sqlite")
            run = run_eval(data.parent, "dev", "openai/test", store=store, progress=False, **options)
            (tmp_path / "report.html").write_text(html_report(run.scores, load_dataset(data), run.results))
            (tmp_path / "scores.json").write_text(json.dumps(run.scores))
            store.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert any(KEY in h.get("authorization", "") for h in server.headers_seen), "the key was really sent"
    assert tally.failed > 0, "some calls failed with the key in the error"
    captured = capsys.readouterr()
    for path in tmp_path.iterdir():
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path.name
    assert KEY not in captured.out + captured.err
    assert "[REDACTED]" in (tmp_path / "out.jsonl").read_text()


def test_a_key_never_reaches_a_log_record_of_ceasefire(caplog):
    from ceasefire.backends import resolve_backend

    resolve_backend("openai/test", api_key=KEY, base_url="http://127.0.0.1:9")  # registers the key
    with caplog.at_level(logging.DEBUG, logger="ceasefire"):
        logging.getLogger("ceasefire.backends").debug("a server said: bad key %s", KEY)
        try:
            raise RuntimeError(f"echoed {KEY}")
        except RuntimeError:
            logging.getLogger("ceasefire.backends").exception("failed")
    assert caplog.records and KEY not in caplog.text
    assert "[REDACTED]" in caplog.text


FOREIGN_LOGGING = """
import logging, sys
logging.basicConfig(stream=sys.stdout, format="%(name)s %(message)s")
if sys.argv[1] == "with":
    from ceasefire.backends import resolve_backend
    resolve_backend("openai/test", api_key="sk-fake-SECRET-0123456789abcdef", base_url="http://127.0.0.1:9")
log = logging.getLogger("someone.else")
log.warning("%s %s", 1)  # malformed: the standard library reports it and carries on
log.warning("still %s", "here")
print("factory is the standard one:", logging.getLogRecordFactory() is logging.LogRecord)
print("filters:", logging.getLogger().filters, log.filters)
"""


def test_foreign_logging_behaves_as_without_ceasefire():
    import subprocess
    import sys

    def run(mode):
        done = subprocess.run([sys.executable, "-c", FOREIGN_LOGGING, mode], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr.count("--- Logging error ---")

    assert run("with") == run("without")
    out, logging_errors = run("with")
    assert logging_errors == 1 and "someone.else still here" in out
    assert "factory is the standard one: True" in out
