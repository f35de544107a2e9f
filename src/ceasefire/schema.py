"""The summary contract: Pydantic models of SCHEMA.md (schema version 1).

Field names and enumeration values are fixed by `docs/SCHEMA.md`; gold labels written
outside this repository use them. Descriptions are written for the model to read: they are
sent to it inside the JSON schema of each section call.

Inside each item, `evidence` comes first. Constrained decoding writes properties in schema
order, so the model first copies a span of the article and then fills the fields while that
span is in front of it: a tiny model then describes what it quoted instead of inventing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

SCHEMA_VERSION = 1


class Kind(StrEnum):
    """What a field holds, marked once on its type below. The grammar's choices (choices.py)
    and the scorer (evals/scoring.py) both read it: it decides what a tiny model may write
    there and when two values count as the same."""

    name = "name"
    """A name the article uses (person, state, body, place): chosen among its capitalised
    phrases under a grammar, compared after aliases ("Kremlin" is "Russia")."""
    phrase = "phrase"
    """A short phrase as the article states it (a date, a target): left free, compared fuzzily."""
    text = "text"
    """Free text (a title, a stance, a description): compared fuzzily."""
    number = "number"
    """A figure the article states: chosen among its numbers, compared with a tolerance."""
    category = "category"
    """A value of one of the enumerations: compared exactly."""


def kind_of(model: type[BaseModel], field: str) -> tuple[Kind | None, bool]:
    """The kind of a model's field, and whether it is a list (None for nested models)."""
    info = model.model_fields[field]
    marked = next((m for m in info.metadata if isinstance(m, Kind)), None)
    return marked or _kind_in(info.annotation), _is_list(info.annotation)


def fields_of_kind(model: type[BaseModel], *kinds: Kind) -> set[str]:
    """Names of the fields of `model` and of the models nested in it that hold one of `kinds`."""
    names = {field for field in model.model_fields if kind_of(model, field)[0] in kinds}
    for nested in _models_in(model):
        names |= fields_of_kind(nested, *kinds)
    return names


def _models_in(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The models a model's fields hold (an item's participants, a summary's items)."""
    found = []
    for info in model.model_fields.values():
        pending = [info.annotation]
        while pending:
            annotation = pending.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found.append(annotation)
            pending += get_args(annotation)
    return found


def _kind_in(annotation: Any) -> Kind | None:
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return Kind.category
    if get_origin(annotation) is Annotated:
        marked = next((m for m in annotation.__metadata__ if isinstance(m, Kind)), None)
        return marked or _kind_in(get_args(annotation)[0])
    # Optional[X] and list[X]: the kind of X.
    return next((k for arg in get_args(annotation) if (k := _kind_in(arg)) is not None), None)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in get_args(annotation) if arg is not type(None))


class Alignment(StrEnum):
    exact = "exact"
    normalized = "normalized"
    fuzzy = "fuzzy"
    none = "none"


class TalksStatus(StrEnum):
    announced = "announced"
    ongoing = "ongoing"
    stalled = "stalled"
    near_agreement = "near_agreement"
    agreed = "agreed"
    collapsed = "collapsed"


class PositionKind(StrEnum):
    supports = "supports"
    rejects = "rejects"
    demands = "demands"
    offers = "offers"
    conditional = "conditional"


class GuaranteeKind(StrEnum):
    reassurance_force = "reassurance_force"
    military_aid = "military_aid"
    economic_support = "economic_support"
    backstop = "backstop"
    defence_commitment = "defence_commitment"
    monitoring = "monitoring"
    other = "other"


class GuaranteeStatus(StrEnum):
    demanded = "demanded"
    proposed = "proposed"
    offered = "offered"
    agreed = "agreed"
    in_force = "in_force"
    rejected = "rejected"


class TargetKind(StrEnum):
    energy = "energy"
    fuel = "fuel"
    military = "military"
    civilian = "civilian"
    residential = "residential"
    transport = "transport"
    industrial = "industrial"
    government = "government"
    other = "other"


class Weapon(StrEnum):
    drone = "drone"
    missile = "missile"
    artillery = "artillery"
    airstrike = "airstrike"
    ground_assault = "ground_assault"
    other = "other"
    unknown = "unknown"


class _Model(BaseModel):
    # Unknown keys are errors: a typo in a gold label must not pass as an absent field.
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


# No list and no string here has a maximum the contract does not set: a strong model's answer
# with twelve participants is valid data. The bounds that keep a tiny model from looping
# belong to the grammar it decodes under (choices.bound_for_grammar), never to the contract.
ShortText = Annotated[str, Field(min_length=1), Kind.text]
Name = Annotated[str, Field(min_length=1), Kind.name]
Phrase = Annotated[str, Field(min_length=1), Kind.phrase]
Percent = Annotated[float, Field(ge=0, le=100), Kind.number]
Count = Annotated[int, Field(ge=0), Kind.number]
Years = Annotated[float, Field(ge=0), Kind.number]
HEADLINE_WORDS = 20


