"""The eval harness end to end: a server that answers with the gold labels scores 1.0; runs
are stored, cached, re-scored and compared; the CLI is a thin layer over it."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
from typer.testing import CliRunner

from ceasefire.choices import MIN_RELEVANCE, scored_candidates, sentence_of
from ceasefire.cli import app
from ceasefire.evals import RunStore, compare, load_dataset, rescore, run_eval
from ceasefire.evals.store import SCHEMA_VERSION
from ceasefire.schema import SECTIONS, Evidence
from chat_server import ChatServer, Reply, article_of, schema_name
from conftest import ROOT

SECTION_OF = {
    "TalksSection": "ceasefire_talks",
    "GuaranteesSection": "security_guarantees",
    "AttacksSection": "attacks",
    "TerritorySection": "territorial_control",
}
IDS = ["a01", "b04", "c03"]


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "data"
    for sub in ("articles", "gold"):
        (root / "dev" / sub).mkdir(parents=True)
    for i in IDS:
        shutil.copy(ROOT / f"evals/datasets/dev/articles/{i}.txt", root / "dev/articles")
        shutil.copy(ROOT / f"evals/datasets/dev/gold/{i}.json", root / "dev/gold")
    return root


def gold_answers(dataset, drop: str | None = None):
    """A server reply function that answers every section call with the gold label."""
    golds = {s.text: s.gold for s in load_dataset(dataset, "dev")}

    def answer(request):
        gold = golds[article_of(request)]
        name = schema_name(request)
        if name == "Overview":
            return Reply(content=gold.model_dump_json(include={"headline", "summary", "conflict"}))
        section = SECTION_OF[name]
        items = (
            []
            if section == drop
            else [
                {**item.model_dump(mode="json"), "evidence": [{"quote": e.quote} for e in item.evidence]}
                for item in getattr(gold, section)
            ]
        )
        return Reply(content=json.dumps({section: items}))

    return answer


def test_gold_answers_score_one_and_cache_skips_the_model(dataset, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    assert store.schema_version == SCHEMA_VERSION
    with ChatServer(gold_answers(dataset)) as server:
        options = {"base_url": server.base_url, "api_key": "sk-test", "progress": False, "store": store}
        cold = run_eval(dataset, "dev", "openai/test", **options)
        assert cold.scores["overall"]["f1"] == 1.0
        assert cold.scores["valid_rate"] == 1.0 and cold.scores["grounded_rate"] == 1.0
        assert cold.scores["n_articles"] == len(IDS) and cold.scores["cached_articles"] == 0
        calls = len(server.requests)
        assert calls == 5 * len(IDS)

        warm = run_eval(dataset, "dev", "openai/test", **options)
        assert len(server.requests) == calls  # no model call at all
        assert warm.scores["cached_articles"] == len(IDS)
        assert warm.scores["overall"] == cold.scores["overall"]

        run_eval(dataset, "dev", "openai/test", use_cache=False, **options)
        assert len(server.requests) == 2 * calls

    stored = store.results(cold.run_id)
    assert [r["article_id"] for r in stored] == sorted(IDS)
    assert all(len(r["raw"]) == 5 and r["summary"] for r in stored)


def test_rescore_and_compare_without_calling_a_model(dataset, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with ChatServer(gold_answers(dataset)) as good, ChatServer(gold_answers(dataset, drop="attacks")) as bad:
        a = run_eval(
            dataset, "dev", "openai/test", base_url=good.base_url, api_key="k", store=store, progress=False
        )
        b = run_eval(
            dataset,
            "dev",
            "openai/test",
            base_url=bad.base_url,
            api_key="k",
            store=store,
            progress=False,
            use_cache=False,
        )
        calls = len(good.requests) + len(bad.requests)
        again = rescore(a.run_id, store)
        assert again.scores["overall"] == a.scores["overall"]
        diff = compare(a.run_id, b.run_id, store)
        assert len(good.requests) + len(bad.requests) == calls
    assert diff["fields"]["attacks.target"]["delta"] < 0
    assert diff["fields"]["territorial_control.controller"]["delta"] == 0
    assert {w["article_id"] for w in diff["worse_articles"]} == {"a01", "b04", "c03"}
    assert b.scores["sections"]["attacks"]["items"]["recall"] == 0.0


def test_eval_cli_json_html_runs_rescore_compare(dataset, tmp_path, monkeypatch):
    runner = CliRunner()
    store = tmp_path / "cli.sqlite"
    out_json, out_html = tmp_path / "scores.json", tmp_path / "report.html"
    with ChatServer(gold_answers(dataset)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        args = [
            "eval",
            "--dataset",
            str(dataset),
            "--split",
            "dev",
            "--model",
            "openai/test",
            "--store",
            str(store),
            "--json",
            str(out_json),
            "--html",
            str(out_html),
        ]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        second = runner.invoke(app, args[:-4] + ["--json", str(tmp_path / "b.json")])
        assert second.exit_code == 0, second.output
    scores = json.loads(out_json.read_text())
    for key in (
        "run_id",
        "model",
        "n_articles",
        "overall",
        "sections",
        "fields",
        "valid_rate",
        "grounded_rate",
    ):
        assert key in scores
    assert set(scores["overall"]) >= {"precision", "recall", "f1"}
    html = out_html.read_text()
    assert html.count('<mark class="gold pred"') > 0 and "<script" not in html
    assert all(i in html for i in IDS)

    listed = runner.invoke(app, ["eval", "runs", "--store", str(store)])
    assert scores["run_id"] in listed.stdout
    rescored = runner.invoke(app, ["eval", "rescore", scores["run_id"], "--store", str(store)])
    assert rescored.exit_code == 0 and "overall" in rescored.stdout
    b_id = json.loads((tmp_path / "b.json").read_text())["run_id"]
    compared = runner.invoke(app, ["eval", "compare", scores["run_id"], b_id, "--store", str(store)])
    assert compared.exit_code == 0 and "no article got worse" in compared.stdout
    missing = runner.invoke(app, ["eval", "rescore", "zzzz", "--store", str(store)])
    assert missing.exit_code == 1 and "no run matches" in missing.stderr


@pytest.mark.parametrize("folder", ["seeds", "evals/datasets"])
def test_every_dataset_in_the_repo_passes_the_gold_checker(folder):
    result = CliRunner().invoke(app, ["eval", "check", str(ROOT / folder)])
    assert result.exit_code == 0, result.output


def test_gold_checker_reports_bad_offsets_and_enums(dataset):
    gold_file = dataset / "dev/gold/a01.json"
    gold = json.loads(gold_file.read_text())
    gold["attacks"][0]["evidence"][0]["start"] += 1
    gold["attacks"][0]["weapon"] = "trebuchet"
    gold_file.write_text(json.dumps(gold))
    result = CliRunner().invoke(app, ["eval", "check", str(dataset)])
    assert result.exit_code == 1
    assert "weapon" in result.stderr
    gold["attacks"][0]["weapon"] = "artillery"
    gold_file.write_text(json.dumps(gold))
    result = CliRunner().invoke(app, ["eval", "check", str(dataset)])
    assert result.exit_code == 1 and "is not the quote" in result.stderr


def test_agreement_of_two_labellings(tmp_path):
    from ceasefire.evals.harness import agreement

    assert agreement(ROOT / "seeds", ROOT / "seeds")["overall"]["f1"] == 1.0
    other = tmp_path / "other"
    shutil.copytree(ROOT / "seeds", other)
    gold_path = next((other / "gold").glob("*.json"))
    label = json.loads(gold_path.read_text())
    label["attacks"] = []  # the second labeller saw no attack
    gold_path.write_text(json.dumps(label))
    scores = agreement(ROOT / "seeds", other)
    assert scores["sections"]["attacks"]["items"]["recall"] == 0.0
    assert scores["sections"]["territorial_control"]["items"]["f1"] == 1.0
    assert 0 < scores["overall"]["f1"] < 1
    result = CliRunner().invoke(app, ["eval", "agree", str(ROOT / "seeds"), str(other)])
    assert result.exit_code == 0 and "attacks" in result.output and "Agreement on 1 articles" in result.output


def load_sweep():
    spec = importlib.util.spec_from_file_location(
        "item_relevance_sweep", ROOT / "evals/item_relevance_sweep.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_item_relevance_sweep_drops_the_items_on_weak_sentences(dataset, tmp_path):
    """A stored run answering as a model under a grammar would: each gold item resting on the whole
    candidate sentence its evidence lies in. The sweep keeps every item at the candidates' own floor
    and fewer, and only those on sentences at least as relevant, as the threshold rises."""
    relevance, results = [], []  # the log-odds of each item's sentence
    for sample in load_dataset(dataset, "dev"):
        answer = {}
        for section in SECTIONS:
            scored = scored_candidates(sample.text, section)
            spans = [span for span, _ in scored]
            kept = []
            for item in getattr(sample.gold, section):
                number = sentence_of(item.evidence, spans)
                if number is None:
                    continue
                (start, end), score = scored[number - 1]
                quote = sample.text[start:end]
                kept.append(
                    item.model_copy(update={"evidence": [Evidence(quote=quote, start=start, end=end)]})
                )
                relevance.append(score)
            answer[section] = kept
        summary = sample.gold.model_copy(update=answer).model_dump_json()
        results.append(
            {
                "article_id": sample.id,
                "summary": summary,
                "error": None,
                "raw": [],
                "tokens_in": 0,
                "tokens_out": 0,
                "latency_s": 0.0,
                "cached": 0,
                "scores": None,
            }
        )
    run = {
        "run_id": "sweep-test",
        "created": "now",
        "model": "gold/sentences",
        "prompt_version": "p",
        "dataset": str(dataset / "dev"),
        "split": "dev",
        "config": {},
        "scores": {},
        "wall_s": 0.0,
    }
    store = RunStore(tmp_path / "runs.sqlite")
    store.save_run(run, results)

    thresholds = [MIN_RELEVANCE, -2.0, 0.0, 5.0]
    rows = load_sweep().sweep(store, "sweep-test", thresholds)

    assert [row["threshold"] for row in rows] == thresholds
    assert [row["kept"] for row in rows] == [sum(s >= t for s in relevance) for t in thresholds]
    assert rows[0]["kept"] == len(relevance) and rows[-1]["kept"] < len(relevance)
    recalls = [row["recall"] for row in rows]
    assert recalls == sorted(recalls, reverse=True) and recalls[-1] < recalls[0]
