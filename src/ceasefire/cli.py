"""The `ceasefire` command line: a thin layer over the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .display import render_rich
from .errors import CeasefireError
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
) -> None:
    """Summarize one article."""
    article = read_article(file)
    try:
        summary = summarize(
            article, model=model, prompts_dir=prompts, on_ungrounded="drop" if drop_ungrounded else "flag"
        )
    except CeasefireError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
    else:
        Console().print(render_rich(summary))
