"""The learning curve: dev micro-F1 against the number of training examples, one point a run,
one panel a recipe (base model, LoRA rank, task texts).

    ceasefire eval --split dev -m local/smollm2-135m -o lora=training/runs/numbered-25/adapter.gguf \\
        --json training/runs/numbered-25/dev_scores.json        # for each run, after training it
    python -m ceasefire_train.curve training/runs/numbered-25 training/runs/numbered-50 ...

Each run folder holds the `train_log.json` that `ceasefire_train.lora` writes and the
`dev_scores.json` of its adapter. Writes `training/learning_curve.png` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ceasefire.schema import SECTIONS
from ceasefire_train.lora import TrainConfig


def recipe(config: dict[str, str]) -> str:
    """What a run holds fixed along its curve: the base model, the LoRA rank, the task texts.
    A log without a key was written before it was an option: the run had its default."""
    base = config.get("base", TrainConfig.base).removeprefix("local/")
    texts = ", lean task texts" if config.get("prompts", "None") != "None" else ""
    return f"{base}, LoRA r{config.get('lora_rank', TrainConfig.lora_rank)}{texts}"


def curve_rows(runs: list[Path]) -> list[dict[str, Any]]:
    """One row a run, fewest examples first: its size, dev micro-F1 (P/R), per section, items."""
    rows = []
    for run in runs:
        log = json.loads((run / "train_log.json").read_text("utf-8"))
        scores = json.loads((run / "dev_scores.json").read_text("utf-8"))
        sections = scores["sections"]
        rows.append(
            {
                "run": run.name,
                "recipe": recipe(log["config"]),
                "fraction": float(log["config"].get("fraction", 1.0)),
                "examples": log["examples"],
                "tokens": log["tokens"],
                "train_s": log["seconds"],
                "f1": scores["overall"]["f1"],
                "precision": scores["overall"]["precision"],
                "recall": scores["overall"]["recall"],
                "sections": {s: sections[s]["fields"]["f1"] for s in SECTIONS},
                # Items written against items labelled: the "several items" gap.
                "items_predicted": sum(
                    sections[s]["items"]["tp"] + sections[s]["items"]["fp"] for s in SECTIONS
                ),
                "items_gold": sum(sections[s]["items"]["tp"] + sections[s]["items"]["fn"] for s in SECTIONS),
            }
        )
    return sorted(rows, key=lambda row: row["examples"])


def markdown_table(rows: list[dict[str, Any]]) -> str:
    columns = ["run", "recipe", "share of corpus", "examples", "dev micro-F1 (P / R)"]
    columns += ["talks, guarantees, attacks, territory", "items written / labelled"]
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for r in rows:
        per_section = ", ".join(f"{r['sections'][s]:.2f}" for s in SECTIONS)
        lines.append(
            f"| {r['run']} | {r['recipe']} | {r['fraction']:.0%} | {r['examples']} | "
            f"{r['f1']:.3f} ({r['precision']:.2f} / {r['recall']:.2f}) | {per_section} | "
            f"{r['items_predicted']} / {r['items_gold']} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no screen
    import matplotlib.pyplot as plt

    recipes = list(dict.fromkeys(r["recipe"] for r in rows))
    size = (6 * len(recipes), 4)
    figure, panels = plt.subplots(1, len(recipes), figsize=size, sharex=True, sharey=True, squeeze=False)
    for axes, name in zip(panels[0], recipes, strict=True):
        runs = [r for r in rows if r["recipe"] == name]
        examples = [r["examples"] for r in runs]
        axes.plot(examples, [r["f1"] for r in runs], marker="o", label="all fields (micro)")
        for section in SECTIONS:
            f1 = [r["sections"][section] for r in runs]
            axes.plot(examples, f1, linestyle=":", marker=".", label=section)
        axes.set_xscale("log")
        axes.set_xlabel("training examples (teacher corpus, log scale)")
        axes.set_title(name, fontsize=10)
        axes.legend(fontsize=8)
    panels[0][0].set_ylabel("dev micro-F1")
    figure.tight_layout()
    figure.savefig(png, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "runs", type=Path, nargs="+", help="run folders with train_log.json and dev_scores.json"
    )
    parser.add_argument("--png", type=Path, default=Path("training/learning_curve.png"))
    args = parser.parse_args(argv)
    rows = curve_rows(args.runs)
    plot(rows, args.png)
    print(markdown_table(rows))
    print(f"\n{args.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
