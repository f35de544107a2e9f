"""Choices for grammar backends: sentences, names and numbers all come from the article."""

from __future__ import annotations

import json

from ceasefire import relevance
from ceasefire.choices import (
    MANY_RELEVANCE,
    MIN_ITEM_RELEVANCE,
    Choices,
    candidate_spans,
    constrain_overview,
    constrain_schema,
    country_choices,
    cued_status,
    name_choices,
    number_choices,
    scored_candidates,
    sentence_of,
)
from ceasefire.countries import is_country
from ceasefire.schema import Evidence
from ceasefire.sections import BY_NAME
from ceasefire.summarize import Overview

AttacksSection = BY_NAME["attacks"].numbered_model
TalksSection = BY_NAME["ceasefire_talks"].numbered_model
TerritorySection = BY_NAME["territorial_control"].numbered_model

ARTICLE = (
    "Russia currently controls about 75% of the Donetsk region and nearly 99% of Luhansk.\n"
    "The weather in Paris was mild on Tuesday.\n"
    "A Ukrainian drone hit an oil depot in the Lipetsk region, injuring 3 people.\n"
    'The Coalition of the Willing said it would "act quickly" if talks collapsed.'
)


def sentences(spans):
    return [ARTICLE[a:b] for a, b in spans]


def test_candidates_are_the_relevant_sentences_whole():
    assert sentences(candidate_spans(ARTICLE, "territorial_control")) == [ARTICLE.splitlines()[0]]
    assert sentences(candidate_spans(ARTICLE, "attacks")) == [ARTICLE.splitlines()[2]]
    # Quote marks no longer cut a sentence: the model points to it, it does not copy it.
    talks = sentences(candidate_spans(ARTICLE, "ceasefire_talks"))
    assert ARTICLE.splitlines()[3] in talks
    # A lead sentence naming a place and a day may be offered for talks too, ranked below.
    assert relevance.score(ARTICLE.splitlines()[3], 3, "ceasefire_talks") > relevance.score(
        ARTICLE.splitlines()[1], 1, "ceasefire_talks"
    )


def test_an_item_stands_only_on_a_sentence_relevant_enough():
    from ceasefire import Summarizer
    from ceasefire.schema import CeasefireTalks
    from ceasefire.summarize import _resting_on

    talks = Choices.for_section(ARTICLE, "ceasefire_talks")
    weather, coalition = talks.spans  # both read by the model, only one firm enough to rest on
    scores = dict(scored_candidates(ARTICLE, "ceasefire_talks"))
    assert scores[weather] < MIN_ITEM_RELEVANCE <= scores[coalition]
    assert talks.firm == {coalition}

    def item(span):
        quote = Evidence(quote=ARTICLE[span[0] : span[1]], start=span[0], end=span[1])
        return CeasefireTalks(title="t", status="ongoing", evidence=[quote])

    on_weather, on_both, on_coalition = item(weather), item(weather), item(coalition)
    on_both.evidence.append(on_coalition.evidence[0])  # two items merged as one fact
    kept = _resting_on(talks.firm, [on_weather, on_both, on_coalition])
    assert [id(k) for k in kept] == [id(on_both), id(on_coalition)]
    # Guarantees: a candidate, but none firm; every item would be dropped, so it is not asked.
    guarantees = Choices.for_section(ARTICLE, "security_guarantees")
    assert guarantees.spans and not guarantees.firm
    asked = [r.call.name for r in Summarizer.from_model("local/smollm2-135m").section_requests(ARTICLE)]
    assert asked == ["overview", "ceasefire_talks", "attacks", "territorial_control"]


def test_a_guarantees_status_is_read_from_its_wording_where_it_words_one():
    from ceasefire.schema import SecurityGuarantee
    from ceasefire.summarize import _status_as_worded

    worded = {
        "Britain and France have offered to lead a reassurance force.": "offered",
        "European leaders urged Washington to commit to a backstop.": "demanded",
        "Washington ruled out a defence pact modelled on Article 5.": "rejected",
        "The Security Council adopted a resolution authorising the force.": "agreed",
        "An EU mission of 200 monitors already patrols the border.": "in_force",
        "La France s'est dite prête à envoyer des observateurs.": "offered",
        "Estados Unidos rechazó enviar tropas.": "rejected",
    }
    for wording, status in worded.items():
        assert cued_status(wording) == status, wording
    assert cued_status("Germany will supply air defence systems.") is None  # no cue: the model's
    assert cued_status("Kyiv demanded the force that Paris has offered.") is None  # two: the model's

    def item(quote, status):
        fields = {"guarantor": "France", "beneficiary": "Ukraine", "kind": "monitoring", "description": "d"}
        return SecurityGuarantee(**fields, status=status, evidence=[Evidence(quote=quote)])

    offered = item("France has offered observers.", "proposed")
    unclear = item("Kyiv demanded the force that Paris has offered.", "proposed")
    assert _status_as_worded("security_guarantees", [offered, unclear]) == [offered, unclear]
    assert (offered.status, unclear.status) == ("offered", "proposed")


