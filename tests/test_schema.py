"""The Pydantic models keep SCHEMA.md's contract: the same fields, the same enum values."""

from __future__ import annotations

import json
import re

import pytest

from ceasefire import schema
from ceasefire.schema import ArticleSummary
from conftest import ROOT, SCHEMA_DOC, SEED_ARTICLE, SEED_GOLD, UPSTREAM_SCHEMA_DOC

DOC_TABLES = {
    "ArticleSummary (top level)": schema.ArticleSummary,
    "Evidence (on every item)": schema.Evidence,
    "CeasefireTalks": schema.CeasefireTalks,
    "SecurityGuarantee": schema.SecurityGuarantee,
    "Attack": schema.Attack,
    "TerritorialControl": schema.TerritorialControl,
}
# Optional fields the contract allows us to add ("adding an optional field is fine").
ADDED_FIELDS = {"metadata"}


def doc_tables(doc=SCHEMA_DOC) -> dict[str, list[tuple[str, str, str]]]:
    """Each `## heading` of SCHEMA.md with the rows (field, type, meaning) of its table."""
    tables: dict[str, list[tuple[str, str, str]]] = {}
    heading = None
    for line in doc.read_text().splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
        elif heading and line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] != "field":
                tables.setdefault(heading, []).append(tuple(cells[:3]))
    return tables


@pytest.mark.parametrize("heading", DOC_TABLES)
def test_fields_match_schema_doc(heading):
    documented = set()
    for field_cell, _, _ in doc_tables()[heading]:
        documented |= {name.strip() for name in field_cell.split(",")}
    assert set(DOC_TABLES[heading].model_fields) - ADDED_FIELDS == documented


def test_enums_match_schema_doc():
    # An enum's values are spelled out in the meaning column of its row.
    meaning = {(h, f): m for h, table in doc_tables().items() for f, _, m in table}
    expected = {
        schema.Alignment: meaning[("Evidence (on every item)", "alignment")],
        schema.TalksStatus: meaning[("CeasefireTalks", "status")],
        schema.GuaranteeKind: meaning[("SecurityGuarantee", "kind")],
        schema.GuaranteeStatus: meaning[("SecurityGuarantee", "status")],
        schema.TargetKind: meaning[("Attack", "target_kind")],
        schema.Weapon: meaning[("Attack", "weapon")],
    }
    for enum, cell in expected.items():
        assert [e.value for e in enum] == re.findall(r"`(\w+)`", cell), enum.__name__


def test_position_kind_matches_schema_doc():
    paragraph = SCHEMA_DOC.read_text().split("Position: ", 1)[1].split("\n\n")[0]
    kinds = re.search(r"`kind` \(enum: (.*?)\)", paragraph, re.S).group(1)
    assert [k.value for k in schema.PositionKind] == re.findall(r"`(\w+)`", kinds)


def test_seed_gold_validates_and_offsets_hold():
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    gold = ArticleSummary.model_validate(json.loads(SEED_GOLD.read_text(encoding="utf-8")))
    assert gold.items(), "the seed reports talks, guarantees, attacks and territory"
    for _, item in gold.items():
        for evidence in item.evidence:
            assert article[evidence.start : evidence.end] == evidence.quote


def test_unknown_field_is_rejected():
    with pytest.raises(ValueError):
        ArticleSummary.model_validate({"headline": "h", "summary": "s", "attack": []})


def test_model_facing_schema_hides_offsets():
    # The model writes quotes; offsets are computed by the library, so it never sees them.
    evidence = schema.Evidence.model_json_schema()
    assert set(evidence["properties"]) == {"quote"}


@pytest.mark.parametrize("label, model", [("Participant", schema.Participant), ("Position", schema.Position)])
def test_small_models_match_schema_doc(label, model):
    paragraph = SCHEMA_DOC.read_text().split(f"{label}: ", 1)[1].split("\n\n")[0]
    assert set(model.model_fields) == set(re.findall(r"`(\w+)` \(", paragraph))


@pytest.mark.skipif(
    not UPSTREAM_SCHEMA_DOC.exists(),
    reason=f"no upstream contract at {UPSTREAM_SCHEMA_DOC} (a clone on its own): drift not checked",
)
def test_the_contract_in_the_repository_has_not_drifted_from_upstream():
    assert doc_tables(SCHEMA_DOC) == doc_tables(UPSTREAM_SCHEMA_DOC)
    for label in ("Participant: ", "Position: "):
        assert (
            SCHEMA_DOC.read_text().split(label, 1)[1].split("\n\n")[0]
            == (UPSTREAM_SCHEMA_DOC.read_text().split(label, 1)[1].split("\n\n")[0])
        )


