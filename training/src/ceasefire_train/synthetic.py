"""Synthetic news articles with exact gold labels: training data for fine-tuning a tiny model.

Hand-labelled articles are few and slow to write. Here the facts are drawn first and the article
is written from them sentence by sentence, so the label is known before the text exists and each
evidence span is recorded as its sentence is appended: offsets are computed, never typed. Every
fact type has several phrasings (active, passive, casualties first, hedged attribution) so that
a fine-tuned model learns the facts rather than one word order. Each quote is a whole sentence
as `grounding.split_sentences` cuts it: the only spans the pipeline's grammar lets a model quote.

    >>> from ceasefire_train.synthetic import generate
    >>> ex = generate(n=1, seed=0)[0]
    >>> all(ex.text[e.start : e.end] == e.quote for _, item in ex.gold.items() for e in item.evidence)
    True

`python -m ceasefire_train.synthetic OUT_DIR --n 400 --seed 0` writes `OUT_DIR/articles/syn-0000.txt`
and `OUT_DIR/gold/syn-0000.json`, the layout of evals/datasets (`ceasefire eval check OUT_DIR`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceasefire.schema import SECTIONS, Alignment, ArticleSummary, Evidence, GuaranteeKind, TargetKind, Weapon


def _pool(text: str) -> tuple[str, ...]:
    """Pools are written `a|b|c` so that dozens of names stay a few readable lines."""
    return tuple(s.strip() for s in text.split("|"))


@dataclass(frozen=True)
class Side:
    name: str  # as gold labels write it
    country: str  # where its places lie: an attack on them is in this country
    places: tuple[str, ...]  # its cities and regions, which the other side strikes
    leaders: tuple[tuple[str, str], ...]  # (name, role as the article writes it)


@dataclass(frozen=True)
class Conflict:
    name: str
    dateline: str
    since: int
    sides: tuple[Side, Side]  # guarantees protect the country of sides[1]
    territories: tuple[str, ...]


def _side(name: str, country: str, places: str, leaders: str) -> Side:
    people = tuple((n, r) for n, _, r in (p.partition(", ") for p in _pool(leaders)))
    return Side(name, country, _pool(places), people)


# Real conflicts and places beside invented ones, so that a model cannot lean on world knowledge.
# People are invented everywhere: no real official is made to say anything.
CONFLICTS = (
    Conflict("Russia-Ukraine war", "KYIV", 2022, (
        _side("Russia", "Russia", "Belgorod region|Kursk region|Bryansk region|Novorossiysk",
              "Pavel Sorokin, deputy foreign minister|Igor Melnikov, Kremlin aide"),
        _side("Ukraine", "Ukraine", "Kharkiv|Odesa|Dnipro|Zaporizhzhia|Sumy region|Chernihiv region",
              "Olena Marchenko, first deputy foreign minister|Taras Bondar, head of the presidential office"),
    ), _pool("Donetsk region|Luhansk region|Zaporizhzhia region|Kherson region")),
    Conflict("Sudan civil war", "PORT SUDAN", 2023, (
        _side("Sudanese army", "Sudan", "Port Sudan|Omdurman|Kosti|El Obeid",
              "Hassan Idris al-Tayeb, lieutenant general|Nabil Abdelrahim, army spokesman"),
        _side("Rapid Support Forces", "Sudan", "Nyala|El Geneina|Zalingei|South Kordofan state",
              "Yusuf Adam Bashar, political adviser|Ibrahim Kodi, field commander"),
    ), _pool("North Darfur state|Khartoum state|West Kordofan state|Gezira state")),
    Conflict("Israel-Hezbollah conflict", "BEIRUT", 2023, (
        _side("Israel", "Israel", "Kiryat Shmona|Haifa|Metula|Nahariya",
              "Yael Ben-Ami, national security adviser|Ronen Dagan, army spokesman"),
        _side("Hezbollah", "Lebanon", "Tyre|Nabatieh|Baalbek|Bekaa valley",
              "Hassan Fadlallah, member of parliament|Ali Moussawi, political council member"),
    ), ()),
    Conflict("Eastern DRC conflict", "GOMA", 2022, (
        _side("Congolese army", "Democratic Republic of Congo", "Uvira|Beni|Butembo|Sake",
              "Jean-Pierre Mukendi, deputy foreign minister|Sylvain Ekenge, army spokesman"),
        _side("M23", "Democratic Republic of Congo", "Rutshuru|Kiwanja|Masisi territory|Bunagana",
              "Corneille Habimana, political coordinator|Patrick Ndayisaba, rebel spokesman"),
    ), _pool("North Kivu province|South Kivu province|Masisi territory|Rutshuru territory")),
    Conflict("Myanmar civil war", "YANGON", 2021, (
        _side("Myanmar military", "Myanmar", "Sittwe|Kyaukphyu|Mandalay region|Magway",
              "Zaw Min Htet, junta spokesman|Than Soe, deputy information minister"),
        _side("Arakan Army", "Myanmar", "Mrauk-U|Paletwa|Buthidaung|Chin state",
              "Aung Kyaw Naing, rebel spokesman|Thein Maung, head of the political wing"),
    ), _pool("Rakhine state|Chin state|Shan state")),
    Conflict("Valdoria-Kestria war", "OSTREL", 2019, (
        _side("Valdoria", "Valdoria", "Ostrel|Port Casimir|Varn region|Lisk",
              "Miroslav Haldane, foreign minister|Anika Roth, presidential envoy"),
        _side("Kestria", "Kestria", "Brenmar|Solvik|Tarnau region|Hollin valley",
              "Elias Vorn, defence minister|Petra Kask, chief negotiator"),
    ), _pool("Tarnau region|Hollin valley|Solvik region")),
    Conflict("Marovian civil war", "PORT ALIRA", 2020, (
        _side("Marovian government", "Marovia", "Port Alira|Dembe|Usoro",
              "Grace Okafo, interior minister|Samuel Dunmore, government spokesman"),
        _side("Northern Liberation Front", "Marovia", "Karsa province|Lenu district|Tobor",
              "Kwame Asare, rebel commander|Joseph Linde, political envoy"),
    ), _pool("Karsa province|Lenu district|Upper Sefa province")),
    Conflict("Azeran-Tulmar border conflict", "DERIN", 2024, (
        _side("Azeran", "Azeran", "Kalvor|Mesh region|Tiras",
              "Rustam Aliyar, foreign minister|Leyla Noor, presidential spokeswoman"),
        _side("Tulmar", "Tulmar", "Derin|Ysk valley|Orun",
              "Bekir Saltan, defence minister|Nuri Vash, chief of staff"),
    ), _pool("Ysk valley|Oruz highlands|Mesh region")),
)  # fmt: skip
_VENUES = _pool(
    "Doha:Qatar|Geneva:Switzerland|Istanbul:Turkey|Jeddah:Saudi Arabia|Riyadh:Saudi Arabia|Oslo:Norway"
    "|Cairo:Egypt|Addis Ababa:Ethiopia|Luanda:Angola|Nairobi:Kenya|Abu Dhabi:United Arab Emirates"
    "|Brennholm:Lusmark"
)
VENUE_HOSTS = {venue: host for venue, _, host in (v.partition(":") for v in _VENUES)}
MEDIATORS = _pool(
    "Qatar|Turkey|Saudi Arabia|Egypt|Norway|Switzerland|African Union|United Nations|United States"
)
GUARANTORS = _pool(
    "NATO|European Union|United States|United Kingdom|France|Germany|Turkey|Coalition of the Willing"
    "|African Union|United Nations|Nordic Defence Pact|Lusmark"
)
# Names a sentence writes after "the" and a gold label writes bare.
THE_NAMES = _pool(
    "African Union|United Nations|United States|United Kingdom|European Union|Coalition of the Willing"
    "|Nordic Defence Pact|Democratic Republic of Congo|United Arab Emirates|Sudanese army|Congolese army"
    "|Rapid Support Forces|Myanmar military|Arakan Army|Marovian government|Northern Liberation Front"
)
NUMBER_WORDS = _pool(
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    "|sixteen|seventeen|eighteen|nineteen|twenty"
)

TARGETS = {
    TargetKind.energy: _pool("power plant|thermal power station|electricity substation|hydroelectric dam"),
    TargetKind.fuel: _pool("oil depot|fuel storage facility|oil refinery|gas pumping station"),
    TargetKind.military: _pool("military airfield|ammunition depot|army barracks|air defence position"),
    TargetKind.civilian: _pool("crowded market|hospital|school|aid convoy|shopping centre"),
    TargetKind.residential: _pool("apartment block|residential building|nine-storey apartment building"),
    TargetKind.transport: _pool("railway station|bridge|port|bus station|rail junction"),
    TargetKind.industrial: _pool("steel plant|chemical factory|industrial park|cement works"),
    TargetKind.government: _pool("regional administration building|city hall|police headquarters"),
    TargetKind.other: _pool("television tower|mobile phone mast|radio transmitter|weather station"),
}
# Every event noun holds a word of the pipeline's attack cues (sections.py, `cues`).
WEAPON_EVENTS = {
    Weapon.drone: _pool("a drone strike|a drone attack|a kamikaze drone attack"),
    Weapon.missile: _pool("a missile strike|a ballistic missile attack|a cruise missile strike"),
    Weapon.artillery: _pool("an artillery strike|a shelling attack|a rocket artillery strike"),
    Weapon.airstrike: _pool("an air strike|an airstrike|a bombing raid"),
    Weapon.ground_assault: _pool("a ground assault|an infantry assault|a tank assault"),
    Weapon.other: _pool("a car bomb attack|a truck bomb attack|a sabotage attack"),
    Weapon.unknown: _pool("an attack|a strike|a deadly attack"),
}
GUARANTEE_KINDS = {
    GuaranteeKind.reassurance_force: _pool("a reassurance force|a multinational reassurance force"),
    GuaranteeKind.military_aid: _pool("long-term military aid|a supply of air defence systems"),
    GuaranteeKind.economic_support: _pool("a reconstruction fund|budget support|economic support"),
    GuaranteeKind.backstop: _pool("an air power backstop|a security backstop"),
    GuaranteeKind.defence_commitment: _pool("a mutual defence commitment|a binding defence pact"),
    GuaranteeKind.monitoring: _pool(
        "a ceasefire monitoring mission|an observer mission to monitor the truce"
    ),
    GuaranteeKind.other: _pool("intelligence sharing on security threats|training support for its army"),
}

# Templates are format strings. A slot a template lacks leaves its field null in the gold (a
# date, a toll, a duration), so no template states a fact the label lacks, or the reverse.
# Talks: {P} both parties, {A}/{B} one each, {TR} the track, {V} venue, {D} date, {H} host,
# {M}/{M2}/{M3} mediators, {PCT} progress, {VERB1}/{VERB2} the status with parties/talks as subject.
TALKS_TEMPLATES = {
    "parties_first": "{P} {VERB1}{V}{D}{M}.",
    "talks_first": "{TR} talks between {P}{V}{M2} {VERB2}{D}.",
    "host_first": "According to {H}, host of the {TR} talks between {P}{V}, the negotiations {VERB2}{D}{M3}.",
    "progress": "Negotiators said a {TR} agreement between {P} was {PCT} complete after talks{V}{D}{M}.",
    "progress_ongoing": "{TR} talks between {P}{V} continued{D}, with {PCT} of the text agreed so far.",
    "walkout": "{B} walked out of {TR} talks with {A}{V}{D}, ending the round with no deal.",
}
TALKS_VERBS = {
    "announced": (_pool("will hold {TR} talks|are due to open a new round of {TR} talks"),
                  _pool("are set to open|will begin")),
    "ongoing": (_pool("held a new round of {TR} talks|resumed {TR} talks"),
                _pool("continued|entered a second day")),
    "stalled": (_pool("made no progress in {TR} talks|failed to break a deadlock in {TR} talks"),
                _pool("stalled|stalled again")),
    "near_agreement": (_pool("drew close to a deal in {TR} talks|reached a near-final text in {TR} talks"),
                       _pool("came close to a deal|produced a near-final text")),
    "agreed": (_pool("signed a {TR} agreement at talks|reached a {TR} deal at talks"),
               _pool("ended with a signed agreement|produced a {TR} deal")),
    "collapsed": (_pool("broke off {TR} talks|ended {TR} talks without a deal"),
                  _pool("collapsed|broke down")),
}  # fmt: skip
TALKS_DATES = {
    "announced": _pool("next week|on Monday|later this month|on March 12"),
    "other": _pool("on Tuesday|on Friday|this week|last month|on March 3"),
}
POSITIONS = {  # kind: (verb, stances)
    "demands": ("demands", _pool("the withdrawal of all foreign troops|the release of all prisoners of war"
                                 "|international monitoring of any truce|compensation for war damage")),
    "rejects": ("rejects", _pool("any freeze of the current front line|foreign peacekeepers on its soil"
                                 "|preconditions for the talks|an amnesty for commanders")),
    "supports": ("says it supports", _pool("an immediate and unconditional ceasefire|a humanitarian pause"
                                           "|a phased exchange of prisoners|a truce monitored by observers")),
    "offers": ("has offered", _pool("a prisoner exchange|safe corridors for civilians|a pullback of heavy"
                                    " weapons|a moratorium on strikes on energy sites")),
    "conditional": ("says it would accept", _pool("a ceasefire if sanctions are eased first|a truce only if"
                                                  " its fighters keep their weapons|a pullback if monitors"
                                                  " are deployed")),
}  # fmt: skip
STICKING_POINTS = _pool(
    "future of occupied territory|sequencing of prisoner releases|withdrawal of heavy weapons"
    "|return of displaced people|control of border crossings|timing of elections|fate of detained commanders"
)
PARTICIPANT_SENTENCES = (
    "{A}'s delegation is led by {r1} {n1}, while {B} sent {r2} {n2}.",
    "{n1}, {r1}, heads the team of {A}, and {n2}, {r2}, leads the delegation of {B}.",
)
STICKING_SENTENCES = (
    "The main sticking points remain {}.",
    "Diplomats said the negotiations were stuck on {}.",
    "Unresolved issues in the talks include {}.",
)
# Guarantees: status -> word order -> template; {G} guarantor, {B} beneficiary, {K} the kind;
# {DUR} and {TRIG} only where they read naturally.
GUARANTEE_TEMPLATES = {
    "demanded": {"beneficiary_first": "{B} demanded {K} from {G} as a security guarantee{DUR}{TRIG}.",
                 "guarantor_first": "{G} faces calls from {B} to provide {K} as a security guarantee{TRIG}.",
                 "kind_first": "{K} from {G} is among the security guarantees demanded by {B}."},
    "proposed": {"guarantor_first": "{G} proposed {K} for {B}{DUR}{TRIG}.",
                 "kind_first": "{K} for {B}{DUR}, to be provided by {G}, is under discussion.",
                 "beneficiary_first": "{B} is weighing a proposal from {G} for {K}{TRIG}."},
    "offered": {"guarantor_first": "{G} offered {B} {K}{DUR}{TRIG}.",
                "kind_first": "{K} was offered to {B} by {G}{TRIG}.",
                "beneficiary_first": "{B} has been offered {K} by {G}{DUR}."},
    "agreed": {"guarantor_first": "{G} and {B} agreed on {K}{DUR}{TRIG}.",
               "kind_first": "{K} for {B} was agreed with {G}{DUR}.",
               "beneficiary_first": "{B} secured {K} from {G}{DUR} under a deal signed this week."},
    "in_force": {"guarantor_first": "Under a pact already in force, {G} provides {B} with {K}{DUR}.",
                 "kind_first": "{K} for {B} from {G} has been in force since last year.",
                 "beneficiary_first": "{B} already receives {K} from {G}{DUR} under an agreement in force."},
    "rejected": {"guarantor_first": "{G} rejected calls to provide {B} with {K}.",
                 "kind_first": "{K} for {B} was ruled out by {G}.",
                 "beneficiary_first": "{B} rejected an offer of {K} from {G}."},
}  # fmt: skip
GUARANTEE_VERBS = {  # for the label's description and the headline
    "demanded": "is asked to provide",
    "proposed": "proposes",
    "offered": "offers",
    "agreed": "agrees to provide",
    "in_force": "provides",
    "rejected": "refuses to provide",
}
TRIGGERS = _pool(
    "if {X} breaches a ceasefire|in the event of a renewed attack by {X}|should the truce collapse"
)
# Attacks: {A} attacker, {BY} " by <attacker>" or "", {V} the side hit, {W} the event, {T} target,
# {L} location, {D} date, {K} a casualty clause, {TOLL} casualties as a subject.
ATTACK_TEMPLATES = {
    "active": "{A} launched {W} on {T} in {L}{D}{K}.",
    "event_subject": "{W}{BY} hit {T} in {L}{D}{K}.",
    "passive": "{T} in {L} was hit{D} in {W}{BY}{K}.",
    "toll_first": "{TOLL} when {W}{BY} struck {T} in {L}{D}.",
    "hedged": "{V} said {A} was behind {W} that hit {T} in {L}{D}{K}.",
    "location_first": "In {L}, {T} was struck{D} in {W}{BY}{K}, local officials said.",
}
ATTACK_DATES = _pool(
    "on Tuesday|early on Sunday|overnight|on Monday night|late on Friday|on March 3|last week"
)
# Territory: {C} controller, {R} region, {P} share, {S} source; "pair" states two items at once.
TERRITORY_TEMPLATES = {
    "active_share": "{C} controls {P} of {R}, according to {S}.",
    "passive_share": "{P} of {R} is held by {C}, {S} estimate.",
    "estimate": "{S} estimate that {C} now occupies {P} of {R}.",
    "no_share": "{C} {HOLDS} {R}, {S} said.",
    "pair": "{C} holds {P} of {R} and {P2} of {R2}, according to {S}.",
}
ANALYSTS = _pool("Western analysts|military analysts|independent monitors|open-source researchers")
# Background, context and quotes without facts: the texture of news, stating nothing to label.
FILLERS = (
    "The war between {A} and {B} began in {YEAR}.",
    "Fighting has displaced hundreds of thousands of people since {YEAR}, according to aid agencies.",
    "{N1}, {R1}, told reporters that the position of {A} had not changed.",
    "{N2}, {R2}, said the coming weeks would be decisive.",
    "{N1} is expected to brief lawmakers later this week.",
    "Aid agencies warned of food shortages in {CITY} as winter approaches.",
    "Analysts said neither side appeared ready for major concessions.",
    "The statement gave no further details.",
    "Residents of {CITY} described long queues for water and bread.",
    "It was not possible to verify the claims independently.",
    "Prices of bread and fuel have risen sharply in {CITY} this year.",
    "Journalists have limited access to the front line.",
    "Neither side commented on the reports.",
    "Relatives of missing soldiers gathered in {CITY} to demand news.",
    "Schools in {CITY} reopened this month after a long closure.",
    "The United Nations has repeatedly called on all parties to spare civilians.",
    "The conflict has left much of {COUNTRY_B} dependent on aid.",
    "Officials in {COUNTRY_A} said security had been tightened around public buildings.",
)
# Articles about nothing to label: (headline, lead, body), with hard negatives ("a late strike",
# "flooding killed") that a model must not turn into attacks.
OFF_TOPIC = (
    ("{COUNTRY} central bank cuts key rate to {R}%",
     "The central bank of {COUNTRY} cut its main interest rate by {BP} basis points to {R}% on Thursday.",
     "Consumer prices rose {X}% in the year to May, down from {Y}% a month earlier."
     "|The governor, {PERSON}, said further cuts would depend on the data."
     "|Exporters welcomed the move, saying a weaker currency would help sales abroad."
     "|Economists polled by local media had expected a smaller cut."
     "|Retail sales in {CITY} grew for a third consecutive month."
     "|The next policy meeting is scheduled for September.|Unemployment held steady at {U}%."),
    ("{TEAM1} beat {TEAM2} {S1}-{S2} to reach the cup final",
     "{TEAM1} beat {TEAM2} {S1}-{S2} on Saturday to reach the final of the national cup.",
     "A late strike from {PERSON} sealed the win in front of {N} fans."
     "|The opening goal came from a header.|The coach praised his side for their patience."
     "|{TEAM2} have now lost three matches in a row.|The final will be played in {CITY} next month."
     "|Injuries to two defenders had raised doubts before kick-off.|Police said the crowd was peaceful."),
    ("Heavy rain brings flooding to {CITY}",
     "Heavy rain caused flooding across {CITY} on Monday, closing roads and schools.",
     "Flooding killed {K} people in nearby villages, local authorities said."
     "|Forecasters expect the storm to move north by Wednesday."
     "|Emergency crews evacuated {N} residents from low-lying districts."
     "|The river rose {Y} metres in less than a day.|Train services to the coast were suspended."
     "|Farmers fear heavy losses to the rice harvest."
     "|The national weather service issued its highest alert."),
)  # fmt: skip
OFF_TOPIC_NAMES = {
    "COUNTRY": _pool("Chile|Marovia|Kestria|Indonesia|Norway|Lusmark"),
    "CITY": _pool("Lisbon|Santiago|Nairobi|Brenmar|Port Alira|Manila|Osaka"),
    "PERSON": _pool("Ana Ribeiro|Tomas Lind|Grace Mwangi|Kenji Sato|Lucia Ferrer"),
    "TEAM1": _pool("Port Alira United|Brenmar City|Solvik Rovers"),
    "TEAM2": _pool("Lisbon Athletic|Nairobi Stars|Santiago Wanderers"),
}
TALKS_STATUS_WORDS = {  # status: (in a headline, in a summary)
    "announced": ("to be held", "are due to take place"),
    "ongoing": ("continue", "are under way"),
    "stalled": ("stall", "have stalled"),
    "near_agreement": ("near a deal", "are close to agreement"),
    "agreed": ("end in agreement", "ended in an agreement"),
    "collapsed": ("collapse", "have collapsed"),
}
HEADLINE_WEAPONS = {  # the others are headlined as "Attack"
    Weapon.drone: "Drone strike",
    Weapon.missile: "Missile strike",
    Weapon.artillery: "Shelling",
    Weapon.airstrike: "Air strike",
    Weapon.ground_assault: "Ground assault",
}


@dataclass(frozen=True)
class SyntheticArticle:
    """One article and its gold label; every evidence quote is `text[start:end]`."""

    id: str
    text: str
    gold: ArticleSummary
    templates: tuple[str, ...]
    """Template ids of the fact sentences in article order, e.g. `attacks/passive`."""


@dataclass(eq=False)  # hashed by identity: several sentences may quote one fact
class _Fact:
    section: str
    fields: dict[str, Any]
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class _Sentence:
    text: str
    template: str | None = None  # None for a filler
    facts: tuple[_Fact, ...] = ()


def _the(name: str) -> str:
    return f"the {name}" if name in THE_NAMES else name


def _place(name: str) -> str:
    return f"the {name}" if name.endswith((" region", " valley", " highlands")) else name


def _and(names: list[str]) -> str:
    return "".join(names) if len(names) < 2 else ", ".join(names[:-1]) + " and " + names[-1]


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _slots(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _percent(rng: random.Random, share: int) -> str:
    hedge, unit = (
        rng.choice(["about ", "nearly ", "roughly ", ""]),
        rng.choice(["%", " percent", " per cent"]),
    )
    return f"{hedge}{share}{unit}"


def _number(rng: random.Random, n: int) -> str:
    """Digits, or words for small numbers ("three people"): the label is the int either way."""
    return NUMBER_WORDS[n] if n <= 20 and rng.random() < 0.4 else str(n)


def _stated(date: str | None) -> str | None:
    """A date as labels write it: "on Tuesday" gives "Tuesday", "last week" stays."""
    return date.removeprefix("on ") if date else None


def _sentence(template_id: str, template: str, slots: dict[str, str], *facts: _Fact) -> _Sentence:
    return _Sentence(_cap(template.format(**slots)), template_id, facts)


def _talks(rng: random.Random, c: Conflict, track: str, venue: str | None, alone: bool) -> list[_Sentence]:
    a, b = rng.sample(c.sides, 2)
    status = rng.choice(list(TALKS_VERBS))
    ids = ["parties_first", "talks_first"] + ["host_first"] * (venue is not None)
    special = {"near_agreement": "progress", "ongoing": "progress_ongoing", "collapsed": "walkout"}
    tid = rng.choice(ids + ([special[status]] if status in special else []))
    template = TALKS_TEMPLATES[tid]
    host = VENUE_HOSTS[venue] if tid == "host_first" and venue else None
    date = rng.choice(TALKS_DATES.get(status, TALKS_DATES["other"])) if rng.random() < 0.6 else None
    has_mediators = bool({"M", "M2", "M3"} & _slots(template))
    meds = rng.sample([m for m in MEDIATORS if m != host], rng.choice([0, 1, 1, 2]) * has_mediators)
    ms = _and([_the(m) for m in meds])
    pct = rng.randint(70, 95) if status == "near_agreement" else rng.randint(20, 65)
    verb1, verb2 = (rng.choice(verbs).format(TR=track) for verbs in TALKS_VERBS[status])
    slots = {"P": f"{_the(a.name)} and {_the(b.name)}", "A": _the(a.name), "B": _the(b.name), "TR": track}
    slots |= {"VERB1": verb1, "VERB2": verb2, "H": _the(host or ""), "V": f" in {venue}" if venue else ""}
    slots |= {"D": f" {date}" if date else "", "PCT": _percent(rng, pct), "M": "", "M2": "", "M3": ""}
    if meds:
        slots |= {"M": f"{rng.choice([', mediated by', ', brokered by'])} {ms}", "M2": f", mediated by {ms},"}
        slots["M3"] = f", with {ms} also mediating"
    title = f"{a.name}-{b.name} {track} talks" + (f" in {venue}" if venue else "")
    fact = _Fact("ceasefire_talks", {"title": title, "venue": venue, "date": _stated(date), "host": host})
    fact.fields |= {"participants": [], "mediators": meds, "status": status, "sticking_points": []}
    fact.fields |= {"positions": [], "progress_percent": float(pct) if "PCT" in _slots(template) else None}
    sentences = [_sentence(f"ceasefire_talks/{tid.removesuffix('_ongoing')}", template, slots, fact)]
    # Follow-ups name no track, so only an article with one track has them; at most two, as an
    # item carries at most three evidence quotes.
    extras = rng.sample(["participants", "positions", "sticking_points"], rng.choice([0, 1, 1, 2]) * alone)
    for extra in extras:
        if extra == "participants":
            (n1, r1), (n2, r2) = rng.choice(a.leaders), rng.choice(b.leaders)
            fact.fields[extra] = [
                {"name": n1, "role": r1, "affiliation": a.name},
                {"name": n2, "role": r2, "affiliation": b.name},
            ]
            text = rng.choice(PARTICIPANT_SENTENCES).format(
                A=_the(a.name), B=_the(b.name), n1=n1, r1=r1, n2=n2, r2=r2
            )
            text = text.replace("s's ", "s' ")  # "the Rapid Support Forces' delegation"
        elif extra == "positions":
            held = []
            for side in rng.sample([a, b], rng.choice([1, 2])):
                kind = rng.choice(list(POSITIONS))
                held.append((side, kind, rng.choice(POSITIONS[kind][1])))
            fact.fields[extra] = [{"party": s.name, "stance": stance, "kind": k} for s, k, stance in held]
            clauses = ", while ".join(f"{_the(s.name)} {POSITIONS[k][0]} {stance}" for s, k, stance in held)
            text = rng.choice(["In the talks, ", "At the negotiating table, ", ""]) + clauses + "."
        else:
            points = rng.sample(STICKING_POINTS, rng.randint(1, 3))
            fact.fields[extra] = points
            text = rng.choice(STICKING_SENTENCES).format(_and([f"the {p}" for p in points]))
        sentences.append(_Sentence(_cap(text), f"ceasefire_talks/{extra}", (fact,)))
    return sentences


def _guarantee(rng: random.Random, c: Conflict, guarantor: str, kind: GuaranteeKind) -> list[_Sentence]:
    status = rng.choice(list(GUARANTEE_TEMPLATES))
    tid, template = rng.choice(list(GUARANTEE_TEMPLATES[status].items()))
    years = (
        rng.choice([2, 3, 5, 10, 15, 20, 25]) if "DUR" in _slots(template) and rng.random() < 0.4 else None
    )
    trigger = None
    if "TRIG" in _slots(template) and rng.random() < 0.4:
        trigger = rng.choice(TRIGGERS).format(X=_the(c.sides[0].name))
    beneficiary, k = c.sides[1].country, rng.choice(GUARANTEE_KINDS[kind])
    dur, trig = f" for {_number(rng, years)} years" if years else "", f" {trigger}" if trigger else ""
    description = f"{_the(guarantor)} {GUARANTEE_VERBS[status]} {k} for {_the(beneficiary)}{dur}{trig}."
    fact = _Fact("security_guarantees", {"guarantor": guarantor, "beneficiary": beneficiary, "kind": kind})
    fact.fields |= {"status": status, "duration_years": float(years) if years else None, "trigger": trigger}
    fact.fields["description"] = _cap(description)
    slots = {"G": _the(guarantor), "B": _the(beneficiary), "K": k, "DUR": dur, "TRIG": trig}
    return [_sentence(f"security_guarantees/{tid}", template, slots, fact)]


def _toll(rng: random.Random, killed: int | None, injured: int | None, first: bool) -> str:
    """Casualties as a trailing clause, or (`first`) as the subject of a sentence. With neither
    number the toll is vague ("dozens"), which the label leaves null."""
    k, i = (_number(rng, n) if n is not None else "" for n in (killed, injured))
    if first:
        parts = [f"{k} people were killed"] * (killed is not None) + [f"{i} injured"] * (injured is not None)
        if killed is None and injured is not None:
            parts = [f"{i} people were {rng.choice(['injured', 'wounded'])}"]
        text = " and ".join(parts) or "Dozens of people were injured"
        return f"at least {text}" if text[0].isdigit() else text  # no sentence opens on a digit
    if killed is not None and injured is not None:
        return rng.choice([f", killing {k} people and injuring {i}", f", leaving {k} dead and {i} wounded"])
    if killed is not None:
        return f", killing {k} people"
    if injured is not None:
        return f", {rng.choice(['injuring', 'wounding'])} {i} people"
    return ", injuring dozens of people"


def _attack(rng: random.Random, c: Conflict) -> list[_Sentence]:
    attacker, victim = rng.sample(c.sides, 2)
    kind, weapon = rng.choice(list(TargetKind)), rng.choice(list(Weapon))
    target, place = rng.choice(TARGETS[kind]), rng.choice(victim.places)
    # How the article attributes the attack decides the label (LABELLING.md): an attacker the
    # article names, even hedged, denied or claimed, is kept; a denial without attribution is not.
    mode = rng.choice(["direct"] * 4 + ["hedged", "unattributed", "denied", "claimed", "denied_attributed"])
    named_here = mode in ("direct", "hedged", "denied_attributed")  # in the strike sentence itself
    killed, injured = rng.choice([None, None, rng.randint(2, 40)]), rng.choice([None, rng.randint(2, 90)])
    vague = killed is None and injured is None and rng.random() < 0.3
    has_toll = vague or killed is not None or injured is not None
    toll_apart = has_toll and not vague and rng.random() < 0.3  # casualties in a sentence of their own
    ids = ["event_subject", "passive", "location_first"] + ["active"] * named_here
    ids = ["hedged"] if mode == "hedged" else ids + ["toll_first"] * (has_toll and not toll_apart)
    tid = rng.choice(ids)
    date = rng.choice(ATTACK_DATES) if rng.random() < 0.7 else None
    fact = _Fact("attacks", {"attacker": None if mode in ("unattributed", "denied") else attacker.name})
    fact.fields |= {"target": target, "target_kind": kind, "weapon": weapon, "location": place}
    fact.fields |= {"country": victim.country, "date": _stated(date), "killed": killed, "injured": injured}
    slots = {"A": _the(attacker.name), "BY": f" by {_the(attacker.name)}" if named_here else ""}
    slots |= {"V": _the(victim.name), "W": rng.choice(WEAPON_EVENTS[weapon]), "T": _a(target)}
    slots |= {"L": _place(place), "D": f" {date}" if date else ""}
    slots["K"] = _toll(rng, killed, injured, first=False) if has_toll and not toll_apart else ""
    slots["TOLL"] = _toll(rng, killed, injured, first=True) if tid == "toll_first" else ""
    sentences = [_sentence(f"attacks/{tid}", ATTACK_TEMPLATES[tid], slots, fact)]
    if toll_apart:
        source = rng.choice(["the regional governor", "local health officials", "emergency services"])
        toll = _cap(_toll(rng, killed, injured, first=True))
        sentences.append(_Sentence(f"{toll}, according to {source}.", "attacks/toll", (fact,)))
    who = _cap(_the(attacker.name))
    if mode == "claimed":
        sentences.append(_Sentence(f"{who} claimed responsibility for the attack.", "attacks/claim", (fact,)))
    elif mode in ("denied", "denied_attributed"):  # a denial states no fact of the attack: no evidence
        sentences.append(_Sentence(f"{who} denied any involvement in the attack."))
    return sentences


def _territory(rng: random.Random, c: Conflict, regions: list[str]) -> list[_Sentence]:
    """One sentence for one region, or for two regions the same side holds (two items)."""
    tid = "pair" if len(regions) == 2 else rng.choice([t for t in TERRITORY_TEMPLATES if t != "pair"])
    controller, shares = rng.choice(c.sides), [rng.randint(5, 99) for _ in regions]
    facts = [_Fact("territorial_control", {"controller": controller.name, "territory": r}) for r in regions]
    for fact, share in zip(facts, shares, strict=True):
        fact.fields["share_percent"] = None if tid == "no_share" else float(share)
    p = [_percent(rng, share) for share in shares]
    slots = dict(C=_the(controller.name), R=_place(regions[0]), R2=_place(regions[-1]), P=p[0], P2=p[-1])
    slots |= dict(S=rng.choice(ANALYSTS), HOLDS=rng.choice(["remains in control of", "holds almost all of"]))
    return [_sentence(f"territorial_control/{tid}", TERRITORY_TEMPLATES[tid], slots, *facts)]


def _fillers(rng: random.Random, c: Conflict, count: int) -> list[_Sentence]:
    a, b = c.sides
    (n1, r1), (n2, r2) = rng.choice(a.leaders), rng.choice(b.leaders)
    city = _place(rng.choice(a.places + b.places))
    slots = dict(A=_the(a.name), B=_the(b.name), YEAR=str(c.since), CITY=city, N1=n1, R1=r1, N2=n2, R2=r2)
    slots |= dict(COUNTRY_A=_the(a.country), COUNTRY_B=_the(b.country))
    return [_Sentence(_cap(t.format(**slots))) for t in rng.sample(FILLERS, min(count, len(FILLERS)))]


def _headline(fact: _Fact) -> str:
    f = fact.fields
    if fact.section == "ceasefire_talks":
        return f"{f['title']} {TALKS_STATUS_WORDS[f['status']][0]}"
    if fact.section == "attacks":
        toll = f", {f['killed']} killed" if f["killed"] else ""
        return f"{HEADLINE_WEAPONS.get(f['weapon'], 'Attack')} hits {f['target']} in {f['location']}{toll}"
    if fact.section == "security_guarantees":
        kind = f["kind"].value.replace("_", " ")
        return f"{f['guarantor']} {GUARANTEE_VERBS[f['status']]} {kind} for {f['beneficiary']}"
    share = f"{f['share_percent']:g}% of " if f["share_percent"] is not None else ""
    return f"{f['controller']} holds {share}{f['territory']}, analysts say"


def _describe(fact: _Fact) -> str:
    """One neutral summary sentence, written from a fact's fields rather than its sentence."""
    f = fact.fields
    if fact.section == "ceasefire_talks":
        return f"The {f['title']} {TALKS_STATUS_WORDS[f['status']][1]}."
    if fact.section == "security_guarantees":
        return f["description"]
    if fact.section == "attacks":
        by = f" by {_the(f['attacker'])}" if f["attacker"] else ""
        toll = [f"{n} {word}" for n, word in ((f["killed"], "killed"), (f["injured"], "injured")) if n]
        return f"An attack{by} hit {_a(f['target'])} in {f['location']}" + (
            f", with {_and(toll)}." if toll else "."
        )
    share = f"{f['share_percent']:g}% of " if f["share_percent"] is not None else ""
    return f"{_cap(_the(f['controller']))} holds {share}{_place(f['territory'])}."


