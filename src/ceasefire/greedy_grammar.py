"""Greedy decoding under a JSON schema's grammar: the model's choice checked first, and the text
the schema leaves no choice about written without asking the model.

llama-cpp-python 0.3.36 puts a response format's grammar in its sampler chain, which checks
every token of the vocabulary (Gemma's 262,144) against the grammar at every step. Under
greedy decoding only the most likely token that the grammar allows matters, and most steps it
is the most likely token of all: one check settles it. llama.cpp's own `common_sampler` does
the same, and where that token is refused it scans the whole vocabulary (55 ms); here the
model's next likeliest tokens are checked one by one first (30 µs each), which settles most
refusals (the seed, model loaded: 9.6 s against 10.5 scanning at every refusal, the same answer).

Much of an answer is fixed by the schema once its first characters are written: the next key
of an object (every property is required, in the schema's order) with its colon where the
value's type fixes the token, the rest of an enum value once one value alone starts with what
was written (a lead sentence chosen as the summary, a name, a status), the key after a null.
Those tokens are fed to the model in one batch with the token before them instead of one
decoding step each: most of a step is the output layer over the vocabulary, computed once per
batch (Gemma-3-270M on 2 cores: 21 ms for one token, 50 for eight). The text is what the
grammar forces; its tokens are the tokenizer's split, which is what the model was trained on
but not always what it would have picked, so answers can differ from token-by-token decoding:
on dev, micro-F1 0.291 against 0.300, 8.9 s an article against 12.0 (README, "Speed"). Forced
text stops where the tokenizer would join it to the model's next choice (`":[{"` is one
token): forcing `"` alone there derailed the default on the seed. `forcing=False` decodes
token by token; benchmarks/run.py compares.

A list whose element is written a second time is closed there (`closing_repeats`): a tiny
model that repeats an element tends to go on repeating it until its budget runs out.
"""

from __future__ import annotations

import codecs
import ctypes
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_grammar import json_schema_to_gbnf

DECODER_VERSION = 2
"""Bump when a change to the decoder's shortcuts changes what it writes (part of the eval cache
key, through `decoder_id`)."""


def decoder_id(*, forcing: bool, closing_repeats: bool) -> str:
    """Names how a completion is decoded: the shortcuts change answers."""
    shortcuts = [name for name, on in (("forced text", forcing), ("closing repeats", closing_repeats)) if on]
    return " + ".join([f"greedy grammar v{DECODER_VERSION}", *shortcuts])


TOP_CHECKED = 64
"""Where the grammar refuses the model's first choice, its next likeliest tokens checked one by
one before the whole vocabulary is."""

# llama_token_data as numpy lays it out: the whole vocabulary is handed to llama.cpp in place.
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class GrammarLlama(Llama):
    """A `Llama` whose completions a `GreedyGrammar` decodes inside `decoding(schema)`."""

    decoder: GreedyGrammar | None = None

    @contextmanager
    def decoding(
        self, schema: dict[str, Any], *, forcing: bool = True, closing_repeats: bool = True
    ) -> Iterator[GreedyGrammar]:
        """Greedy decoding under `schema` for the completion made inside; the decoder's counts
        stay readable after."""
        self.decoder = decoder = GreedyGrammar(self, schema, forcing=forcing, closing_repeats=closing_repeats)
        try:
            yield decoder
        finally:
            self.decoder = None
            decoder.close()

    def generate(self, tokens: Sequence[int], **sampling: Any) -> Iterator[int]:  # type: ignore[override]
        if self.decoder is None:
            return super().generate(tokens, **sampling)
        return self.decoder.tokens(tokens)