def big_label(article: str) -> dict:
    """A label as a strong model or a careful coder writes it: long lists, long text."""
    quote = article.splitlines()[0]
    evidence = [{"quote": quote}] * 5
    attack = {
        "attacker": "Russia", "target": "power station", "target_kind": "energy", "weapon": "drone",
        "location": None, "country": None, "date": None, "killed": 2_000_000, "injured": None,
        "evidence": evidence,
    }  # fmt: skip
    talks = {
        "title": "Talks " + "in a long and winding title " * 10,
        "venue": None, "date": None, "host": None,
        "participants": [{"name": f"Delegate {i}", "role": None, "affiliation": None} for i in range(12)],
        "mediators": [f"Mediator {i}" for i in range(6)],
        "status": "ongoing", "progress_percent": None,
        "sticking_points": [f"point {i}" for i in range(7)],
        "positions": [{"party": f"Party {i}", "stance": "wants peace", "kind": "supports"} for i in range(6)],
        "evidence": evidence,
    }  # fmt: skip
    guarantee = {
        "guarantor": "Coalition of the Willing", "beneficiary": "Ukraine", "kind": "reassurance_force",
        "status": "proposed", "duration_years": 150, "trigger": None, "description": "x" * 500,
        "evidence": evidence,
    }  # fmt: skip
    return {
        "schema_version": 1, "headline": "A headline", "summary": "word " * 400, "conflict": None,
        "ceasefire_talks": [talks], "security_guarantees": [guarantee], "attacks": [attack] * 10,
        "territorial_control": [],
    }  # fmt: skip


def test_the_contract_accepts_what_a_strong_model_or_a_coder_writes(tmp_path):
    from ceasefire.evals.dataset import anchor_dataset, check_dataset

    article = SEED_ARTICLE.read_text(encoding="utf-8")
    label = big_label(article)
    summary = ArticleSummary.model_validate(label)
    assert len(summary.ceasefire_talks[0].participants) == 12 and len(summary.attacks) == 10
    for sub in ("articles", "gold"):
        (tmp_path / sub).mkdir()
    (tmp_path / "articles" / "big.txt").write_text(article, encoding="utf-8")
    (tmp_path / "gold" / "big.json").write_text(json.dumps(label), encoding="utf-8")
    assert anchor_dataset(tmp_path) == []
    assert check_dataset(tmp_path) == []


def test_the_headline_has_at_most_20_words():
    label = {"headline": " ".join(["word"] * 21), "summary": "s"}
    with pytest.raises(ValueError, match="at most 20 words"):
        ArticleSummary.model_validate(label)
    ArticleSummary.model_validate({**label, "headline": " ".join(["word"] * 20)})


def test_the_public_schema_has_no_caps_but_the_contract_s():
    # What instructor sends an API model: no maxItems, no maxLength anywhere.
    from ceasefire.summarize import SECTION_CALLS

    for call in SECTION_CALLS:
        text = json.dumps(call.response_model.model_json_schema())
        assert "maxItems" not in text and "maxLength" not in text, call.name


def test_a_free_model_has_room_for_the_longest_labelled_answers():
    from ceasefire.backends import _approx_tokens
    from ceasefire.summarize import SECTION_CALLS

    longest = dict.fromkeys((call.name for call in SECTION_CALLS), 0)
    for gold_path in [
        *ROOT.glob("evals/datasets/dev/gold/*.json"),
        *ROOT.glob("training/corpus/gold/*.json"),
        SEED_GOLD,
    ]:
        gold = ArticleSummary.model_validate_json(gold_path.read_text(encoding="utf-8"))
        answers = {"overview": gold.model_dump(include={"headline", "summary", "conflict"})}
        # As a model writes them: evidence is quotes only, the library adds the offsets.
        computed = {"__all__": {"evidence": {"__all__": {"start", "end", "alignment"}}}}
        answers |= {
            name: gold.model_dump(include={name}, exclude={name: computed}) for name in schema.SECTIONS
        }
        for name, answer in answers.items():
            longest[name] = max(longest[name], _approx_tokens(json.dumps(answer, ensure_ascii=False)))
    for call in SECTION_CALLS:
        assert call.api_max_tokens >= 3 * longest[call.name], (call.name, longest[call.name])