def _off_topic(rng: random.Random) -> tuple[str, list[_Sentence], str]:
    headline, lead, body = rng.choice(OFF_TOPIC)
    slots = {key: rng.choice(names) for key, names in OFF_TOPIC_NAMES.items()}
    slots |= {key: str(rng.randint(2, 9)) for key in ("R", "X", "Y", "U", "K")}
    slots |= {"S1": str(rng.randint(2, 5)), "S2": str(rng.randint(0, 1)), "BP": str(rng.choice([25, 50, 75]))}
    slots["N"] = f"{rng.randint(5, 60)},000"
    sentences = [lead] + rng.sample(_pool(body), rng.randint(5, 7))
    return headline.format(**slots), [_Sentence(s.format(**slots)) for s in sentences], lead.format(**slots)


def _conflict_news(rng: random.Random, c: Conflict) -> tuple[str, list[_Sentence], str, list[_Fact]]:
    sections = [s for s in SECTIONS if s != "territorial_control" or c.territories]
    main = rng.choice(sections)
    blocks: list[list[_Sentence]] = []  # a fact sentence with its follow-ups, kept in order
    for section in [main] + [s for s in sections if s != main and rng.random() < 0.35]:
        count = rng.choice([1, 1, 1, 2, 3 if section == "security_guarantees" else 2])
        if section == "ceasefire_talks":  # distinct tracks at distinct venues: distinct items
            tracks = rng.sample(["ceasefire", "peace", "truce", "prisoner exchange"], count)
            venues = rng.sample([*VENUE_HOSTS, None], count)
            blocks += [_talks(rng, c, t, v, count == 1) for t, v in zip(tracks, venues, strict=True)]
        elif section == "security_guarantees":  # one item per guarantor and kind
            blocks += [
                _guarantee(rng, c, g, rng.choice(list(GuaranteeKind))) for g in rng.sample(GUARANTORS, count)
            ]
        elif section == "attacks":
            blocks += [_attack(rng, c) for _ in range(count)]
        else:
            regions = rng.sample(c.territories, count)
            paired = count == 2 and rng.random() < 0.4
            blocks += [_territory(rng, c, regions)] if paired else [_territory(rng, c, [r]) for r in regions]
    facts = list(dict.fromkeys(f for block in blocks for s in block for f in s.facts))
    stated = sum(map(len, blocks))  # 6 to 20 sentences in all, as in the real articles
    units = blocks[1:] + [
        [s] for s in _fillers(rng, c, rng.randint(max(2, 6 - stated), max(2, min(12, 20 - stated))))
    ]
    rng.shuffle(units)
    sentences = blocks[0] + [s for unit in units for s in unit]
    # A wire dateline belongs to the first sentence, so a quote of that sentence includes it.
    dateline = (facts[0].fields.get("venue") or c.dateline).upper()
    sentences[0] = _Sentence(f"{dateline} — {sentences[0].text}", sentences[0].template, sentences[0].facts)
    return _headline(facts[0]), sentences, " ".join(_describe(f) for f in facts[:2]), facts