class GreedyGrammar:
    """Greedy decoding inside a JSON schema's grammar, for one completion (made through
    `GrammarLlama.decoding`)."""

    def __init__(
        self, llm: Llama, schema: dict[str, Any], *, forcing: bool = True, closing_repeats: bool = True
    ) -> None:
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        grammar = json_schema_to_gbnf(json.dumps(schema))
        self._grammar = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        self._llm = llm
        self._vocabulary = np.zeros(llm.n_vocab(), dtype=_TOKEN_DATA)
        self._vocabulary["id"] = np.arange(llm.n_vocab())
        self._one = (llama_cpp.llama_token_data * 1)()
        self._json = JsonCursor(schema) if forcing or closing_repeats else None
        self._forcing = forcing
        self._closing_repeats = closing_repeats
        self._closing_tokens: dict[str, list[int]] = {}
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.refusals = 0
        """Steps where the grammar refused the model's first choice."""
        self.scans = 0
        """Of those, steps where none of the next TOP_CHECKED was allowed either, and the
        whole vocabulary was checked."""
        self.forced = 0
        """Tokens written without a decoding step of their own."""
        self.repeats_closed = 0
        """Lists closed after an element written a second time."""

    def tokens(self, prompt: Sequence[int]) -> Iterator[int]:
        """The completion's tokens, as `Llama.generate` yields them (it stops at end of text)."""
        llm, prompt = self._llm, list(prompt)
        # Reuse the part of the prompt already in the KV cache, as Llama.generate does; at least
        # one token is decoded, for the logits.
        cached = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens], prompt[:-1], strict=False):
            if a != b:
                break
            cached += 1
        llm.n_tokens = cached  # eval() drops the cache after it
        pending = prompt[cached:]
        n_vocab = llm.n_vocab()
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        while True:
            llm.eval(pending)
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
            token = self._choose(logits)
            yield token
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                return
            pending = [token, *self._forced_after(token)]
            yield from pending[1:]

    def _choose(self, logits: np.ndarray) -> int:
        """The most likely token the grammar allows, accepted by the grammar."""
        best = self._closing_repeat(logits)
        if best is not None:
            self._accept(best)
            return best
        best = int(np.argmax(logits))
        if not self._allows(best, float(logits[best])):
            self.refusals += 1
            best = self._best_allowed(logits)
        self._accept(best)
        return best

    def _best_allowed(self, logits: np.ndarray) -> int:
        """The most likely token the grammar allows: the first allowed of the model's
        TOP_CHECKED likeliest, checked one by one (a token costs 30 µs, the vocabulary 55 ms),
        else the best of the whole vocabulary."""
        top = np.argpartition(-logits, TOP_CHECKED)[:TOP_CHECKED]
        for token in sorted(top.tolist(), key=lambda t: (-logits[t], t)):
            if self._allows(token, float(logits[token])):
                return token
        self.scans += 1
        self._vocabulary["logit"] = logits
        data = self._vocabulary.ctypes.data_as(llama_cpp.llama_token_data_p)
        self._apply(data, len(self._vocabulary))
        return int(np.argmax(self._vocabulary["logit"]))

    def _closing_repeat(self, logits: np.ndarray) -> int | None:
        """Where the element being written repeats an earlier one of its list, the most likely
        token of the text that ends both, if the grammar allows one. A tiny model that writes a
        participant twice tends to write it again until its token budget runs out (the seed:
        Zelensky six times); an element written twice is never a second fact."""
        closing = self._json.repeat_closing() if self._closing_repeats and self._json is not None else ""
        if not closing:
            return None
        if closing not in self._closing_tokens:
            # The tokens spelling a start of the closing text on their own ('"}', then ']').
            starts = [closing[:n].encode() for n in range(1, len(closing) + 1)]
            spelled = [self._llm.tokenize(start, add_bos=False) for start in starts]
            self._closing_tokens[closing] = [tokens[0] for tokens in spelled if len(tokens) == 1]
        for token in sorted(self._closing_tokens[closing], key=lambda t: -logits[t]):
            if self._allows(token, float(logits[token])):
                if self._llm.detokenize([token]).endswith(b"]"):
                    self.repeats_closed += 1
                return token
        return None

    def _forced_after(self, token: int) -> list[int]:
        """The tokens of the text the schema forces after `token`, each accepted by the grammar
        (a token it refuses ends them: the grammar, not this module's reading of the schema,
        has the last word)."""
        if self._json is None:
            return []
        written = self._llm.detokenize([token])
        self._json.feed(self._utf8.decode(written))
        if not self._forcing:
            return []
        text = self._json.forced()
        if not text or self._utf8.getstate()[0]:  # nothing forced, or in the middle of a character
            return []
        # Split with the token before it, so that the split is the one the model was trained on
        # and the model's token stays whole; if the tokenizer would merge the two (the model
        # stopped inside a word), the model goes on by itself until they agree.
        split = self._llm.tokenize(written + text.encode(), add_bos=False)
        if split[0] != token:
            return []
        forced = []
        for piece in split[1:]:
            if not self._allows(piece, 0.0):
                break
            self._accept(piece)
            forced.append(piece)
        self.forced += len(forced)
        self._json.feed(self._utf8.decode(self._llm.detokenize(forced)))
        return forced

    def _allows(self, token: int, logit: float) -> bool:
        self._one[0] = llama_cpp.llama_token_data(token, logit, 0.0)
        self._apply(self._one, 1)
        return bool(np.isfinite(self._one[0].logit))

    def _accept(self, token: int) -> None:
        llama_cpp.llama_sampler_accept(self._grammar, token)

    def _apply(self, data: Any, size: int) -> None:
        """Set the logit of every token the grammar refuses here to -inf."""
        candidates = llama_cpp.llama_token_data_array(data, size, -1, False)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(candidates))

    def close(self) -> None:
        if self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None