def _at_most_headline_words(text: str) -> str:
    if len(text.split()) > HEADLINE_WORDS:
        raise ValueError(f"a headline has at most {HEADLINE_WORDS} words, this one {len(text.split())}")
    return text


Headline = Annotated[str, Field(min_length=1), AfterValidator(_at_most_headline_words)]


class Evidence(_Model):
    quote: Annotated[str, Field(min_length=1)] = Field(
        description="A sentence or clause copied word for word from the article that states this fact."
    )
    # The library computes offsets and alignment; the model never sees or writes them.
    start: SkipJsonSchema[int | None] = None
    end: SkipJsonSchema[int | None] = None
    alignment: SkipJsonSchema[Alignment | None] = None


EvidenceList = Annotated[list[Evidence], Field(min_length=1)]


class _Item(_Model):
    evidence: EvidenceList

    @property
    def grounded(self) -> bool:
        """True when every evidence quote was found in the article."""
        return all(e.alignment not in (None, Alignment.none) for e in self.evidence)


class Participant(_Model):
    name: Name = Field(description="Person or delegation taking part, as named in the article.")
    role: ShortText | None = Field(None, description='Title, e.g. "President of Ukraine".')
    affiliation: Name | None = Field(None, description="State or body they represent.")


class Position(_Model):
    party: Name = Field(description="Who holds the stance.")
    stance: ShortText = Field(description="The stance, as a short phrase.")
    kind: PositionKind


class CeasefireTalks(_Item):
    title: ShortText = Field(description='Short name, e.g. "Coalition of the Willing meeting in Paris".')
    venue: Name | None = Field(None, description="City or place of the talks; null if not stated.")
    date: Phrase | None = Field(None, description='Date as stated ("last month"); null if not stated.')
    host: Name | None = Field(None, description="Person or state hosting; null if not stated.")
    participants: list[Participant] = Field(default_factory=list)
    mediators: list[Name] = Field(
        default_factory=list, description="Third parties brokering the talks, by name."
    )
    status: TalksStatus
    progress_percent: Percent | None = Field(
        None, description='Only when the article gives a figure ("90% complete" gives 90).'
    )
    sticking_points: list[ShortText] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)


class SecurityGuarantee(_Item):
    guarantor: Name = Field(description="Who gives the guarantee: a state, alliance or coalition.")
    beneficiary: Name = Field(description="Who is protected.")
    kind: GuaranteeKind
    status: GuaranteeStatus
    duration_years: Years | None = Field(None, description="Only when the article states a duration.")
    trigger: ShortText | None = Field(None, description="What activates it; null if not stated.")
    description: ShortText = Field(description="One sentence describing the guarantee.")


class Attack(_Item):
    attacker: Name | None = Field(None, description="The side that struck; null if not said.")
    target: Phrase = Field(description='What was hit, as the article names it: "oil depot".')
    target_kind: TargetKind
    weapon: Weapon
    location: Name | None = Field(None, description='Place as stated, e.g. "Lipetsk region".')
    country: Name | None = Field(None, description="Country where the target is.")
    date: Phrase | None = Field(None, description="Date as stated; null if not stated.")
    killed: Count | None = Field(None, description="Number killed, only when stated.")
    injured: Count | None = Field(None, description="Number injured, only when stated.")


class TerritorialControl(_Item):
    controller: Name = Field(description="Who holds the territory.")
    territory: Name = Field(description='The territory, e.g. "Donetsk region".')
    share_percent: Percent | None = Field(
        None, description='Share held, only when stated ("about 75%" gives 75).'
    )


class RunMetadata(_Model):
    """How a summary was produced; absent from gold labels."""

    model: str
    prompt_version: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    attempts: int = 0
    chunks: int = 1
    """Parts the article was split into because it did not fit the model's context."""
    failed_sections: list[str] = Field(default_factory=list)
    """Sections the model never answered validly: their lists are empty for that reason."""


class ArticleSummary(_Model):
    """A validated, source-grounded summary of one article (SCHEMA.md, version 1)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    headline: Headline
    summary: Annotated[str, Field(min_length=1)]
    conflict: Name | None = None
    ceasefire_talks: list[CeasefireTalks] = Field(default_factory=list)
    security_guarantees: list[SecurityGuarantee] = Field(default_factory=list)
    attacks: list[Attack] = Field(default_factory=list)
    territorial_control: list[TerritorialControl] = Field(default_factory=list)
    metadata: RunMetadata | None = None

    def items(self) -> list[tuple[str, _Item]]:
        """Every item of every section, as (section name, item) pairs."""
        return [(name, item) for name in SECTIONS for item in getattr(self, name)]


SECTIONS: tuple[str, ...] = tuple(
    name
    for name, info in ArticleSummary.model_fields.items()
    if get_origin(info.annotation) is list and issubclass(get_args(info.annotation)[0], _Item)
)
"""The contract's sections: its lists of evidenced items. What ceasefire does with each is
recorded once, in sections.py."""