def test_third_parties_are_required_where_the_talks_sentences_name_their_role():
    def talks(text):
        choices = Choices.for_section(text, "ceasefire_talks")
        schema = constrain_schema(TalksSection.model_json_schema(), choices, "ceasefire_talks")
        return schema["$defs"]["CeasefireTalks"]["properties"]

    mediated = talks("Qatar and Egypt are mediating the ceasefire talks between Israel and Hamas.")
    assert mediated["mediators"]["minItems"] == 1 and "Qatar" in mediated["mediators"]["items"]["enum"]
    assert {"type": "null"} in mediated["host"]["anyOf"]  # no host named: it may stay null
    hosted = talks("Turkey hosted the ceasefire talks between the Russian and Ukrainian delegations.")
    assert "Turkey" in hosted["host"]["enum"] and "anyOf" not in hosted["host"]
    plain = talks("Israeli and Hamas negotiators resumed ceasefire talks in Doha.")
    assert "minItems" not in plain["mediators"] and {"type": "null"} in plain["host"]["anyOf"]


def test_sentence_of_points_to_the_sentence_holding_most_of_the_evidence():
    spans = candidate_spans(ARTICLE, "territorial_control") + candidate_spans(ARTICLE, "attacks")
    start = ARTICLE.index("A Ukrainian drone")
    inside = Evidence(quote="drone hit an oil depot", start=start + 12, end=start + 34)
    assert sentence_of([inside], spans) == 2
    astride = Evidence(quote="x", start=start - 30, end=start + 5)  # mostly in an unoffered line
    assert sentence_of([astride], spans) is None
    assert sentence_of([Evidence(quote="unaligned")], spans) is None


def test_names_and_numbers_come_from_the_sentences():
    names = name_choices([ARTICLE.splitlines()[0], ARTICLE.splitlines()[3]])
    assert {"Russia", "Donetsk region", "Luhansk", "Coalition of the Willing"} <= set(names)
    assert "The" not in names and "of the Willing" not in names
    assert "Mandalay region" in name_choices(["Rebels hold most of the Mandalay region."])
    assert number_choices(["about 75% of Donetsk and 1,200 soldiers"]) == [75.0, 1200.0]
    # Small tolls are spelled out; words that are also English words or articles are not numbers.
    spelled = [
        "killing five soldiers.",
        "Dos policías murieron",
        "dix-sept morts",
        "once again un drone, seize",
    ]
    assert number_choices(spelled) == [5.0, 2.0, 17.0]


def test_constrain_schema_restricts_sentence_numbers_names_numbers_and_lengths():
    choices = Choices.for_section(ARTICLE, "territorial_control")
    schema = constrain_schema(TerritorySection.model_json_schema(), choices, "territorial_control")
    item = schema["$defs"]["TerritorialControl"]["properties"]
    assert list(item)[0] == "sentence" and "evidence" not in item
    assert item["sentence"] == {"enum": [1]}
    assert item["controller"] == {"enum": choices.names}
    assert item["share_percent"]["anyOf"][0] == {"enum": [75.0, 99.0]}
    # Two items from one sentence (Donetsk and Luhansk): the list is not bounded by the sentences.
    assert "maxItems" not in schema["properties"]["territorial_control"]
    # A sentence that relevant (log-odds 6) reports an item: the list may not be empty. The talks
    # sentences (-1.4 at best) may report none.
    assert choices.least == 1 and schema["properties"]["territorial_control"]["minItems"] == 1
    talks = Choices.for_section(ARTICLE, "ceasefire_talks")
    talks_schema = constrain_schema(TalksSection.model_json_schema(), talks, "ceasefire_talks")
    assert not talks.least and "minItems" not in talks_schema["properties"]["ceasefire_talks"]
    bounded = constrain_schema(TerritorySection.model_json_schema(), choices, "territorial_control", 4)
    assert bounded["properties"]["territorial_control"]["maxItems"] == 4