@dataclass
class _Container:
    """An object or array open in the JSON text."""

    properties: list[tuple[str, dict[str, Any]]] | None
    """An object's properties, in order; None for an array."""
    items: list[dict[str, Any]]
    """An array's item options."""
    keys_written: int = 0
    elements: list[str] = field(default_factory=list)
    """An array's elements written, as text without spaces."""
    element: str = ""
    """The text of the array's element being written, without spaces."""


class JsonCursor:
    """Where JSON text written under a schema stands, and what the schema forces next.

    It reads what llama.cpp's grammar for the schema (`json_schema_to_gbnf`) lets through:
    every property is required there and comes in the schema's order. It only advises: a
    mistaken reading costs a batch, never a wrong answer (the grammar checks every token).
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self._defs = schema.get("$defs", {})
        self._open: list[_Container] = []
        self._value: list[dict[str, Any]] | None = self._options(schema)
        """The options of a value that may start here; None where a key (or nothing) may."""
        self._string: str | None = None
        """The raw text of the string being written, since its opening quote."""
        self._string_options: list[dict[str, Any]] | None = None
        """The options of that string's value; None for a key."""
        self._escaped = False
        self._literal = ""
        """The null, true, false or number being written."""
        self._lost = False
        """Text the schema does not explain was read: nothing is forced from then on."""

    def feed(self, text: str) -> None:
        for char in text:
            if not self._lost:
                self._record(char)
                self._read(char)

    def repeat_closing(self) -> str:
        """The text that ends the element being written and its list, where that element is
        an earlier one of the same list written again; '' where it is not."""
        arrays = [container for container in self._open if container.properties is None]
        if self._lost or not arrays or not arrays[-1].element:
            return ""
        element = arrays[-1].element
        for earlier in arrays[-1].elements:
            if earlier.startswith(element) and set(earlier[len(element) :]) <= set('"}'):
                return earlier[len(element) :] + "]"
        return ""

    def forced(self) -> str:
        """What must come next: the rest of a key (with its colon where the value's type fixes
        the token), the rest of the enum values that start with what was written (their common
        start; all of it where one value is left, then the next key), and after a null the next
        key; '' where the model chooses."""
        if self._lost or self._escaped:
            return ""
        if self._string is None:
            return self._after_value() if self._literal in ("null", "true", "false") else ""
        if self._string_options is None:
            properties = self._open[-1].properties or []
            written = self._open[-1].keys_written
            if written >= len(properties) or not properties[written][0].startswith(self._string):
                return ""
            name, schema = properties[written]
            return name[len(self._string) :] + self._colon(schema)
        allowed = []
        for option in self._string_options:
            if "enum" in option:
                allowed += [json.dumps(v)[1:-1] for v in option["enum"] if isinstance(v, str)]
            elif option.get("type") in ("string", None):
                return ""  # free text
        allowed = [a for a in allowed if a.startswith(self._string)]
        if not allowed:
            return ""
        following = self._after_value()
        if len(allowed) == 1 and following:  # else the model's token holds the quote: `"}]`
            return allowed[0][len(self._string) :] + '"' + following
        common = allowed[0]
        for other in allowed[1:]:
            while not other.startswith(common):
                common = common[:-1]
        return common[len(self._string) :]

    def _after_value(self) -> str:
        """What follows a finished value of an object: its next key ('' at its end: `}` and
        what follows it are often one token, the model's)."""
        top = self._open[-1] if self._open else None
        if top is None or top.properties is None or top.keys_written >= len(top.properties):
            return ""
        name, schema = top.properties[top.keys_written]
        return f',"{name}' + self._colon(schema)

    def _colon(self, schema: dict[str, Any]) -> str:
        """The end of a key, as far as it is one of the tokens the model was trained on whatever
        the value: `":"` before a string, `":` before a number or null, before which the
        tokenizer splits; none before a value that may be a string or a list (`":[{"` is one
        token, `":[` would be split from it as the model never saw)."""
        kinds = set()
        for option in self._options(schema):
            if "enum" in option:
                kinds |= {"string" if isinstance(v, str) else "scalar" for v in option["enum"]}
            else:
                kind = option.get("type")
                kinds.add("scalar" if kind in ("integer", "number", "null", "boolean") else kind)
        if kinds == {"string"}:
            return '":"'
        return '":' if kinds == {"scalar"} else ""

    def _options(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """A value's schema as its alternatives, references resolved."""
        if "$ref" in schema:
            return self._options(self._defs[schema["$ref"].rsplit("/", 1)[-1]])
        if "anyOf" in schema:
            return [o for option in schema["anyOf"] for o in self._options(option)]
        return [schema]

    def _record(self, char: str) -> None:
        """Add `char` to the element of every open list that it is part of."""
        in_string = self._string is not None
        if char.isspace() and not in_string:
            return
        top = self._open[-1] if self._open else None
        for array in self._open:
            if array.properties is not None:
                continue
            if array is top and not in_string and char in ",]":
                array.elements.append(array.element)
                array.element = ""
            else:
                array.element += char

    def _read(self, char: str) -> None:
        if self._string is not None:
            if self._escaped:
                self._escaped = False
            elif char == "\\":
                self._escaped = True
            elif char == '"':
                if self._string_options is None:
                    self._open[-1].keys_written += 1
                self._string = None
                return
            self._string += char
            return
        top = self._open[-1] if self._open else None
        self._literal = "" if char in '"{}[],:' or char.isspace() else self._literal + char
        if char == '"':
            self._string, self._string_options, self._value = "", self._value, None
        elif char == ":" and top is not None and top.properties is not None:
            self._value = self._options(top.properties[top.keys_written - 1][1])
        elif char in "{[":
            kind = "object" if char == "{" else "array"
            found = [option for option in self._value or [] if option.get("type") == kind]
            if not found:
                self._lost = True
            elif kind == "object":
                self._open.append(_Container(list(found[0].get("properties", {}).items()), []))
                self._value = None
            else:
                self._value = self._options(found[0].get("items", {}))
                self._open.append(_Container(None, self._value))
        elif char in "}]":
            if self._open:
                self._open.pop()
            self._value = None
        elif char == ",":
            self._value = top.items if top is not None and top.properties is None else None
        elif not char.isspace():
            self._value = None  # a number, true, false or null
