"""Which of an article's names are countries, so a grammar can offer only those as a country.

Left to choose among every capitalised phrase, the embedded default gives an attack's country
as "Sunday", a region ("Catatumbo") or a gang leader. The names come from ISO 3166 (pycountry)
in the languages the articles are written in, plus the short forms news use for some
("Russia", "DR Congo") and the territories conflict coders treat as a country ("Gaza Strip",
"Kosovo"), none of which ISO lists under that name.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import cache

import pycountry

LANGUAGES = ("fr", "es", "pt", "de", "it")
"""Besides English: the languages whose country names are recognised."""

SHORT_FORMS = [
    "Russia", "Turkey", "Ivory Coast", "DR Congo", "DRC", "Democratic Republic of Congo", "Burma",
    "Czech Republic", "East Timor", "Cape Verde", "Swaziland", "Vatican", "UK", "Britain",
    "Great Britain", "US", "USA", "America", "Gaza", "Gaza Strip", "West Bank", "Palestinian territories",
    "Kosovo", "Somaliland", "Transnistria", "Abkhazia", "South Ossetia", "Northern Cyprus",
    "RDC", "RD Congo", "Russie", "Rusia", "Turquie", "bande de Gaza", "Cisjordanie", "Franja de Gaza",
    "Cisjordania", "Palestina",
]  # fmt: skip


def _key(name: str) -> str:
    """Accents, case, punctuation and "the" dropped: "Côte d'Ivoire" and "cote d ivoire" meet."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(w for w in re.split(r"[^a-z0-9]+", text) if w and w != "the")


@cache
def _country_keys() -> frozenset[str]:
    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, [lang]) for lang in LANGUAGES]
    names = list(SHORT_FORMS)
    for country in pycountry.countries:
        iso_names = {getattr(country, field, "") for field in ("name", "common_name", "official_name")}
        for name in iso_names - {""}:
            for written in [name, *(t.gettext(name) for t in translations)]:
                names.append(written)
                # ISO puts the qualifier last: "Congo, The Democratic Republic of the".
                head, _, qualifier = written.partition(", ")
                names += [head, f"{qualifier} {head}"] if qualifier else []
    return frozenset(_key(n) for n in names)


def is_country(name: str) -> bool:
    """Whether `name` is a country's (or a country-like territory's) name, in any LANGUAGES."""
    return _key(name) in _country_keys()