def _write(rng: random.Random, headline: str, sentences: list[_Sentence]) -> str:
    """The article: the headline line, then paragraphs of 1 to 3 sentences. Each fact sentence
    records its own span as it is appended, so evidence offsets are exact by construction."""
    text, i = headline + "\n\n", 0
    while i < len(sentences):
        size = rng.choice([1, 2, 2, 3])
        for j, sentence in enumerate(sentences[i : i + size]):
            text += " " if j else ""
            start, text = len(text), text + sentence.text
            for fact in sentence.facts:
                fact.evidence.append(
                    Evidence(quote=sentence.text, start=start, end=len(text), alignment=Alignment.exact)
                )
        i += size
        text += "\n\n" if i < len(sentences) else "\n"
    return text


def _article(rng: random.Random, article_id: str) -> SyntheticArticle:
    conflict = None if rng.random() < 0.1 else rng.choice(CONFLICTS)
    facts: list[_Fact] = []
    if conflict is None:
        headline, sentences, summary = _off_topic(rng)
    else:
        headline, sentences, summary, facts = _conflict_news(rng, conflict)
    text = _write(rng, headline, sentences)
    items: dict[str, list[dict[str, Any]]] = {s: [] for s in SECTIONS}
    for fact in facts:
        # A country the article never names would be inferred, not stated ("Port Sudan" is a city).
        if fact.section == "attacks" and not re.search(rf"(?<!Port )\b{fact.fields['country']}\b", text):
            fact.fields["country"] = None
        items[fact.section].append({**fact.fields, "evidence": fact.evidence})
    gold = {"headline": headline, "summary": summary, "conflict": conflict and conflict.name, **items}
    templates = tuple(s.template for s in sentences if s.template)
    return SyntheticArticle(article_id, text, ArticleSummary.model_validate(gold), templates)


