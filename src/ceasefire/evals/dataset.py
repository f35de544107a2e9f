"""Eval datasets: `DIR/articles/<id>.txt` with `DIR/gold/<id>.json`, and the gold checker.

A dataset may be split: `DIR/dev/articles`, `DIR/test/articles`, ... The checker proves
what a person cannot see at a glance: every gold file is a valid ArticleSummary and every
evidence quote is exactly `text[start:end]` of its article.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..schema import SECTIONS, ArticleSummary


@dataclass(frozen=True)
class Sample:
    id: str
    text: str
    gold: ArticleSummary


def dataset_dirs(root: Path) -> list[Path]:
    """`root` itself if it holds `articles/`, else each folder below it that does."""
    root = Path(root)
    if (root / "articles").is_dir():
        return [root]
    return sorted(p.parent for p in root.rglob("articles") if p.is_dir())


TEACHER_MARK = "TEACHER_LABELS"
"""A file that marks a dataset whose labels a model wrote (training data, never scored)."""


def resolve_dataset(root: str | Path, split: str | None = None) -> Path:
    path = Path(root) / split if split else Path(root)
    if not (path / "articles").is_dir():
        raise FileNotFoundError(f"{path} has no articles/ folder (expected {path}/articles/<id>.txt)")
    return path


def is_teacher_labelled(path: str | Path) -> bool:
    return any((folder / TEACHER_MARK).exists() for folder in (Path(path), *Path(path).parents))


def load_dataset(root: str | Path, split: str | None = None) -> list[Sample]:
    """The samples of a dataset (or of one split), sorted by id. Raises if a gold is invalid."""
    path = resolve_dataset(root, split)
    problems = check_dataset(path)
    if problems:
        raise ValueError(f"{path} has invalid gold labels:\n" + "\n".join(problems))
    samples = []
    for article in sorted((path / "articles").glob("*.txt")):
        gold = ArticleSummary.model_validate_json((path / "gold" / f"{article.stem}.json").read_text("utf-8"))
        samples.append(Sample(article.stem, article.read_text("utf-8"), gold))
    return samples


def check_gold(text: str, gold_json: str) -> list[str]:
    """Problems of one gold label against its article; empty when it is sound."""
    try:
        gold = ArticleSummary.model_validate(json.loads(gold_json))
    except json.JSONDecodeError as exc:
        return [f"not JSON: {exc}"]
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    problems = []
    for section, item in gold.items():
        index = getattr(gold, section).index(item)
        for evidence in item.evidence:
            where = f"{section}[{index}] evidence {evidence.quote[:40]!r}"
            if evidence.start is None or evidence.end is None:
                problems.append(f"{where}: no offsets")
            elif text[evidence.start : evidence.end] != evidence.quote:
                problems.append(f"{where}: text[{evidence.start}:{evidence.end}] is not the quote")
    if len(gold.headline.split()) > 20:
        problems.append("headline: more than 20 words")
    return problems


def check_dataset(root: str | Path) -> list[str]:
    """Every problem of every gold label under `root` (or of one gold file), as `path: problem` lines."""
    if Path(root).suffix == ".json":
        article = article_of(Path(root))
        if not article.exists():
            return [f"{root}: no article {article.name}"]
        return [f"{root}: {p}" for p in check_gold(article.read_text("utf-8"), Path(root).read_text("utf-8"))]
    problems = []
    dirs = dataset_dirs(Path(root))
    if not dirs:
        return [f"{root}: no articles/ folder found"]
    for path in dirs:
        articles = {p.stem: p for p in (path / "articles").glob("*.txt")}
        golds = {p.stem: p for p in (path / "gold").glob("*.json")}
        for missing in sorted(articles.keys() - golds.keys()):
            problems.append(f"{path}/gold/{missing}.json: missing")
        for orphan in sorted(golds.keys() - articles.keys()):
            problems.append(f"{golds[orphan]}: no article {orphan}.txt")
        for stem in sorted(articles.keys() & golds.keys()):
            text = articles[stem].read_text("utf-8")
            problems += [f"{golds[stem]}: {p}" for p in check_gold(text, golds[stem].read_text("utf-8"))]
    return problems


def anchor_quotes(text: str, label: dict) -> list[str]:
    """Fill in `start`, `end` and `alignment` of every evidence quote of a label, in place.

    Labellers write quotes; offsets are computed here, never typed. A quote is anchored at its
    first exact occurrence in the article. Returns the quotes that are not in the article.
    """
    problems = []
    for section in SECTIONS:
        for index, item in enumerate(label.get(section) or []):
            for evidence in item.get("evidence") or []:
                start = text.find(evidence["quote"])
                if start < 0:
                    problems.append(
                        f"{section}[{index}] evidence {evidence['quote'][:60]!r}: not in the article"
                    )
                    evidence.update(start=None, end=None, alignment="none")
                else:
                    evidence.update(start=start, end=start + len(evidence["quote"]), alignment="exact")
    return problems


def gold_files(root: str | Path) -> list[Path]:
    """`root` itself if it is a gold `.json` file, else every gold label of the dataset under it."""
    root = Path(root)
    if root.suffix == ".json":
        return [root]
    return [gold for path in dataset_dirs(root) for gold in sorted((path / "gold").glob("*.json"))]


def article_of(gold_path: Path) -> Path:
    return gold_path.parent.parent / "articles" / f"{gold_path.stem}.txt"


def anchor_dataset(root: str | Path) -> list[str]:
    """Anchor the quotes of every gold label under `root` (or of one gold file), rewriting them."""
    problems = []
    for gold_path in gold_files(root):
        article = article_of(gold_path)
        if not article.exists():
            problems.append(f"{gold_path}: no article {article.name}")
            continue
        label = json.loads(gold_path.read_text("utf-8"))
        problems += [f"{gold_path}: {p}" for p in anchor_quotes(article.read_text("utf-8"), label)]
        gold_path.write_text(json.dumps(label, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return problems
