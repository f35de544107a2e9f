"""The `ceasefire` command line: a thin layer over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from .display import render_rich
from .errors import CeasefireError
from .evals.store import DEFAULT_STORE, RunStore
from .summarize import summarize

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Source-grounded summaries of war and peace diplomacy news.",
)
err = Console(stderr=True)


@app.callback()
def root() -> None:
    """Source-grounded summaries of war and peace diplomacy news."""


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def read_article(source: str) -> str:
    """The text of FILE, or of stdin for `-`, with a clear message for what cannot be read."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise fail(f"no such file: {source}", 2) from None
    except IsADirectoryError:
        raise fail(f"{source} is a directory, not an article file", 2) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start})", 2) from None


ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model string, e.g. local/smollm2-135m, openai/gpt-4o-mini, "
        "gguf:/path/model.gguf. Default: $CEASEFIRE_MODEL or the embedded model.",
    ),
]


OptionsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        "-o",
        help="A backend option, KEY=VALUE (repeatable): -o n_ctx=4096, -o lora=adapter.gguf, "
        "-o base_url=http://localhost:8080/v1. Checked against the backend's accepted options.",
    ),
]


def parse_option_pairs(pairs: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` pairs as keyword options; the backend's option model converts the values."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--option wants KEY=VALUE, not {pair!r}", 2)
        options[key.strip()] = value
    return options


@app.command("summarize")
def summarize_command(
    file: Annotated[str, typer.Argument(help="Article text file, or - for stdin.")],
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ArticleSummary as JSON.")] = False,
    prompts: Annotated[
        Path | None, typer.Option(help="Directory of prompt templates overriding the packaged ones.")
    ] = None,
    drop_ungrounded: Annotated[
        bool, typer.Option(help="Drop items whose evidence is not in the article instead of flagging them.")
    ] = False,
    option: OptionsOption = None,
) -> None:
    """Summarize one article."""
    article = read_article(file)
    try:
        summary = summarize(
            article,
            model=model,
            prompts_dir=prompts,
            on_ungrounded="drop" if drop_ungrounded else "flag",
            **parse_option_pairs(option),
        )
    except CeasefireError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
    else:
        Console().print(render_rich(summary))


eval_app = typer.Typer(help="Score summaries against hand-labelled datasets.")
app.add_typer(eval_app, name="eval")

StoreOption = Annotated[Path, typer.Option("--store", help="SQLite file of runs and cached answers.")]


@eval_app.callback(invoke_without_command=True)
def eval_command(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="Dataset folder (DIR/articles, DIR/gold).")] = Path(
        "evals/datasets"
    ),
    split: Annotated[str | None, typer.Option(help="Split folder inside the dataset: dev or test.")] = "dev",
    model: ModelOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the scores as JSON here.")] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Call the model even for cached answers.")
    ] = False,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once (API backends only).")] = 4,
    prompts: Annotated[Path | None, typer.Option(help="Directory of prompt templates.")] = None,
    store: StoreOption = DEFAULT_STORE,
    fields: Annotated[bool, typer.Option("--fields", help="Also print the per-field table.")] = False,
    option: OptionsOption = None,
) -> None:
    """Run the summarizer over a dataset split, score it, store the run and print the scores."""
    if ctx.invoked_subcommand is not None:
        return
    from .evals.dataset import load_dataset
    from .evals.harness import run_eval

    split = split or None
    try:
        run = run_eval(
            dataset,
            split,
            model,
            use_cache=not no_cache,
            concurrency=concurrency,
            store=RunStore(store),
            prompts_dir=prompts,
            **parse_option_pairs(option),
        )
    except (CeasefireError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    _print_scores(run.scores, fields)
    if json_out:
        json_out.write_text(json.dumps(run.scores, indent=2))
    if html_out:
        from .evals.report import html_report

        samples = load_dataset(run.scores["dataset"])
        html_out.write_text(html_report(run.scores, samples, run.results), encoding="utf-8")
        err.print(f"HTML report: {html_out}")


def _print_scores(scores: dict, fields: bool) -> None:
    from .evals.report import fields_table, scores_table

    console = Console()
    console.print(scores_table(scores))
    if fields:
        console.print(fields_table(scores))
    if scores.get("errors"):
        err.print(f"[yellow]{len(scores['errors'])} articles failed:[/] " + ", ".join(scores["errors"]))


def exit_on_problems(problems: list[str]) -> None:
    """Print each problem of a dataset command, and exit with 1 if there is any."""
    for problem in problems:
        err.print(problem, highlight=False, markup=False)
    if problems:
        raise typer.Exit(1)


@eval_app.command("check")
def check_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder, or one gold .json file, to check.")],
) -> None:
    """Check gold labels: valid schema, enums, required fields, quotes equal to text[start:end]."""
    from .evals.dataset import check_dataset, gold_files

    problems = check_dataset(dataset)
    exit_on_problems(problems)
    typer.echo(f"{len(gold_files(dataset))} gold labels OK in {dataset}")


@eval_app.command("anchor")
def anchor_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder, or one gold .json file.")],
) -> None:
    """Compute the offsets of every gold evidence quote (labellers write quotes, never offsets)."""
    from .evals.dataset import anchor_dataset

    problems = anchor_dataset(dataset)
    exit_on_problems(problems)
    typer.echo(f"quotes anchored in {dataset}")


@eval_app.command("agree")
def agree_command(
    first: Annotated[Path, typer.Argument(help="Dataset folder of the reference labels.")],
    second: Annotated[
        Path, typer.Argument(help="Dataset folder of another labelling of some of its articles.")
    ],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the scores as JSON.")] = None,
) -> None:
    """Agreement between two labellings of the same articles, scored like a run (micro F1)."""
    from rich.table import Table

    from .evals.harness import agreement

    scores = agreement(first, second)
    table = Table(title=f"Agreement on {scores['n_articles']} articles (F1)", title_justify="left")
    for column in ("section", "items", "fields"):
        table.add_column(column, justify="left" if column == "section" else "right")
    for section, result in scores["sections"].items():
        table.add_row(section, f"{result['items']['f1']:.2f}", f"{result['fields']['f1']:.2f}")
    table.add_row("all (micro)", "", f"{scores['overall']['f1']:.2f}")
    Console().print(table)
    if json_out:
        json_out.write_text(json.dumps(scores, indent=2) + "\n", "utf-8")


@eval_app.command("candidates")
def candidates_command(
    dataset: Annotated[Path, typer.Option(help="Dataset folder (DIR/articles, DIR/gold).")] = Path(
        "evals/datasets"
    ),
    split: Annotated[str | None, typer.Option(help="Split folder inside the dataset: dev or test.")] = "dev",
) -> None:
    """Share of gold items whose evidence sentence the candidate filter offers a grammar-bound model."""
    from rich.table import Table

    from .evals.candidates import candidate_recall

    recall = candidate_recall(dataset, split or None)
    table = Table(title=f"Candidate sentences offered, {dataset} {split or ''}", title_justify="left")
    for column in ("section", "gold items", "offered", "recall", "candidates per article"):
        table.add_column(column, justify="left" if column == "section" else "right")
    for section, r in recall.items():
        table.add_row(
            section,
            str(r["items"]),
            str(r["offered"]),
            f"{r['recall']:.0%}",
            f"{r['candidates_per_article']:.1f}",
        )
    items, offered = sum(r["items"] for r in recall.values()), sum(r["offered"] for r in recall.values())
    table.add_row("all", str(items), str(offered), f"{offered / max(1, items):.0%}", "")
    Console().print(table)


@eval_app.command("runs")
def runs_command(store: StoreOption = DEFAULT_STORE) -> None:
    """List stored runs."""
    from rich.table import Table

    table = Table()
    table.add_column("run", no_wrap=True)
    for column in ("created", "model", "prompts", "split", "articles", "F1", "valid", "grounded"):
        table.add_column(column)
    for run in RunStore(store).runs():
        s = run["scores"]
        table.add_row(
            run["run_id"],
            run["created"],
            run["model"],
            run["prompt_version"],
            run["split"] or "",
            str(s["n_articles"]),
            f"{s['overall']['f1']:.3f}",
            f"{s['valid_rate']:.0%}",
            f"{s['grounded_rate']:.0%}",
        )
    Console().print(table)


@eval_app.command("rescore")
def rescore_command(
    run_id: str, store: StoreOption = DEFAULT_STORE, fields: Annotated[bool, typer.Option("--fields")] = False
) -> None:
    """Score a stored run again (current scorer and gold), without calling any model."""
    from .evals.harness import rescore

    try:
        run = rescore(run_id, RunStore(store))
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    _print_scores(run.scores, fields)


@eval_app.command("compare")
def compare_command(run_a: str, run_b: str, store: StoreOption = DEFAULT_STORE) -> None:
    """Per-field F1 deltas from RUN_A to RUN_B, and the articles that got worse."""
    from .evals.harness import compare
    from .evals.report import compare_table

    try:
        diff = compare(run_a, run_b, RunStore(store))
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    Console().print(compare_table(diff))
    if diff["worse_articles"]:
        Console().print(
            "articles that got worse: "
            + ", ".join(f"{w['article_id']} ({w['a']:.2f} → {w['b']:.2f})" for w in diff["worse_articles"])
        )
    else:
        Console().print("no article got worse")


@app.command("batch")
def batch_command(
    source: Annotated[
        Path, typer.Argument(help='JSONL ({"id", "text"} per line) or a folder of .txt files.')
    ],
    out: Annotated[Path, typer.Argument(help="JSONL of results; re-running resumes it.")],
    model: ModelOption = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once (API backends only).")] = 8,
    retry_failed: Annotated[bool, typer.Option(help="Try again the articles that failed last time.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    via: Annotated[
        Literal["sync", "openai-batch"],
        typer.Option(
            help="sync: request by request; openai-batch: the OpenAI Batch API (half the price, "
            "within 24 hours; state in OUT.batch.sqlite, so re-running resumes the same batches).",
        ),
    ] = "sync",
    reask: Annotated[
        Literal["batch", "sync"],
        typer.Option(
            help="With --via openai-batch: send reasks in a follow-up batch, or at once.",
        ),
    ] = "batch",
    option: OptionsOption = None,
) -> None:
    """Summarize many articles into a JSONL file; nothing lost, nothing done twice."""
    from .batch import run_batch

    if not source.exists():
        raise fail(f"no such file or folder: {source}", 2)
    try:
        tally = run_batch(
            source,
            out,
            model=model,
            concurrency=concurrency,
            retry_failed=retry_failed,
            progress=progress,
            via=via,
            reask=reask,
            **parse_option_pairs(option),
        )
    except CeasefireError as exc:
        raise fail(str(exc)) from None
    err.print(f"done {tally.done}, failed {tally.failed}, skipped {tally.skipped} → {out}")
    if tally.failed:
        raise typer.Exit(3)
