"""The command line: JSON of the schema on stdout, clear messages and exit codes on error."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ceasefire.backends import DEFAULT_MODEL
from ceasefire.cli import app
from ceasefire.schema import ArticleSummary
from conftest import SEED_ARTICLE

runner = CliRunner()


def test_summarize_json_prints_the_schema():
    result = runner.invoke(app, ["summarize", str(SEED_ARTICLE), "--json"])
    assert result.exit_code == 0, result.output
    summary = ArticleSummary.model_validate(json.loads(result.stdout))
    assert summary.metadata.model == DEFAULT_MODEL


def test_summarize_reads_stdin_and_renders_tables():
    result = runner.invoke(app, ["summarize", "-"], input=SEED_ARTICLE.read_text())
    assert result.exit_code == 0, result.output
    assert DEFAULT_MODEL in result.stdout


def test_missing_file_is_a_clear_error():
    result = runner.invoke(app, ["summarize", "no/such/article.txt"])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_not_utf8_is_a_clear_error(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Négociations à Genève".encode("latin-1"))
    result = runner.invoke(app, ["summarize", str(bad)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr


def test_empty_file_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    result = runner.invoke(app, ["summarize", str(empty)])
    assert result.exit_code == 1
    assert "empty" in result.stderr


def test_unknown_model_is_a_clear_error():
    result = runner.invoke(app, ["summarize", str(SEED_ARTICLE), "--model", "nope/x"])
    assert result.exit_code == 1
    assert "unknown model" in result.stderr


def test_backend_options_on_the_command_line_are_checked(tmp_path):
    article = tmp_path / "a.txt"
    article.write_text("Russia controls about 75% of Donetsk region, officials said on Monday.")
    typo = runner.invoke(app, ["summarize", str(article), "-m", "local/smollm2-135m", "-o", "n_ctxx=2048"])
    assert typo.exit_code == 1 and "unknown option 'n_ctxx'" in typo.output and "n_ctx" in typo.output
    bad = runner.invoke(app, ["summarize", str(article), "-o", "n_ctx"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
    small = runner.invoke(
        app, ["summarize", str(article), "-m", "local/smollm2-135m", "-o", "n_ctx=2048", "--json"]
    )
    assert small.exit_code == 0, small.output
    assert json.loads(small.stdout)["metadata"]["model"] == "local/smollm2-135m"
