"""Notebook display: the HTML view (escaped, one highlight per evidence quote), DataFrames,
the quickstart notebook executed end to end, and the HTML rendered by a real browser."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ceasefire import ArticleSummary, SummaryResult, to_frames, visualize
from ceasefire.schema import SECTIONS
from ceasefire.sections import BY_NAME
from ceasefire.usage import Usage
from conftest import ROOT, SEED_ARTICLE, SEED_GOLD

ARTIFACTS = Path(__file__).parent / "artifacts"


class EvidenceMarks(HTMLParser):
    """The text highlighted for each `data-evidence` id; overlapping ids share pieces."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, str] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mark":
            self._open = (dict(attrs).get("data-evidence") or "").split()

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self._open = []

    def handle_data(self, data: str) -> None:
        for evidence_id in self._open:
            self.texts[evidence_id] = self.texts.get(evidence_id, "") + data


def highlighted(html: str) -> list[str]:
    parser = EvidenceMarks()
    parser.feed(html)
    return sorted(parser.texts.values())


def expected_spans(summary: ArticleSummary, article: str) -> list[str]:
    return sorted(
        article[e.start : e.end]
        for _, item in summary.items()
        for e in item.evidence
        if e.start is not None and e.end is not None
    )


@pytest.fixture
def result() -> SummaryResult:
    summary = ArticleSummary.model_validate_json(SEED_GOLD.read_text(encoding="utf-8"))
    return SummaryResult(SEED_ARTICLE.read_text(encoding="utf-8"), summary, Usage())


@pytest.fixture
def gold(result) -> ArticleSummary:
    return result.summary


def test_html_highlights_each_evidence_quote_once(result, gold):
    html = result._repr_html_()
    assert html == visualize(result) == visualize(gold, article=result.article)
    assert visualize(result)._repr_html_() == html  # Jupyter shows what visualize returns as HTML
    spans = highlighted(html)
    assert len(spans) == sum(len(item.evidence) for _, item in gold.items())
    assert spans == sorted(e.quote for _, item in gold.items() for e in item.evidence)
    assert "<script" not in html and "<link" not in html and "url(" not in html
    assert "<tr class='cf-ungrounded'>" not in html and "⚠ ungrounded" not in html


def test_html_escapes_model_values_and_marks_ungrounded_items(result, gold):
    gold.headline = "<script>alert(1)</script>"
    gold.attacks[0].target = '<img src=x onerror="alert(2)">'
    gold.attacks[1].evidence[0].start = gold.attacks[1].evidence[0].end = None
    gold.attacks[1].evidence[0].alignment = None
    html = result._repr_html_()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<tr class='cf-ungrounded'>") == 1
    assert "⚠ ungrounded" in html
    # Its quote cannot be highlighted, so the table shows it; every other quote is highlighted.
    assert gold.attacks[1].evidence[0].quote in html
    assert len(highlighted(html)) == sum(len(item.evidence) for _, item in gold.items()) - 1
    markdown = result._repr_markdown_()
    assert "<script" not in markdown and "⚠ ungrounded" in markdown


def test_html_without_article_lists_the_quotes(gold):
    html = visualize(gold)
    assert "<mark" not in html
    assert all(e.quote in html for _, item in gold.items() for e in item.evidence)


def test_the_contract_is_data_only(gold):
    assert set(gold.model_dump()) == set(ArticleSummary.model_fields)
    assert not hasattr(gold, "_repr_html_") and not hasattr(gold, "to_frames")
    # The contract imports nothing of ceasefire: no view, hence no import cycle.
    tree = ast.parse((ROOT / "src" / "ceasefire" / "schema.py").read_text("utf-8"))
    assert [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level] == []


def test_to_frames_rows_and_columns(result, gold):
    frames = result.to_frames()
    assert list(frames) == list(SECTIONS)
    for section, frame in frames.items():
        fields = [f for f in BY_NAME[section].item.model_fields if f != "evidence"]
        assert list(frame.columns) == ["article_id", *fields, "grounded", "evidence"]
        assert len(frame) == len(getattr(gold, section))
    attack = frames["attacks"].iloc[1]
    assert (attack["target"], attack["weapon"], attack["article_id"]) == ("oil depot", "drone", 0)
    evidence = attack["evidence"][0]
    assert evidence["quote"] == SEED_ARTICLE.read_text(encoding="utf-8")[evidence["start"] : evidence["end"]]

    stacked = to_frames({"a": gold, "b": gold})
    assert len(stacked["security_guarantees"]) == 2 * len(gold.security_guarantees)
    assert set(stacked["attacks"]["article_id"]) == {"a", "b"}
    assert list(to_frames([gold, result])["attacks"]["article_id"]) == [0, 0, 1, 1]
    empty = to_frames([])["attacks"]
    assert len(empty) == 0 and "weapon" in empty.columns


def test_to_frames_without_pandas_says_what_to_install(gold, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match=r"pip install 'ceasefire\[notebook\]'"):
        to_frames(gold)


# -- the quickstart notebook, executed (runs the embedded model: slow) -------------------------


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from ipykernel.kernelspec import install

    # A kernel spec for this very interpreter, whatever other `python3` kernels are installed.
    install(kernel_name="python3", prefix=str(tmp_path))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    monkeypatch.delenv("CEASEFIRE_MODEL", raising=False)  # the embedded default, offline
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    # One extra cell hands the displayed summary back to the test.
    nb.cells.append(nbformat.v4.new_code_cell("print(summary.model_dump_json())"))
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=900, resources={"metadata": {"path": str(ROOT / "notebooks")}}
    )
    client.execute()
    ARTIFACTS.mkdir(exist_ok=True)
    nbformat.write(nb, ARTIFACTS / "quickstart.ipynb")  # to look at what it showed

    def result(marker: str) -> dict[str, str]:
        """The displayed value of the code cell containing `marker`."""
        cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
        return next(o["data"] for o in cell.outputs if o["output_type"] == "execute_result")

    printed = next(o["text"] for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    summary = ArticleSummary.model_validate_json(printed)
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    display = result("Summarizer.from_model().run(")
    assert highlighted(display["text/html"]) == expected_spans(summary, article)
    assert "text/markdown" in display
    assert "overall (micro)" in result("scores_table(")["text/plain"]
    frame = result('frames["attacks"]')["text/html"]
    for column in ["article_id", "attacker", "target", "weapon", "grounded", "evidence"]:
        assert f"<th>{column}</th>" in frame


# -- the HTML in a real browser ----------------------------------------------------------------

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_seed_summary_renders_in_chromium(result, gold, tmp_path):
    page = tmp_path / "seed_summary.html"
    page.write_text(f"<!doctype html><meta charset='utf-8'><body>{visualize(result)}</body>", "utf-8")
    base = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]

    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert highlighted(dom) == expected_spans(gold, result.article)
    assert "Macron hosts Zelensky" in dom

    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "seed_summary.png"
    png.unlink(missing_ok=True)
    subprocess.run(
        [*base, f"--screenshot={png}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
