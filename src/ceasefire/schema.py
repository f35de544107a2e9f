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
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr
from pydantic.json_schema import SkipJsonSchema

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1


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
ShortText = Annotated[str, Field(min_length=1)]
Name = Annotated[str, Field(min_length=1)]
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
    date: Name | None = Field(None, description='Date as stated ("last month"); null if not stated.')
    host: Name | None = Field(None, description="Person or state hosting; null if not stated.")
    participants: list[Participant] = Field(default_factory=list)
    mediators: list[Name] = Field(
        default_factory=list, description="Third parties brokering the talks, by name."
    )
    status: TalksStatus
    progress_percent: Annotated[float, Field(ge=0, le=100)] | None = Field(
        None, description='Only when the article gives a figure ("90% complete" gives 90).'
    )
    sticking_points: list[ShortText] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)


class SecurityGuarantee(_Item):
    guarantor: Name = Field(description="Who gives the guarantee: a state, alliance or coalition.")
    beneficiary: Name = Field(description="Who is protected.")
    kind: GuaranteeKind
    status: GuaranteeStatus
    duration_years: Annotated[float, Field(ge=0)] | None = Field(
        None, description="Only when the article states a duration."
    )
    trigger: ShortText | None = Field(None, description="What activates it; null if not stated.")
    description: ShortText = Field(description="One sentence describing the guarantee.")


class Attack(_Item):
    attacker: Name | None = Field(None, description="The side that struck; null if not said.")
    target: Name = Field(description='What was hit, as the article names it: "oil depot".')
    target_kind: TargetKind
    weapon: Weapon
    location: Name | None = Field(None, description='Place as stated, e.g. "Lipetsk region".')
    country: Name | None = Field(None, description="Country where the target is.")
    date: Name | None = Field(None, description="Date as stated; null if not stated.")
    killed: Annotated[int, Field(ge=0)] | None = Field(None, description="Number killed, only when stated.")
    injured: Annotated[int, Field(ge=0)] | None = Field(None, description="Number injured, only when stated.")


class TerritorialControl(_Item):
    controller: Name = Field(description="Who holds the territory.")
    territory: Name = Field(description='The territory, e.g. "Donetsk region".')
    share_percent: Annotated[float, Field(ge=0, le=100)] | None = Field(
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
    # The article it summarizes, set by the pipeline so a notebook can show the evidence in
    # place. Not a field: the contract is fixed, and JSON never carries the article.
    _article: str | None = PrivateAttr(default=None)

    def items(self) -> list[tuple[str, _Item]]:
        """Every item of every section, as (section name, item) pairs."""
        return [(name, item) for name in SECTIONS for item in getattr(self, name)]

    def _repr_html_(self) -> str:
        from .notebook import summary_html

        return summary_html(self, self._article)

    def _repr_markdown_(self) -> str:
        from .notebook import summary_markdown

        return summary_markdown(self, self._article)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """One pandas DataFrame per section, one row per item (needs `ceasefire[notebook]`).

        >>> summary.to_frames()["attacks"][["target", "weapon"]]   # doctest: +SKIP
        """
        from .notebook import to_frames

        return to_frames([self])


SECTIONS: tuple[str, ...] = (
    "ceasefire_talks",
    "security_guarantees",
    "attacks",
    "territorial_control",
)
