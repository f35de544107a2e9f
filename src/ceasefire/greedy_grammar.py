"""Greedy decoding under a grammar that checks the model's choice before the whole vocabulary.

llama-cpp-python 0.3.36 puts a response format's grammar in its sampler chain, which checks
every token of the vocabulary (SmolLM2's 49,152) against the grammar at every step. Under
greedy decoding only the most likely token that the grammar allows matters, and most steps it
is the most likely token of all: one check settles it, and the whole vocabulary is scanned
only when that token is refused. llama.cpp's own `common_sampler` does the same. The tokens
written are those of the grammar-first sampler; benchmarks/run.py measures the time saved.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp.llama_grammar import json_schema_to_gbnf

# llama_token_data as numpy lays it out: the whole vocabulary is handed to llama.cpp in place.
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class GreedyGrammar:
    """A llama-cpp-python logits processor keeping greedy decoding inside a JSON schema's
    grammar. One per completion: it follows the tokens written so far. Call `close()` after."""

    def __init__(self, llm: Any, schema: dict[str, Any]) -> None:
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        grammar = json_schema_to_gbnf(json.dumps(schema))
        self._grammar = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        self._vocabulary = np.zeros(llm.n_vocab(), dtype=_TOKEN_DATA)
        self._vocabulary["id"] = np.arange(llm.n_vocab())
        self._best = (llama_cpp.llama_token_data * 1)()
        self._accepted: int | None = None
        """Tokens of `input_ids` the grammar has seen (the prompt is not for it)."""
        self.scans = 0
        """Steps where the model's choice was refused and the whole vocabulary was checked."""

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        # The token chosen at the previous step is known only now: the grammar follows it here.
        if self._accepted is None:
            self._accepted = len(input_ids)
        for token in input_ids[self._accepted :]:
            llama_cpp.llama_sampler_accept(self._grammar, int(token))
        self._accepted = len(input_ids)

        best = int(np.argmax(scores))
        self._best[0] = llama_cpp.llama_token_data(best, float(scores[best]), 0.0)
        self._apply(self._best, 1)
        if np.isfinite(self._best[0].logit):
            # Allowed: it alone survives. The repeat penalty that llama-cpp-python applies after
            # us could otherwise raise a token the grammar refuses, and accepting that one
            # aborts the process in llama.cpp ("Unexpected empty grammar stack").
            only = np.full_like(scores, -np.inf)
            only[best] = scores[best]
            return only
        self.scans += 1
        self._vocabulary["logit"] = scores
        self._apply(self._vocabulary.ctypes.data_as(llama_cpp.llama_token_data_p), len(self._vocabulary))
        return self._vocabulary["logit"]

    def _apply(self, data: Any, size: int) -> None:
        """Set the logit of every token the grammar refuses here to -inf."""
        candidates = llama_cpp.llama_token_data_array(data, size, -1, False)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(candidates))

    def close(self) -> None:
        if self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None
