"""The Pydantic models keep SCHEMA.md's contract: the same fields, the same enum values."""

from __future__ import annotations

import json
import re

import pytest

from ceasefire import schema
from ceasefire.schema import ArticleSummary
from conftest import SCHEMA_DOC, SEED_ARTICLE, SEED_GOLD

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


def doc_tables() -> dict[str, list[tuple[str, str, str]]]:
    """Each `## heading` of SCHEMA.md with the rows (field, type, meaning) of its table."""
    tables: dict[str, list[tuple[str, str, str]]] = {}
    heading = None
    for line in SCHEMA_DOC.read_text().splitlines():
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
