"""Which sentences may report a section: a linear model over a sentence's words.

Under a grammar a tiny model sees only a section's candidate sentences (choices.py), so which
sentences those are bounds what it can find, and every sentence that states nothing for the
section is one it may still write an item from. Counting cue words ("support", "force",
"plan") offered the sentence of 77% of dev's labelled guarantees among 4.6 sentences an
article, of which 22% were a labelled item's evidence; this model, trained on the teacher corpus
(`python -m ceasefire_train.relevance`), ranks sentences by the words and word pairs that
labelled sentences carry, with the cue count as one more feature: at the threshold dev chose
(`choices.MIN_RELEVANCE`) it offers 94% of those guarantees among 3.4 sentences.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
from importlib.resources import files

from .sections import BY_NAME

WEIGHTS_FILE = "relevance.json"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def features(sentence: str, index: int, section: str) -> set[str]:
    """Lowercased words and word pairs (digits as "#"), the sentence's place in the article
    (leads differ), whether it gives a share, and how many of the section's cues it has."""
    words = ["#" if w.isdigit() else w.lower() for w in _WORD.findall(sentence)]
    found = {*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))}
    cues = len(BY_NAME[section].cue_pattern.findall(sentence))
    found |= {"__bias", f"__position{min(index, 5)}", f"__cues{min(cues, 4)}"}
    if "%" in sentence or "per cent" in sentence or "percent" in sentence:
        found.add("__share")
    return found


@functools.cache
def _weights_text() -> str:
    return files("ceasefire").joinpath(WEIGHTS_FILE).read_text("utf-8")


@functools.cache
def _weights() -> dict[str, dict[str, float]]:
    return json.loads(_weights_text())


def weights_id() -> str:
    """A hash of the weights: retraining them changes the candidates."""
    return hashlib.sha256(_weights_text().encode()).hexdigest()[:12]


def score(sentence: str, index: int, section: str) -> float:
    """Log-odds that the sentence (the `index`-th of its article, from 0) states an item of the
    section."""
    weights = _weights()[section]
    return sum(weights.get(f, 0.0) for f in features(sentence, index, section))