def test_an_answer_holds_an_item_for_each_very_relevant_sentence_where_a_sentence_states_one():
    article = (
        "A Russian missile struck a power plant in Kharkiv on Monday, killing 4 people.\n"
        "A Ukrainian drone hit an oil depot in the Lipetsk region, injuring 3 people.\n"
        "Negotiators met in Geneva for a second round of talks on a ceasefire.\n"
        "The ceasefire talks between Israel and Hamas in Doha were mediated by Qatar and Egypt."
    )

    def very_relevant(section):
        return sum(score >= MANY_RELEVANCE for _, score in scored_candidates(article, section))

    attacks = Choices.for_section(article, "attacks")
    assert very_relevant("attacks") == 2 and attacks.least == 2
    schema = constrain_schema(AttacksSection.model_json_schema(), attacks, "attacks", 5)
    assert schema["properties"]["attacks"]["minItems"] == 2
    bounded = constrain_schema(AttacksSection.model_json_schema(), attacks, "attacks", 1)
    assert bounded["properties"]["attacks"]["minItems"] == 1  # never more than the grammar's bound
    # Two talks sentences as relevant, but a round's news fills many: one talks item at least.
    assert very_relevant("ceasefire_talks") == 2
    assert Choices.for_section(article, "ceasefire_talks").least == 1


def test_integer_fields_get_integer_choices_and_null():
    choices = Choices.for_section(ARTICLE, "attacks")
    schema = constrain_schema(AttacksSection.model_json_schema(), choices, "attacks")
    injured = schema["$defs"]["Attack"]["properties"]["injured"]
    assert injured["anyOf"] == [{"enum": [3]}, {"type": "null"}]
    # A target is a common noun ("oil depot"), not a name: it stays free text.
    assert schema["$defs"]["Attack"]["properties"]["target"]["type"] == "string"


def test_an_attacks_country_is_one_the_article_names_anywhere():
    choices = Choices.for_section(ARTICLE, "attacks")
    country = constrain_schema(AttacksSection.model_json_schema(), choices, "attacks")["$defs"]["Attack"]
    # "Russia" is named in another sentence than the attack's; "Ukrainian", "Lipetsk region",
    # "Paris" and "Tuesday" are names of the article but no country's.
    assert country["properties"]["country"]["anyOf"] == [{"enum": ["Russia"]}, {"type": "null"}]
    assert "Lipetsk region" in choices.names
    no_country = Choices.for_section("A drone hit a depot in the Lipetsk region on Sunday.", "attacks")
    schema = constrain_schema(AttacksSection.model_json_schema(), no_country, "attacks")
    assert schema["$defs"]["Attack"]["properties"]["country"] == {"type": "null"}


def test_country_names_in_the_articles_languages_and_forms():
    text = (
        "Ukraine's army and Russie, with the DR Congo, Haití and the Gaza Strip; "
        "in Sunday's talks, Catatumbo and the Democratic Republic of the Congo."
    )
    found = country_choices(text)
    assert {
        "Ukraine",
        "Russie",
        "DR Congo",
        "Haití",
        "Gaza Strip",
        "Democratic Republic of the Congo",
    } <= set(found)
    assert not {"Ukraine's", "Sunday", "Sunday's", "Catatumbo"} & set(found)
    assert all(
        is_country(n) for n in ["Côte d'Ivoire", "cote d ivoire", "République démocratique du Congo", "Liban"]
    )
    assert not any(is_country(n) for n in ["Sunday", "Catatumbo", "Kharkiv", "Druze of Sweida", "Congolese"])


def test_free_text_is_shortened_for_tiny_models():
    from ceasefire.choices import TEXT_LIMIT

    GuaranteesSection = BY_NAME["security_guarantees"].numbered_model

    choices = Choices.for_section(ARTICLE, "security_guarantees")
    schema = constrain_schema(GuaranteesSection.model_json_schema(), choices, "security_guarantees")
    assert schema["$defs"]["SecurityGuarantee"]["properties"]["description"]["maxLength"] == TEXT_LIMIT


def test_overview_is_extractive():
    schema = constrain_overview(Overview.model_json_schema(), ARTICLE)
    assert schema["properties"]["headline"]["enum"][0] == ARTICLE.splitlines()[0]
    assert all(s in ARTICLE for s in schema["properties"]["summary"]["enum"][0].split(". ")[:1])


def test_the_grammar_alone_bounds_lists_and_text():
    from ceasefire.choices import GRAMMAR_LIST_BOUNDS, NAME_LIMIT, TEXT_LIMIT, bound_for_grammar

    TalksSection = BY_NAME["ceasefire_talks"].numbered_model

    schema = bound_for_grammar(TalksSection.model_json_schema(), "ceasefire_talks", 3)
    talks = schema["$defs"]["CeasefireTalks"]["properties"]
    assert schema["properties"]["ceasefire_talks"]["maxItems"] == 3
    for field in ("participants", "mediators", "sticking_points", "positions"):
        assert talks[field]["maxItems"] == GRAMMAR_LIST_BOUNDS[field], field
    assert talks["title"]["maxLength"] == TEXT_LIMIT
    assert talks["sticking_points"]["items"]["maxLength"] == TEXT_LIMIT
    assert talks["mediators"]["items"]["maxLength"] == NAME_LIMIT
    assert talks["venue"]["anyOf"][0]["maxLength"] == NAME_LIMIT
    assert "maxItems" not in str(TalksSection.model_json_schema())  # the caller's copy is untouched


