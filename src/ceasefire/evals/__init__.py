"""The eval harness: datasets with gold labels, scorers, a run store, reports.

>>> from ceasefire.evals import run_eval                     # doctest: +SKIP
>>> run_eval("evals/datasets", "dev").scores["overall"]      # doctest: +SKIP
"""

from .dataset import Sample, check_dataset, load_dataset
from .harness import EvalRun, compare, rescore, run_eval
from .scoring import aggregate, score_article
from .store import RunStore

__all__ = [
    "EvalRun",
    "RunStore",
    "Sample",
    "aggregate",
    "check_dataset",
    "compare",
    "load_dataset",
    "rescore",
    "run_eval",
    "score_article",
]