def generate(n: int = 400, seed: int = 0) -> list[SyntheticArticle]:
    """`n` articles with their gold labels. The same (n, seed) gives the same articles, and a
    smaller `n` gives a prefix of a larger one.

    >>> [ex.id for ex in generate(n=2, seed=1)]
    ['syn-0000', 'syn-0001']
    """
    rng = random.Random(seed)
    return [_article(rng, f"syn-{i:04d}") for i in range(n)]


def gold_json(gold: ArticleSummary) -> str:
    """A gold file as evals/datasets writes them: every field, no run metadata, each item's
    evidence after its fields, two-space indent."""
    data = gold.model_dump(mode="json", exclude={"metadata"})
    for section in SECTIONS:
        data[section] = [{**{k: v for k, v in item.items() if k != "evidence"}, "evidence": item["evidence"]}
                         for item in data[section]]  # fmt: skip
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_dataset(examples: list[SyntheticArticle], out_dir: str | Path) -> Path:
    """`OUT_DIR/articles/<id>.txt` and `OUT_DIR/gold/<id>.json`, ready for `ceasefire eval check`."""
    out = Path(out_dir)
    for sub in ("articles", "gold"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for ex in examples:
        (out / "articles" / f"{ex.id}.txt").write_text(ex.text, encoding="utf-8")
        (out / "gold" / f"{ex.id}.json").write_text(gold_json(ex.gold), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ceasefire_train.synthetic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_dataset(generate(args.n, args.seed), args.out_dir)
    print(f"{args.n} articles written to {args.out_dir}")


if __name__ == "__main__":
    main()