def test_a_headline_choice_has_at_most_20_words():
    long_lead = "Officials " + "said that talks would resume " * 5 + "soon.\n\n" + ARTICLE
    schema = constrain_overview(Overview.model_json_schema(), long_lead)
    assert all(len(h.split()) <= 20 for h in schema["properties"]["headline"]["enum"])


def test_candidate_recall_counts_gold_items_whose_sentence_is_offered(tmp_path):
    from typer.testing import CliRunner

    from ceasefire.cli import app
    from ceasefire.evals.candidates import candidate_recall

    article = (
        "A Russian drone strike hit an oil depot in Kursk on Monday, officials said.\n\n"
        "Later a warehouse in Belgorod burned to the ground overnight, residents said."
    )
    second = article.index("Later")
    evidence = [
        {"quote": article[:second].strip(), "start": 0, "end": len(article[:second].strip())},
        {"quote": article[second:], "start": second, "end": len(article)},
    ]
    gold = {
        "headline": "Strikes",
        "summary": "Two sites were hit.",
        "attacks": [
            {"evidence": [e], "target": t, "target_kind": "fuel", "weapon": w}
            for e, t, w in zip(evidence, ["oil depot", "warehouse"], ["drone", "unknown"], strict=True)
        ],
    }
    (tmp_path / "articles").mkdir()
    (tmp_path / "gold").mkdir()
    (tmp_path / "articles" / "x.txt").write_text(article)
    (tmp_path / "gold" / "x.json").write_text(json.dumps(gold))
    recall = candidate_recall(tmp_path)
    # The second sentence holds no attack cue word: the filter never offers it.
    assert recall["attacks"] == {"items": 2, "offered": 1, "recall": 0.5, "candidates_per_article": 1.0}
    assert recall["territorial_control"]["items"] == 0
    shown = CliRunner().invoke(app, ["eval", "candidates", "--dataset", str(tmp_path), "--split", ""])
    assert shown.exit_code == 0 and "50%" in shown.stdout


def test_items_a_tiny_model_wrote_for_one_fact_from_several_sentences_become_one():
    from ceasefire.schema import Attack, TerritorialControl
    from ceasefire.summarize import _one_per_fact

    def evidence(sentence: int) -> list[Evidence]:
        return [Evidence(quote=f"sentence {sentence}", start=10 * sentence, end=10 * sentence + 9)]

    def attack(sentence: int, target: str, location: str | None, weapon: str = "artillery") -> Attack:
        return Attack(
            attacker="Rapid Support Forces", target=target, target_kind="civilian", weapon=weapon,
            location=location, country="Sudan", evidence=evidence(sentence),
        )  # fmt: skip

    shelling = [
        attack(1, "Al-Naim livestock market", "Um Ruwaba"),
        attack(2, "Al-Naim livestock and grain market", "Al-Naim"),  # target and weapon agree
        attack(3, "Al-Naim market", None),  # target and weapon: all it states agrees
        attack(4, "army positions", "El Obeid", weapon="drone"),
    ]
    shelling.append(attack(2, "Al-Naim market", "Um Ruwaba"))  # the second's sentence again
    merged = _one_per_fact("attacks", shelling)
    assert [a.target for a in merged] == ["Al-Naim livestock market", "army positions"]
    assert [e.start for e in merged[0].evidence] == [10, 20, 30]
    # Territory needs controller and territory both: one side holding two towns is two facts.
    held = [
        TerritorialControl(controller="M23", territory=town, evidence=evidence(i))
        for i, town in enumerate(["Goma", "Bukavu", "Goma"], 1)
    ]
    assert [t.territory for t in _one_per_fact("territorial_control", held)] == ["Goma", "Bukavu"]


def test_a_participant_or_item_written_twice_is_kept_once():
    from ceasefire.schema import CeasefireTalks, Participant
    from ceasefire.summarize import _distinct

    zelensky = Participant(name="Volodymyr Zelensky", role="President", affiliation="Ukraine")
    witkoff = Participant(name="Steve Witkoff", role="envoy", affiliation="United States")
    talks = CeasefireTalks(
        title="Paris talks", status="ongoing", participants=[zelensky, witkoff, zelensky],
        sticking_points=["Donetsk", "Donetsk"],
        evidence=[Evidence(quote="Leaders met in Paris.", start=0, end=21)] * 2,
    )  # fmt: skip
    kept = _distinct([talks, talks.model_copy(deep=True)])
    assert len(kept) == 1
    assert [p.name for p in kept[0].participants] == ["Volodymyr Zelensky", "Steve Witkoff"]
    assert kept[0].sticking_points == ["Donetsk"] and len(kept[0].evidence) == 1
